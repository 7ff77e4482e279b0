"""``handful backbones``: what can embed your data, offline or online."""

from __future__ import annotations

from ..backbones import describe_backbones
from .main import app
from .options import JsonOpt
from .output import Output


@app.command()
def backbones(as_json: JsonOpt = False) -> None:
    """List the registered backbones (offline ones load with no network)."""
    out = Output(as_json)
    rows = describe_backbones()
    out.table("Backbones", ["name", "modality", "offline", "description"],
              [[r["name"], r["modality"], "yes" if r["offline"] else "no", r["description"]]
               for r in rows])
    # the console reads no markup: a rich escape ("\\[") would print its backslash
    out.print("Online, with the optional extra (pip install 'handful[hub]') and network access: "
              "timm:NAME, open_clip:ARCH/TAG, st:NAME")
    out.result({"backbones": rows, "hub_prefixes": ["timm", "open_clip", "st"]})
