"""``handful predict``: top-k classes for files, folders or texts, streamed in chunks."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..classifier import load
from ..data import list_images, read_table
from ..data.table import is_table_path
from ..errors import DataError
from .main import app
from .options import JsonOpt, TextColOpt
from .output import Output

CHUNK = 512  # items embedded per step: memory stays bounded for any number of files


def _inputs(clf, inputs: list[str], text_column) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(items, display ids, skipped) for image paths/folders, or for texts / a text table."""
    if clf.modality_ == "image":
        items, skipped = list_images(inputs)
        return items, items, skipped
    if len(inputs) == 1 and is_table_path(inputs[0]) and Path(inputs[0]).is_file():
        table = read_table(inputs[0], text_column=text_column, labeled=False)
        return list(table.items), list(table.ids), list(table.skipped)
    return list(inputs), [f"text {i + 1}" for i in range(len(inputs))], []


def top_k(proba: np.ndarray, classes, k: int) -> list[list[tuple[str, float]]]:
    order = np.argsort(-proba, axis=1)[:, :k]
    return [[(str(classes[j]), float(row[j])) for j in idx] for row, idx in zip(proba, order)]


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model directory.")],
    inputs: Annotated[list[str], typer.Argument(help="Image files/folders, or texts, or a CSV/TSV.")],
    top: Annotated[int, typer.Option(help="How many classes to show per item.")] = 1,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV rows to stdout.")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write CSV predictions here.")] = None,
    text_column: TextColOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Predict the class of each input, with the top-k probabilities."""
    out = Output(as_json, stdout_taken=as_csv)
    if top < 1:
        raise DataError(f"--top must be >= 1. Got {top}.")
    clf = load(model)
    items, ids, skipped = _inputs(clf, inputs, text_column)
    k = min(top, len(clf.classes_))
    writer, handle = _csv_writer(as_csv, out_file, k)
    rows = []
    with out.progress("Predicting", len(items)) as advance:
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            proba, ok, failures = clf.predict_proba_items(chunk, advance)
            skipped += [(ids[start + i], reason) for i, reason in failures.items()]
            for row_idx, preds in zip(ok, top_k(proba, clf.classes_, k)):
                row = {"input": ids[start + row_idx], "label": preds[0][0], "top": preds}
                if writer:
                    writer.writerow([row["input"]] + [v for p in preds for v in (p[0], f"{p[1]:.4f}")])
                if not as_csv:
                    rows.append(row)
    if handle is not None and handle is not sys.stdout:
        handle.close()
    if not (as_csv or as_json):
        _print_table(out, rows, k)
    for path, reason in skipped:
        out.err.print(f"skipped {path}: {reason}")
    if out_file:
        out.err.print(f"Wrote {len(items) - len(skipped)} predictions to {out_file}")
    out.result({
        "predictions": [{"input": r["input"], "label": r["label"],
                         "top": [{"label": lab, "probability": p} for lab, p in r["top"]]}
                        for r in rows],
        "n": len(rows),
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
    })


def _csv_writer(as_csv: bool, out_file: Path | None, k: int):
    if not (as_csv or out_file):
        return None, None
    handle = open(out_file, "w", newline="") if out_file else sys.stdout  # noqa: SIM115
    writer = csv.writer(handle)
    header = ["input"]
    for i in range(1, k + 1):
        header += [f"label_{i}", f"probability_{i}"]
    writer.writerow(header)
    return writer, handle


def _print_table(out: Output, rows: list[dict], k: int) -> None:
    if not rows:
        out.print("No usable inputs.")
        return
    if len(rows) > 200:  # a table of thousands helps nobody; summarize
        buf = io.StringIO()
        for r in rows:
            buf.write(f"{r['input']}\t{r['label']}\t{r['top'][0][1]:.3f}\n")
        out.out.print(buf.getvalue(), end="")
        return
    out.table("Predictions", ["input", "prediction"] + ([f"top {k}"] if k > 1 else ["p"]),
              [[r["input"], r["label"], ", ".join(f"{lab} {p:.2f}" for lab, p in r["top"])
                if k > 1 else f"{r['top'][0][1]:.2f}"] for r in rows])
