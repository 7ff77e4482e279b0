"""How ``handful predict`` shows its rows: the terminal table, CSV on stdout (``--csv``) and the
``--json`` predictions. A text model's rows carry their text beside the id (``texts.csv:12`` or
``text 3`` alone does not say which sentence got which answer): shortened in the terminal, whole
in JSON and CSV. Image rows are named by their path, which says it already. Under
``--min-confidence`` a row below it is unsure: ``label`` None and ``unsure`` True in JSON, an empty
``answer`` in CSV, "unsure (cat?)" in the table; its candidates stay in ``top`` either way. A
model that keeps its training examples marks each row ``familiar`` (``familiar``: ``cli.familiar``).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence

from .output import Output

SHOWN_WIDTH = 60  # characters of a text in the terminal table
SUMMARY_ROWS = 200  # more rows than this print as tab-separated lines, not a table


class StdoutCsv:
    """CSV rows to stdout (``--csv``), the same columns as an ``--out`` file (with ``text`` after
    ``input`` for a text model, ``answer`` for a ``--min-confidence`` run, and ``familiar`` for a
    model that keeps its training examples)."""

    def __init__(self, k: int, texts: bool = False, answers: bool = False, familiar: bool = False):
        from ..scale.writers import prediction_header

        self.writer = csv.writer(sys.stdout)
        self.writer.writerow(prediction_header(k, texts, answers, familiar))
        self.done: set[str] = set()

    def write(self, ids: Sequence[str], top, texts: Sequence[str] | None = None,
              answers: Sequence[str | None] | None = None, familiar: Sequence[bool] | None = None) -> None:
        from ..scale.writers import prediction_rows

        self.writer.writerows(prediction_rows(ids, top, texts, answers, familiar))

    def close(self) -> None:
        sys.stdout.flush()


def prediction_json(row: dict) -> dict:
    """One ``--json`` prediction: ``input``, the whole ``text`` of a text, ``label`` (None when
    unsure), ``unsure`` (under ``--min-confidence`` only), ``familiar`` and ``familiarity`` (with a
    model that keeps its training examples), ``top``."""
    return {"input": row["input"], **({"text": row["text"]} if "text" in row else {}),
            "label": row["label"], **({"unsure": row["unsure"]} if "unsure" in row else {}),
            **{key: row[key] for key in ("familiar", "familiarity") if key in row},
            "top": [{"label": lab, "probability": p} for lab, p in row["top"]]}


def shown_label(row: dict) -> str:
    """The prediction as the table shows it: the label, or "unsure (cat?)" naming the likeliest."""
    return f"unsure ({row['top'][0][0]}?)" if row.get("unsure") else row["label"]


def print_predictions(out: Output, rows: list[dict], k: int) -> None:
    """The rows as a table (input, text for a text model, prediction, probability or top k, and a
    note column marking inputs unlike the training examples when there are any)."""
    from .familiar import NOTE

    texts = any("text" in r for r in rows)
    noted = any(r.get("familiar") is False for r in rows)
    if len(rows) > SUMMARY_ROWS:  # a table of thousands helps nobody; one line each
        buf = io.StringIO()
        for r in rows:
            text = f"{shown_text(r['text'])}\t" if texts else ""
            note = f"\t{NOTE}" if r.get("familiar") is False else ""
            buf.write(f"{r['input']}\t{text}{shown_label(r)}\t{r['top'][0][1]:.3f}{note}\n")
        out.out.print(buf.getvalue(), end="")
        return
    columns = (["input"] + (["text"] if texts else []) + ["prediction"] + ([f"top {k}"] if k > 1 else ["p"])
               + (["note"] if noted else []))
    out.table("Predictions", columns,
              [[r["input"], *([shown_text(r.get("text", ""))] if texts else []), shown_label(r),
                ", ".join(f"{lab} {p:.2f}" for lab, p in r["top"]) if k > 1 else f"{r['top'][0][1]:.2f}",
                *([NOTE if r.get("familiar") is False else ""] if noted else [])]
               for r in rows])


def shown_text(text: str, width: int = SHOWN_WIDTH) -> str:
    """``text`` on one line as a person scans it: whitespace collapsed, cut to ``width`` with "…"."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"
