"""Embeddings on disk, written batch by batch and resumable (``handful embed``).

``EmbeddingStore`` preallocates ``embeddings.npy`` (rows in listing order), writes finished rows
with ``os.pwrite`` (no memory map, so resident memory does not grow with the file), and records
each finished row in ``embeddings.index.csv``; a ``embeddings.meta.json`` says which backbone
wrote it and whether it is complete.
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from tokenize import TokenError

import numpy as np

from ..errors import DataError
from .writers import (
    INDEX_HEADER,
    atomic_write_text,
    drop_partial_last_line,
    first_row,
    refuse_foreign,
    refuse_foreign_skipped_list,
)


def _npy_layout(path: Path) -> tuple[tuple[int, ...], int]:
    """(shape, data offset) of a float32 C-order 2-d .npy file; a file whose header cannot be read
    (empty, cut short, garbage: a disk error, a bad copy) is refused in one line."""
    with open(path, "rb") as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
        # numpy's header reader raises EOFError, ValueError, SyntaxError or tokenize.TokenError on garbage
        except (EOFError, ValueError, SyntaxError, TokenError) as err:
            raise DataError(f"Cannot resume {path}: it is not a readable .npy file of embeddings (empty, "
                            f"cut short or damaged: {type(err).__name__}). Pass --overwrite to start "
                            "over, or choose another --out.") from err
        if len(shape) != 2:
            raise DataError(f"Cannot resume {path}: it holds a {len(shape)}-d array, not rows of "
                            "embeddings. Pass --overwrite to start over, or choose another --out.")
        if fortran or dtype != np.float32:
            raise DataError(f"{path} is not a float32 C-order array. Pass --overwrite.")
        return shape, f.tell()


def _is_our_meta(path: Path) -> bool:
    try:
        return json.loads(path.read_text()).get("format") == "handful-embeddings-1"
    except (OSError, ValueError, AttributeError):
        return False


class EmbeddingStore:
    """``embeddings.npy`` (n, dim) float32 in listing order + index CSV + meta JSON.

    Rows of unusable inputs are NaN and their index line carries the reason; ``failed`` maps
    them to it (rows of a resumed run too).
    """

    def __init__(self, path: str | Path, ids: Sequence[str], dim: int, backbone: dict,
                 overwrite: bool = False):
        self.path = Path(path)
        if self.path.suffix != ".npy":
            raise DataError(f"--out must be a .npy file; got '{self.path}'. Use e.g. embeddings.npy.")
        self.index_path = self.path.with_suffix(".index.csv")
        self.meta_path = self.path.with_suffix(".meta.json")
        self.ids, self.dim = list(ids), dim
        self.meta = {"format": "handful-embeddings-1", "backbone": backbone, "n_rows": len(self.ids),
                     "dim": dim, "dtype": "float32", "index": self.index_path.name, "complete": False}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[int] = set()
        self.failed: dict[int, str] = {}  # row -> reason, this run's and those of the run it resumes
        refuse_foreign(self.meta_path, _is_our_meta(self.meta_path))
        refuse_foreign(self.path, self.meta_path.is_file())  # a .npy without our meta is someone else's
        refuse_foreign(self.index_path, self.index_path.is_file() and first_row(self.index_path) == INDEX_HEADER)
        refuse_foreign_skipped_list(self.path)
        self.created = overwrite or not self.path.is_file()  # this run starts the files afresh
        if self.created:
            self._create()
        else:
            self._resume()
        self._index = open(self.index_path, "a", newline="")  # noqa: SIM115
        self._index_writer = csv.writer(self._index)
        self._fd = os.open(self.path, os.O_WRONLY)

    def _create(self) -> None:
        array = np.lib.format.open_memmap(self.path, mode="w+", dtype=np.float32,
                                          shape=(len(self.ids), self.dim))  # sparse until written
        del array
        self.offset = _npy_layout(self.path)[1]
        with open(self.index_path, "w", newline="") as f:
            csv.writer(f).writerow(INDEX_HEADER)
        atomic_write_text(self.meta_path, json.dumps(self.meta, indent=2))

    def _resume(self) -> None:
        old = json.loads(self.meta_path.read_text())
        shape, self.offset = _npy_layout(self.path)
        same = (old.get("backbone", {}).get("fingerprint") == self.meta["backbone"].get("fingerprint")
                and shape == (len(self.ids), self.dim))
        if not same:
            raise DataError(f"{self.path} holds {shape[0]} rows from backbone "
                            f"{old.get('backbone', {}).get('name')}; this run lists {len(self.ids)} "
                            f"inputs for {self.meta['backbone'].get('name')}. Pass --overwrite to "
                            "start over, or choose another --out.")
        if self.index_path.is_file():
            drop_partial_last_line(self.index_path)
            with open(self.index_path, newline="") as f:
                rows = [r for r in csv.reader(f)][1:]
            for row, input_id, error in (r for r in rows if len(r) == 3):
                if int(row) >= len(self.ids) or self.ids[int(row)] != input_id:
                    raise DataError(f"{self.index_path} row {row} is '{input_id}', but this run "
                                    "lists other inputs there (files added or removed, or other texts). "
                                    "Pass --overwrite to start over, or choose another --out.")
                self.done.add(int(row))
                if error:
                    self.failed[int(row)] = error
            self._forget_rows_not_held(rows)
        else:
            atomic_write_text(self.index_path, ",".join(INDEX_HEADER) + "\n")

    def _forget_rows_not_held(self, rows: list[list[str]]) -> None:
        """A .npy cut short (a bad copy, a full disk) no longer holds rows its index lists: they
        are embedded again (the file is grown back to its size), never left as zeros marked done."""
        n_bytes = self.dim * 4
        n_held = max(0, (self.path.stat().st_size - self.offset) // n_bytes)
        lost = sorted(r for r in self.done if r >= n_held)
        if not lost and n_held >= len(self.ids):
            return
        os.truncate(self.path, self.offset + len(self.ids) * n_bytes)
        if not lost:
            return
        warnings.warn(f"{self.path} is cut short: it holds {n_held} of {len(self.ids)} rows, so {len(lost)} "
                      "rows its index lists as done are embedded again.", stacklevel=3)
        self.done.difference_update(lost)
        for r in lost:
            self.failed.pop(r, None)
        text = io.StringIO()
        csv.writer(text).writerows([INDEX_HEADER, *[r for r in rows if len(r) == 3 and int(r[0]) < n_held]])
        atomic_write_text(self.index_path, text.getvalue())

    def pending(self) -> list[int]:
        """Rows not written yet, in order."""
        return [i for i in range(len(self.ids)) if i not in self.done]

    def write(self, rows: Sequence[int], embeddings: np.ndarray, failures: dict[int, str]) -> None:
        """Write finished rows (``embeddings`` aligned with ``rows``) and failed rows (NaN)."""
        values = np.asarray(embeddings, dtype=np.float32)
        if not len(rows) and not values.size:  # a batch of failures only
            values = values.reshape(0, self.dim)
        if values.shape != (len(rows), self.dim):  # a reshape would scramble the rows silently
            raise DataError(f"{self.path} takes {self.dim}-d embeddings, one row per input; got an array of "
                            f"shape {values.shape} for {len(rows)} inputs (another backbone than the one "
                            "this file was started with?). Pass --overwrite to start over, or choose another --out.")
        pairs = sorted([(r, values[j]) for j, r in enumerate(rows)]
                       + [(r, np.full(self.dim, np.nan, dtype=np.float32)) for r in failures])
        start = 0
        while start < len(pairs):  # one pwrite per run of consecutive rows
            end = start + 1
            while end < len(pairs) and pairs[end][0] == pairs[end - 1][0] + 1:
                end += 1
            block = np.stack([v for _, v in pairs[start:end]])
            os.pwrite(self._fd, block.tobytes(), self.offset + pairs[start][0] * self.dim * 4)
            start = end
        for r, _ in pairs:
            self._index_writer.writerow([r, self.ids[r], failures.get(r, "")])
            self.done.add(r)
        self.failed.update(failures)
        self._index.flush()

    def discard(self) -> None:
        """Remove the files this run created (call after ``close``): a run that embedded nothing
        must not leave a .npy of NaN rows that refuses the corrected re-run as another run's
        output. The files of a run it resumed stay as they were."""
        if self.created:
            for path in (self.path, self.index_path, self.meta_path):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close files; when every row is done, sort the index and mark the store complete."""
        os.close(self._fd)
        self._index.close()
        if len(self.done) == len(self.ids):
            with open(self.index_path, newline="") as f:
                rows = sorted((r for r in list(csv.reader(f))[1:] if len(r) == 3),
                              key=lambda r: int(r[0]))
            text = io.StringIO()
            csv.writer(text).writerows([INDEX_HEADER, *rows])
            atomic_write_text(self.index_path, text.getvalue())
            self.meta.update(complete=True, n_failed=sum(1 for r in rows if r[2]))
        atomic_write_text(self.meta_path, json.dumps(self.meta, indent=2))
