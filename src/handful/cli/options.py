"""Option types shared by commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..backbones import backbone_modality
from ..errors import DataError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]
BackboneOpt = Annotated[str, typer.Option(help="Backbone name, or auto (default per modality).")]
HeadOpt = Annotated[str, typer.Option(help="logistic, prototype, knn, mlp, or auto (by CV); "
                                      "--zero-shot-prior adds class-name scores to it.")]
SeedOpt = Annotated[int, typer.Option(help="Random seed (0 to 2^32 - 1).", min=0, max=2**32 - 1)]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")]
TextColOpt = Annotated[str | None, typer.Option(help="Text column of a CSV/TSV.")]
LabelColOpt = Annotated[str | None, typer.Option(help="Label column of a CSV/TSV.")]
NestedOpt = Annotated[bool, typer.Option("--nested", help="Every leaf folder is a class.")]


def check_names(backbone: str, head: str, zero_shot_prior: bool = False) -> None:
    """Fail fast on a misspelled backbone or head, before any data is read."""
    from ..heads import HEADS, create_head
    if backbone != "auto":
        backbone_modality(backbone)
    if head == "zeroshot_prior" and not zero_shot_prior:
        raise DataError("--head zeroshot_prior is the head --zero-shot-prior builds; alone it has no "
                        "class-name scores. Use --head prototype (or another head) --zero-shot-prior.")
    if head != "auto" and head not in HEADS:
        create_head(head)


FinetuneOpt = Annotated[bool, typer.Option(
    "--finetune", help="Texts: tune the sentence encoder on pairs of your examples (SetFit) "
    "before fitting the head; the tuned encoder is saved with the model.")]
MaxPairsOpt = Annotated[int, typer.Option(
    help="With --finetune: at most this many sentence pairs (bounds the time).")]
UnlabeledOpt = Annotated[Path | None, typer.Option(
    help="Texts: unlabeled in-domain sentences (.txt, one per line, or a CSV/TSV) that "
    "--backbone word2vec learns its word vectors from.")]
