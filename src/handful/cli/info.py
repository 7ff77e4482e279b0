"""``handful backbones``: what can embed your data, offline or online."""

from __future__ import annotations

from typing import Annotated

import typer

from ..backbones import describe_backbones
from .main import app
from .output import Output

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]


@app.command()
def backbones(as_json: JsonOpt = False) -> None:
    """List the registered backbones (offline ones load with no network)."""
    out = Output(as_json)
    rows = describe_backbones()
    out.table("Backbones", ["name", "modality", "offline", "description"],
              [[r["name"], r["modality"], "yes" if r["offline"] else "no", r["description"]]
               for r in rows])
    out.print("Online (optional extra `handful\\[hub]`): timm:NAME, open_clip:ARCH/TAG, st:NAME")
    out.result({"backbones": rows, "hub_prefixes": ["timm", "open_clip", "st"]})
