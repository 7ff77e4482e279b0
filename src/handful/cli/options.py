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
SupportNestedOpt = Annotated[bool, typer.Option(
    "--nested", help="With --support: every leaf folder of the support tree is a class, named by its "
                     "path (alphabet/character/, as Omniglot).")]
RayOpt = Annotated[bool, typer.Option("--ray", help="Spread the work over Ray (needs the ray extra: "
                                                    "pip install 'handful\\[ray]').")]
AddressOpt = Annotated[str | None, typer.Option(
    help="Ray cluster address ('auto': the running cluster); default: a local Ray.")]


def check_ray_options(ray: bool, address: str | None) -> None:
    """Refuse --address without --ray (the cluster named would be ignored and the work run here),
    and --ray without the ray extra: ``predict`` and ``embed`` call it before a model loads or an
    output file is written."""
    if address is not None and not ray:
        raise DataError(f"--address names the Ray cluster for --ray, which is not given, so '{address}' "
                        "would be ignored and the work would run here. Add --ray, or drop --address.")
    if ray:
        from ..scale.ray_data import require_ray

        require_ray()


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
    help="With --finetune: at most this many sentence pairs (1 or more; bounds the time).")]
UnlabeledOpt = Annotated[Path | None, typer.Option(
    help="Texts: unlabeled in-domain sentences (.txt, one per line, or a CSV/TSV) that "
    "--backbone word2vec learns its word vectors from.")]


def check_columns_apply(paths: list[Path | None], text_column: str | None, label_column: str | None = None,
                        nested: bool = False) -> None:
    """--text-column/--label-column name columns of a CSV/TSV: refuse them when no path is one
    (an image folder), where they would be silently ignored; and --nested (class folders inside
    folders) when every path is a table. Missing paths are left to the command's own "does not
    exist"."""
    from ..data.table import is_table_path

    tables = [Path(p) for p in paths if p is not None and Path(p).is_file() and is_table_path(Path(p))]
    if nested and tables and len(tables) == len([p for p in paths if p is not None]):
        raise DataError(f"--nested reads class folders inside folders (alphabet/character/), but '{tables[0]}' "
                        "is a table of texts, so it would be ignored. Drop --nested.")

    given = [f"--{what}-column" for what, name in (("text", text_column), ("label", label_column)) if name]
    paths = [Path(p) for p in paths if p is not None]
    if not given or not paths or any(not p.exists() or (p.is_file() and is_table_path(p)) for p in paths):
        return
    options = " and ".join(given)
    kind = "a folder" if paths[0].is_dir() else "not a CSV/TSV"
    one = len(given) == 1
    raise DataError(f"{options} {'names a column' if one else 'name columns'} of a CSV/TSV table, but "
                    f"'{paths[0]}' is {kind}, so {'it' if one else 'they'} would be ignored. Drop {options}, "
                    "or give a table.")
