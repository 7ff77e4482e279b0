"""``handful export``: a trained model as one ONNX file, checked against PyTorch at export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import DataError, UnknownNameError, did_you_mean
from .main import app
from .options import JsonOpt, SupportNestedOpt
from .output import Output, check_replaceable

FORMATS = ("onnx",)


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="Model directory.")],
    fmt: Annotated[str, typer.Option("--format", help="Export format: onnx.")] = "onnx",
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="File to write (default MODEL/model.onnx, which --runtime onnx uses).")] = None,
    sample: Annotated[list[Path] | None, typer.Option(
        help="An image file or folder for the parity check; repeat the flag for more (--sample a.jpg "
             "--sample photos/). Default: synthetic images.")] = None,
    tolerance: Annotated[float, typer.Option(
        help="Largest allowed max abs difference of probabilities vs PyTorch (> 0).")] = 1e-4,
    opset: Annotated[int, typer.Option(help="ONNX opset (13 to 20, as the exporter writes).")] = 17,
    support: Annotated[Path | None, typer.Option(
        help="Support folder (a sub-folder per class, 1+ image each): the graph classifies into its "
             "classes by nearest prototype, e.g. new characters for a `protonet train` model. Needs --out.")] = None,
    nested: SupportNestedOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Export backbone + head as ONE graph: uint8 image batch in, class probabilities out."""
    out = Output(as_json)
    if fmt not in FORMATS:
        raise UnknownNameError(f"Unknown export format '{fmt}'.{did_you_mean(fmt, FORMATS)} "
                               f"Known: {', '.join(FORMATS)}.")
    if not tolerance > 0:
        raise DataError(f"--tolerance must be more than 0 (the parity check's largest difference). Got {tolerance}.")
    if nested and support is None:
        raise DataError("--nested reads a nested support tree (alphabet/character/): pass --support DIR, "
                        "or drop --nested.")
    from ..export import export_onnx

    if out_file is not None:  # an ONNX file handful exported carries its metadata keys
        check_replaceable(out_file, lambda path: b"handful.classes" in path.read_bytes())

    report = export_onnx(model, out_file, samples=[str(s) for s in sample or []], opset=opset,
                         tolerance=tolerance, support=support, nested=nested)
    prep = report.metadata["handful.preprocessing"]
    inputs = prep.get("inputs") or [{"name": "image", **prep}]  # a concatenation: one per part
    shapes = ", ".join(f"'{p['name']}' uint8 ({', '.join(map(str, ['batch', *p['shape'][1:]]))}) {p['channels']}"
                       for p in inputs)
    out.print(f"Wrote {report.path} (opset {report.opset}): input{'s' * (len(inputs) > 1)} {shapes}, output "
              f"'probabilities' over {len(report.metadata['handful.classes'])} classes"
              + (f" of the support set {support}." if support else "."))
    steps = "; ".join(f"{p['name'] + ': ' if len(inputs) > 1 else ''}short side to {p['resize_size']} px "
                      f"({p['interpolation']}), center crop {p['input_size']}" for p in inputs)
    out.print(f"Preprocessing before the graph: {steps}; mean/std inside (all steps: metadata "
              "'handful.preprocessing').")
    for item in report.skipped:  # left out of the parity check; said, as every command says it
        out.print(f"  sample skipped {item['path']}: {item['reason']}")
    out.print(f"Parity on {report.samples}: max abs difference of probabilities vs PyTorch "
              f"(float32) {report.max_abs_diff:.2e}, of embeddings {report.max_abs_diff_embeddings:.2e}.")
    if report.max_abs_diff_vs_default is not None:  # what `predict --runtime torch` gives differs more
        backbone = report.metadata["handful.backbone"]
        precision = "+".join(dict.fromkeys(  # a concatenation's parts run at their own precision
            p["info"].get("precision") for p in backbone.get("parts", [backbone])))
        out.print(f"Against `predict --runtime torch` ({precision} on this CPU): max abs difference of "
                  f"probabilities {report.max_abs_diff_vs_default:.2e}; the two runtimes agree to about "
                  "that (a label can differ near a tie).")
    out.result(report.to_json())
