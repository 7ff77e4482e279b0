"""Resumable outputs written batch by batch: a predictions CSV, and embeddings on disk.

``PredictionCsv`` appends rows and flushes each batch; re-opened on an existing file it
reads back the inputs already there (and drops a half-written last line), so a re-run
predicts only the rest. Beside it, ``preds.csv.json`` records what made the rows (model,
support set, runtime, top-k): a re-run that differs is refused rather than mixing answers.
``embedding_store.EmbeddingStore`` writes embeddings the same way; the file checks are shared.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

from ..bundle.store import chmod_like_new
from ..errors import DataError

INDEX_HEADER = ["row", "input", "error"]
SKIPPED_HEADER = ["input", "reason"]
RUN_FORMAT = "handful-predictions-1"


def atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        chmod_like_new(Path(tmp))  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:  # Ctrl-C or a full disk: no temporary file left beside the output
        Path(tmp).unlink(missing_ok=True)
        raise


def first_row(path: Path) -> list[str] | None:
    """The first CSV row of ``path`` (None for an empty file; a marker row for a non-CSV one)."""
    try:
        with open(path, newline="", errors="replace") as f:
            return next(csv.reader(f), None)
    except csv.Error:
        return ["(not CSV)"]


def _is_prediction_header(row: list[str] | None) -> bool:
    """``input,[text,][answer,]label_1,probability_1,...[,familiar]`` for any k: a predictions file
    handful wrote."""
    if not row:
        return False
    texts = len(row) > 1 and row[1] == "text"
    answers = len(row) > 1 + texts and row[1 + texts] == "answer"
    familiar = row[-1] == "familiar"
    k = (len(row) - 1 - texts - answers - familiar) // 2
    return k >= 1 and row == prediction_header(k, texts, answers, familiar)


def is_predictions_file(path: Path) -> bool:
    """True when ``path`` is a file whose header is that of a predictions file handful wrote."""
    return path.is_file() and _is_prediction_header(first_row(path))


def prediction_header(k: int, texts: bool = False, answers: bool = False, familiar: bool = False) -> list[str]:
    """``input,label_1,probability_1,...``; a text model's rows have ``text`` after ``input``, a
    ``--min-confidence`` run's an ``answer`` column next (the top label, empty when unsure), and a
    model's that keeps its training examples a last ``familiar`` one (``false``: unlike them; last,
    so that a script reading the columns by position reads what it did)."""
    return (["input"] + (["text"] if texts else []) + (["answer"] if answers else [])
            + [c for i in range(1, k + 1) for c in (f"label_{i}", f"probability_{i}")]
            + (["familiar"] if familiar else []))


def prediction_rows(ids: Sequence[str], top: Sequence[Sequence[tuple[str, float]]],
                    texts: Sequence[str] | None = None, answers: Sequence[str | None] | None = None,
                    familiar: Sequence[bool] | None = None) -> list[list[str]]:
    """One CSV row per input: its id, its whole text (when ``texts`` is given), its answer (when
    ``answers`` is given: a label, or None for unsure, written empty), the top-k pairs, whether it
    is ``familiar`` (when given: ``true``/``false``)."""
    shown = [[t] for t in texts] if texts is not None else [[] for _ in ids]
    answered = [[a or ""] for a in answers] if answers is not None else [[] for _ in ids]
    marked = [["true" if f else "false"] for f in familiar] if familiar is not None else [[] for _ in ids]
    return [[input_id, *text, *answer, *[v for lab, p in preds for v in (lab, f"{p:.4f}")], *mark]
            for input_id, text, answer, mark, preds in zip(ids, shown, answered, marked, top)]


def refuse_foreign(path: Path, ours: bool) -> None:
    """Stop, before any work, when ``path`` is a non-empty file handful did not write: even
    --overwrite replaces only handful's own outputs. A folder there is refused by its own name: the
    write would fail late, naming only its parent."""
    if path.is_dir():
        raise DataError(f"Cannot write '{path}': it is a folder, and this run writes a file there (--out, "
                        "or its record, list of skipped inputs or index beside it). Move or rename the "
                        "folder, or choose another --out.")
    if path.is_file() and path.stat().st_size and not ours:
        raise DataError(foreign_file_refusal(path))


def foreign_file_refusal(path: Path) -> str:
    """The refusal to replace ``path``, a non-empty file that is not this output: a file of a
    handful model, or a picture another handful command wrote, is named as what it is (handful
    wrote it, as something else); any other file was not written by handful."""
    from ..evaluate.png import written_by_handful

    path = Path(path)
    if _is_model_folder(path.parent):
        return (f"'{path}' belongs to the handful model '{path.parent}' and is left as it is. "
                "Choose an --out outside the model folder.")
    if written_by_handful(path):
        return (f"'{path}' is a picture another handful command wrote, and is left as it is. "
                "Choose another --out (or delete the picture).")
    return (f"'{path}' exists and was not written by handful; it is left as it is. "
            "Choose another --out (or delete the file).")


def _is_model_folder(folder: Path) -> bool:
    """True when ``folder`` holds a handful model.json (a JSON object with a format_version)."""
    try:
        doc = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "format_version" in doc


def drop_partial_last_line(path: Path) -> None:
    """Truncate after the last complete CSV record: a run killed mid-write leaves half a row, and a
    row with a multi-line quoted text may be cut after a newline inside its quotes, so the cut is
    found by parsing the records, not at the last newline."""
    seen = {"end": 0, "newline": True, "eof": False}  # bytes read, whether they end a line

    def lines(f):
        for line in f:
            seen["end"] += len(line)
            seen["newline"] = line.endswith(b"\n")
            yield line.decode("utf-8", errors="replace")  # a newline never splits a UTF-8 character
        seen["eof"] = True

    with open(path, "rb+") as f:
        good = 0
        try:
            for _ in csv.reader(lines(f)):
                # a record the reader ended at the end of the file (an open quote, no newline) is torn
                if not seen["eof"] and seen["newline"]:
                    good = seen["end"]
        except csv.Error:  # not parsable as CSV (a field over csv's size limit): cut at the last newline
            f.seek(0)
            data = f.read()
            good = data.rfind(b"\n") + 1
        if good < f.seek(0, os.SEEK_END):
            f.truncate(good)


def _read_first_column(path: Path, header: list[str], what: str) -> set[str]:
    """The first column of a file this writer made before (to resume it); a file with another
    header is refused untouched: the header is checked before a torn last line is dropped."""
    found = first_row(path)
    if found is None:
        return set()
    if found != header:
        raise DataError(f"{what} '{path}' has columns {found[:6]}, expected {header} (another file, "
                        "or one written with other options). Pass --overwrite to replace it, or "
                        "choose another --out.")
    drop_partial_last_line(path)
    with open(path, newline="") as f:
        return {row[0] for row in list(csv.reader(f))[1:] if row}


def run_record_path(out: Path) -> Path:
    """Where the record of the run that writes ``out`` goes: ``preds.csv.json``."""
    return out.with_name(out.name + ".json")


def _read_run_record(path: Path) -> dict | None:
    """The record at ``path`` if handful wrote it (None when missing or someone else's)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == RUN_FORMAT else None


def _run_parts(run: dict) -> dict[str, tuple[str, str | None]]:
    """Each part of a run as (how a user names it, its identity): an identity (a content hash)
    decides when there is one, so a copied model or support set is the same one."""
    support = run.get("support")
    support_text = ("no --support" if not support else
                    f"--support '{support.get('path')}'" + (" --nested" if support.get("nested") else ""))
    return {"model": (f"model '{run.get('model')}'", run.get("model_id")),
            "support": (support_text, support.get("id") if support else None),
            # the option given (a record since the true runtime is kept has it apart: "numpy" for word2vec)
            "runtime": (f"--runtime {run.get('runtime_option', run.get('runtime'))}", None),
            "top": (f"--top {run.get('top')}", None),
            "transductive": ("--transductive" if run.get("transductive") else "no --transductive", None),
            "text_column": (f"--text-column {run['text_column']}" if run.get("text_column") else "no --text-column",
                            None),
            # the answer column: rows of two thresholds would not mean the same (a record from
            # before the option has none, as a run without it)
            "min_confidence": (f"--min-confidence {run['min_confidence']:g}" if run.get("min_confidence")
                               else "no --min-confidence", None)}


def _check_same_run(path: Path, old: dict, new: dict) -> None:
    """Refuse to append rows of a run that differs from the one that wrote ``path``."""
    was, now = [], []
    new_parts = _run_parts(new)
    for key, (old_text, old_id) in _run_parts(old).items():
        new_text, new_id = new_parts[key]
        differs = old_id != new_id if old_id or new_id else old_text != new_text
        if differs:
            same_name = old_text == new_text
            was.append(f"{old_text} before it changed (re-trained or edited)" if same_name else old_text)
            now.append(f"{new_text} as it is now" if same_name else new_text)
    if was:
        raise DataError(f"'{path}' holds predictions made with {', '.join(was)}; this run has "
                        f"{', '.join(now)}, and resuming would mix their answers in one file. Choose "
                        f"another --out, or delete '{path}' (or pass --overwrite) to start over.")


class PredictionCsv:
    """``input,label_1,probability_1,...`` rows; resumes an existing file unless ``overwrite``.

    ``run`` (JSON-ready: model, model_id, support, runtime, top, transductive) is recorded beside
    the file, and a file recorded with another run is refused instead of resumed. ``texts``: rows
    of a text model, with a ``text`` column after ``input`` (a file begun without it, by an older
    handful, is resumed in its own columns). ``answers``: rows of a ``--min-confidence`` run, with
    an ``answer`` column (the top label, empty when unsure) before the top-k pairs. ``familiar``: a
    last ``familiar`` column (a file begun without it, as ``texts``, keeps its columns).
    """

    def __init__(self, path: str | Path, k: int, overwrite: bool = False, run: dict | None = None,
                 texts: bool = False, answers: bool = False, familiar: bool = False):
        self.path = Path(path)
        if not overwrite and self.path.is_file():  # rows already there: one file, one set of columns
            found = first_row(self.path)
            texts, familiar = next(((t, f) for t, f in ((texts, familiar), (False, familiar), (texts, False),
                                                        (False, False))
                                    if found == prediction_header(k, t, answers, f)), (texts, familiar))
        self.texts, self.familiar = texts, familiar
        self.header = prediction_header(k, texts, answers, familiar)
        self.done: set[str] = set()
        refuse_foreign(self.path, _is_prediction_header(first_row(self.path)) if self.path.is_file() else True)
        refuse_foreign_skipped_list(self.path)
        record = run_record_path(self.path)
        if run is not None:
            refuse_foreign(record, _read_run_record(record) is not None)
        resumed = not overwrite and self.path.is_file() and self.path.stat().st_size > 0
        if resumed and run is not None:
            self._check_run(record, run)
        if self.path.is_file() and not overwrite:
            self.done = _read_first_column(self.path, self.header, "Predictions file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = overwrite or not self.path.is_file() or self.path.stat().st_size == 0
        if run is not None and (fresh or _read_run_record(record) is None):
            atomic_write_text(record, json.dumps({"format": RUN_FORMAT, **run}, indent=2))
        self._handle = open(self.path, "w" if fresh else "a", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._handle)
        if fresh:
            self._writer.writerow(self.header)

    def _check_run(self, record: Path, run: dict) -> None:
        old = _read_run_record(record)
        if old is None:  # written before runs were recorded
            warnings.warn(f"'{self.path}' has no record of the model that wrote it (older versions of "
                          "handful kept none); it is resumed with this run's model. If its rows came from "
                          "another model, pass --overwrite to start over.", stacklevel=3)
            return
        _check_same_run(self.path, old, run)

    def write(self, ids: Sequence[str], top: Sequence[Sequence[tuple[str, float]]],
              texts: Sequence[str] | None = None, answers: Sequence[str | None] | None = None,
              familiar: Sequence[bool] | None = None) -> None:
        """Append one row per input and flush (a kill loses at most the batch in flight).
        ``texts`` and ``familiar`` (aligned with ``ids``) fill the columns of a file that has them;
        ``answers`` the answer column (given exactly when the file has one)."""
        self._writer.writerows(prediction_rows(ids, top, texts if self.texts else None, answers,
                                               familiar if self.familiar else None))
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def skipped_path(out: Path) -> Path:
    """Where the skipped inputs of a run writing ``out`` are listed: ``preds.csv.skipped.csv``,
    after the whole file name, so that outputs of one stem (``a.csv``, ``a.npy``) keep their own."""
    return out.with_name(out.name + ".skipped.csv")


def _is_skipped_list(path: Path) -> bool:
    """True when ``path`` is a skipped list handful wrote (its ``input,reason`` header)."""
    return path.is_file() and first_row(path) == SKIPPED_HEADER


def refuse_foreign_skipped_list(out: Path) -> None:
    """The skipped list of a run writing ``out`` goes beside it: a user's file there stays."""
    skipped = skipped_path(out)
    refuse_foreign(skipped, _is_skipped_list(skipped))


def remove_skipped_list(out: Path) -> None:
    """Remove the skipped list beside ``out`` if handful wrote it: a run that starts ``out`` over,
    or skips nothing, must not leave a list of inputs from the run before it."""
    skipped = skipped_path(out)
    if _is_skipped_list(skipped):
        skipped.unlink()


def write_skipped(path: Path, skipped: Sequence[tuple[str, str]]) -> Path:
    """All skipped inputs with their reasons, as CSV (``input,reason``), written atomically."""
    text = io.StringIO()
    csv.writer(text).writerows([SKIPPED_HEADER, *[[p, r] for p, r in skipped]])
    atomic_write_text(path, text.getvalue())
    return path
