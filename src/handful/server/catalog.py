"""The catalog: projects, examples, training jobs and model versions in SQLite (WAL mode).

One file, ``<home>/catalog.sqlite``, shared by the server's threads and its training worker
processes. This module holds projects, examples and classes; the jobs and versions tables are
in catalog_jobs.py and the connection, transactions and migrations in catalog_db.py, both
bases of ``Catalog``. Example files live in the content-addressed ``BlobStore``; model
directories under ``models/``.

Example:
    >>> catalog = Catalog("~/.handful")
    >>> project = catalog.create_project("pets", "image")
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..errors import DataError
from .blobs import BlobStore
from .catalog_db import in_range, next_id
from .catalog_jobs import CatalogJobs
from .errors import ConflictError, NotFoundError
from .locks import HomeLock
from .thumbnails import delete_thumbnails

MODALITIES = ("image", "text")


class Catalog(CatalogJobs):
    """SQLite catalog plus the folders beside it (blobs, models, cache, tmp, logs)."""

    def __init__(self, home: str | Path):
        super().__init__(home)
        self.blobs = BlobStore(self.home / "blobs")
        self.models_dir = self.home / "models"
        self.cache_dir = self.home / "cache"
        self.tmp_dir = self.home / "tmp"
        self.logs_dir = self.home / "logs"
        for folder in (self.models_dir, self.tmp_dir, self.logs_dir):
            folder.mkdir(exist_ok=True)
        # storing/deleting a blob and its example rows: one thread of one process at a time,
        # across servers and workers on this home folder too
        self.blob_lock = HomeLock(self.home / "blobs.lock")
        self.migrate()

    def remove_blob_files(self, orphans: list[dict]) -> None:
        """Delete the files (and their previews) of blobs no example references any more, as the
        delete methods return them (call under ``blob_lock``)."""
        for blob in orphans:
            self.blobs.delete(blob["digest"], blob["ext"])
            delete_thumbnails(self.home / "thumbs", blob["digest"])

    def remove_blob_if_unused(self, digest: str, ext: str) -> bool:
        """Delete a blob (and its previews) that no example references, e.g. one just stored for
        a row whose insert failed; True if it was deleted (call under ``blob_lock``)."""
        if self._digest_used(digest):
            return False
        self.remove_blob_files([{"digest": digest, "ext": ext}])
        return True

    # -- projects ---------------------------------------------------------------------------
    def create_project(self, name: str, modality: str) -> dict:
        name = clean_name(name, "Project name")
        if modality not in MODALITIES:
            raise DataError(f"Project modality must be 'image' or 'text'. Got '{modality}'.")
        with self.transaction() as conn:
            cur = conn.execute("INSERT INTO projects (id, name, modality, created) VALUES (?, ?, ?, ?)",
                               (next_id(conn, "projects"), name, modality, time.time()))
        return self.get_project(cur.lastrowid)

    def list_projects(self) -> list[dict]:
        with self.snapshot():  # a project deleted between the list and its read is not a 404
            rows = self._all("SELECT id FROM projects ORDER BY created DESC, id DESC")
            return [self.get_project(r["id"]) for r in rows]

    def get_project(self, project_id: int) -> dict:
        """The project's row, class counts and active job, read from one snapshot (a commit
        between the reads would otherwise pair the row with counts or a job from after it)."""
        with self.snapshot():
            row = self._one("SELECT * FROM projects WHERE id = ?", (project_id,))
            if row is None:
                raise NotFoundError(f"Project {project_id} does not exist. List projects with "
                                    "GET /api/projects.")
            project = dict(row)
            project["classes"] = self.class_counts(project_id)
            job = self._one("SELECT id FROM jobs WHERE project_id = ? AND status IN ('queued', "
                            "'running') ORDER BY id DESC LIMIT 1", (project_id,))
        project["n_examples"] = sum(project["classes"].values())
        project["active_job"] = job["id"] if job else None
        return project

    def rename_project(self, project_id: int, name: str) -> dict:
        self.get_project(project_id)
        with self.transaction() as conn:
            conn.execute("UPDATE projects SET name = ? WHERE id = ?",
                         (clean_name(name, "Project name"), project_id))
        return self.get_project(project_id)

    def delete_project(self, project_id: int) -> tuple[list[dict], list[Path]]:
        """Delete the project's rows; returns (now-unreferenced blobs, model dirs) to remove."""
        self.get_project(project_id)
        with self.transaction() as conn:
            examples = [dict(r) for r in conn.execute(
                "SELECT digest, ext FROM examples WHERE project_id = ?", (project_id,))]
            paths = [self.home / r["path"] for r in conn.execute(
                "SELECT path FROM versions WHERE project_id = ?", (project_id,))]
            conn.execute("DELETE FROM projects WHERE id = ?", (project_id,))
        orphans = [e for e in examples if not self._digest_used(e["digest"])]
        return orphans, paths

    # -- examples ---------------------------------------------------------------------------
    def add_example(self, project_id: int, label: str, digest: str, name: str, ext: str = "",
                    text: str | None = None) -> tuple[int, bool]:
        """Insert an example; returns (id, created). A duplicate (same digest) keeps the old row."""
        row, created = self.add_example_row(project_id, label, digest, name, ext, text)
        return row["id"], created

    def add_example_row(self, project_id: int, label: str, digest: str, name: str, ext: str = "",
                        text: str | None = None) -> tuple[dict, bool]:
        """As ``add_example``, returning the row: a duplicate's is the one it collided with, read
        in the same transaction (looked up afterwards, it may have been deleted meanwhile)."""
        label = clean_name(label, "Class name")
        with self.transaction() as conn:
            self._require_project(project_id)  # a project deleted since the upload's check is a
            # 404, not an insert that breaks the examples -> projects foreign key (a 500)
            row = conn.execute("SELECT * FROM examples WHERE project_id = ? AND digest = ?",
                               (project_id, digest)).fetchone()
            if row is not None:
                return dict(row), False
            conn.execute(
                "INSERT INTO examples (id, project_id, label, digest, name, ext, text, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (next_id(conn, "examples"), project_id, label, digest, name, ext, text, time.time()))
            row = conn.execute("SELECT * FROM examples WHERE project_id = ? AND digest = ?",
                               (project_id, digest)).fetchone()
        return dict(row), True

    def list_examples(self, project_id: int, label: str | None = None, offset: int = 0,
                      limit: int = 100) -> tuple[list[dict], int]:
        """A page of examples (newest first) and the total count."""
        where, args = "project_id = ?", [project_id]
        if label is not None:
            where, args = where + " AND label = ?", args + [stored_name(label)]
        with self.snapshot():  # the total counts the rows the page is taken from
            total = self._one(f"SELECT COUNT(*) FROM examples WHERE {where}", tuple(args))[0]
            rows = self._all(f"SELECT * FROM examples WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
                             (*args, limit, offset))
        return [dict(r) for r in rows], int(total)

    def training_examples(self, project_id: int) -> list[dict]:
        """Every example of the project, in id order (for training)."""
        return [dict(r) for r in self._all(
            "SELECT * FROM examples WHERE project_id = ? ORDER BY id", (project_id,))]

    def class_counts(self, project_id: int) -> dict[str, int]:
        rows = self._all("SELECT label, COUNT(*) AS n FROM examples WHERE project_id = ? "
                         "GROUP BY label ORDER BY label", (project_id,))
        return {r["label"]: r["n"] for r in rows}

    def get_example(self, project_id: int, example_id: int) -> dict:
        row = self._one("SELECT * FROM examples WHERE id = ? AND project_id = ?",
                        (example_id, project_id))
        if row is None:
            raise NotFoundError(f"Example {example_id} does not exist in project {project_id}.")
        return dict(row)

    def relabel_example(self, project_id: int, example_id: int, label: str,
                        existing_only: bool = False) -> dict:
        """Move an example to class ``label`` (``existing_only``: only to a class the project has).

        The checks run in the write transaction: a class renamed or deleted by another request
        between check and write would otherwise come back, holding just this example.
        """
        label = clean_name(label, "Class name")  # checked as it is stored: ' red ' is class 'red'
        with self.transaction() as conn:
            if existing_only:
                self._require_class(project_id, label)
            self.get_example(project_id, example_id)
            conn.execute("UPDATE examples SET label = ? WHERE id = ?", (label, example_id))
        return self.get_example(project_id, example_id)

    def _require_class(self, project_id: int, label: str) -> None:
        # the Results page names the classes of a version's report: one renamed or deleted since
        # training would otherwise come back, silently, as a new class
        classes = self.class_counts(project_id)
        if label not in classes:
            names = ", ".join(f"'{c}'" for c in classes) or "none"
            raise ConflictError(f"Class '{label}' is not a class of project {project_id} any more "
                                f"(renamed or deleted since the model was trained?): its classes are "
                                f"{names}; pick one of them.")

    def delete_examples(self, project_id: int, example_ids: list[int]) -> tuple[list[dict], int]:
        """Delete examples; returns the blobs no example references any more, and how many of
        ``example_ids`` there were to delete (unknown ids are not counted)."""
        with self.transaction() as conn:
            rows = _delete_rows(conn, project_id, example_ids)
        return [r for r in rows if not self._digest_used(r["digest"])], len(rows)

    def delete_class(self, project_id: int, label: str) -> tuple[list[dict], int]:
        """Delete a class's examples; returns the blobs no example references any more, and how
        many examples were deleted. Listing the class and deleting it are one transaction: an
        example moved to another class meanwhile is not deleted with this one."""
        label = stored_name(label)
        with self.transaction() as conn:
            self._require_project(project_id)
            ids = self.example_ids(project_id, label)
            if not ids:  # as renaming it says: a misspelled class is not a deletion of nothing
                raise NotFoundError(f"Class '{label}' has no examples in project {project_id}.")
            rows = _delete_rows(conn, project_id, ids)
        return [r for r in rows if not self._digest_used(r["digest"])], len(rows)

    def example_ids(self, project_id: int, label: str) -> list[int]:
        return [r["id"] for r in self._all(
            "SELECT id FROM examples WHERE project_id = ? AND label = ?", (project_id, label))]

    def rename_class(self, project_id: int, old: str, new: str) -> int:
        old, new = stored_name(old), clean_name(new, "Class name")
        with self.transaction() as conn:
            taken = conn.execute("SELECT 1 FROM examples WHERE project_id = ? AND label = ? LIMIT 1",
                                 (project_id, new)).fetchone()
            if taken is not None and new != old:  # renaming onto a class merged the two silently
                raise ConflictError(f"Class '{new}' already exists in project {project_id}. Choose another "
                                    f"name, or move the examples of '{old}' to it one by one.")
            cur = conn.execute("UPDATE examples SET label = ? WHERE project_id = ? AND label = ?",
                               (new, project_id, old))
            if cur.rowcount and new != old:  # logged, so versions either side can be compared
                conn.execute("INSERT INTO class_renames (project_id, old, new, at) VALUES (?, ?, ?, ?)",
                             (project_id, old, new, time.time()))
        if cur.rowcount == 0:
            raise NotFoundError(f"Class '{old}' has no examples in project {project_id}.")
        return cur.rowcount

    def class_renames(self, project_id: int, since: float) -> list[tuple[str, str]]:
        """The project's class renames after time ``since``, oldest first, as (old, new)."""
        return [(r["old"], r["new"]) for r in self._all(
            "SELECT old, new FROM class_renames WHERE project_id = ? AND at > ? ORDER BY id",
            (project_id, since))]

    def _digest_used(self, digest: str) -> bool:
        return self._one("SELECT 1 FROM examples WHERE digest = ? LIMIT 1", (digest,)) is not None

    def referenced_digests(self) -> set[str]:
        return {r[0] for r in self._all("SELECT DISTINCT digest FROM examples")}


def stored_name(value: str) -> str:
    """A class name as ``clean_name`` stores it (whitespace trimmed and collapsed), to look one up:
    a name the upload would clean finds the class it created."""
    return " ".join(str(value).split())


def clean_name(value: str, what: str, max_len: int = 100) -> str:
    """A project or class name: trimmed, 1..100 printable characters, no slashes."""
    text = stored_name(value)
    if not text or len(text) > max_len or any(ch in text for ch in "/\\") or not text.isprintable():
        raise DataError(f"{what} must be 1 to {max_len} printable characters without slashes. "
                        f"Got '{str(value)[:120]}'.")
    if text in (".", ".."):  # a URL path segment '..' names the parent: /classes/.. is the project
        raise DataError(f"{what} cannot be '{text}'. Choose a name with a letter or digit in it.")
    return text


def _delete_rows(conn: sqlite3.Connection, project_id: int, example_ids: list[int]) -> list[dict]:
    """Delete the project's examples among ``example_ids``; returns their (digest, ext) rows."""
    args = in_range((project_id, *example_ids))
    marks = ",".join("?" * len(example_ids))
    rows = [dict(r) for r in conn.execute(
        f"SELECT digest, ext FROM examples WHERE project_id = ? AND id IN ({marks})", args)]
    conn.execute(f"DELETE FROM examples WHERE project_id = ? AND id IN ({marks})", args)
    return rows
