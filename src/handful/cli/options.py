"""Option types shared by commands."""

from __future__ import annotations

from typing import Annotated

import typer

from ..backbones import backbone_modality
from ..heads import HEADS, create_head

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]
BackboneOpt = Annotated[str, typer.Option(help="Backbone name, or auto (default per modality).")]
HeadOpt = Annotated[str, typer.Option(help="logistic, prototype, knn, mlp, or auto (by CV).")]
SeedOpt = Annotated[int, typer.Option(help="Random seed.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the cache.")]
TextColOpt = Annotated[str | None, typer.Option(help="Text column of a CSV/TSV.")]
LabelColOpt = Annotated[str | None, typer.Option(help="Label column of a CSV/TSV.")]
NestedOpt = Annotated[bool, typer.Option("--nested", help="Every leaf folder is a class.")]


def check_names(backbone: str, head: str) -> None:
    """Fail fast on a misspelled backbone or head, before any data is read."""
    if backbone != "auto":
        backbone_modality(backbone)
    if head != "auto" and head not in HEADS:
        create_head(head)
