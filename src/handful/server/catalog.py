"""The catalog: projects, examples, training jobs and model versions in SQLite (WAL mode).

One file, ``<home>/catalog.sqlite``, shared by the server's threads and its training worker
processes. The schema is versioned (``PRAGMA user_version``) and migrated on open. Example
files live in the content-addressed ``BlobStore``; model directories under ``models/``.

Example:
    >>> catalog = Catalog("~/.handful")
    >>> project = catalog.create_project("pets", "image")
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import DataError
from .blobs import BlobStore
from .errors import ConflictError, NotFoundError
from .schema import MIGRATIONS, SCHEMA_VERSION

ACTIVE = ("queued", "running")
MODALITIES = ("image", "text")


def _in_range(args: tuple) -> tuple:
    """``args``, refused with a 404 when an integer is beyond SQLite's 64-bit ids (no row has it)."""
    for value in args:
        if isinstance(value, int) and not -2**63 <= value < 2**63:
            raise NotFoundError(f"No record has id {value}: ids are below 2^63. List what exists with "
                                "GET /api/projects.")
    return args


class Catalog:
    """SQLite catalog plus the folders beside it (blobs, models, cache, tmp, logs)."""

    def __init__(self, home: str | Path):
        self.home = Path(home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / "catalog.sqlite"
        self.blobs = BlobStore(self.home / "blobs")
        self.models_dir = self.home / "models"
        self.cache_dir = self.home / "cache"
        self.tmp_dir = self.home / "tmp"
        self.logs_dir = self.home / "logs"
        for folder in (self.models_dir, self.tmp_dir, self.logs_dir):
            folder.mkdir(exist_ok=True)
        self._local = threading.local()
        self.blob_lock = threading.RLock()  # storing/deleting a blob and its example rows
        self.migrate()

    # -- connection -------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE): all or nothing."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        return self._conn().execute(sql, _in_range(args)).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, _in_range(args)).fetchall()

    def schema_version(self) -> int:
        return int(self._one("PRAGMA user_version")[0])

    def migrate(self) -> int:
        """Apply the migrations this file lacks, each in its own transaction; returns the version."""
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise DataError(f"Catalog {self.db_path} has schema version {current}, newer than this "
                            f"handful supports ({SCHEMA_VERSION}). Upgrade handful.")
        for number in range(current + 1, SCHEMA_VERSION + 1):
            with self.transaction() as conn:
                for statement in _statements(MIGRATIONS[number - 1]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
        return self.schema_version()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- projects ---------------------------------------------------------------------------
    def create_project(self, name: str, modality: str) -> dict:
        name = clean_name(name, "Project name")
        if modality not in MODALITIES:
            raise DataError(f"Project modality must be 'image' or 'text'. Got '{modality}'.")
        with self.transaction() as conn:
            cur = conn.execute("INSERT INTO projects (id, name, modality, created) VALUES (?, ?, ?, ?)",
                               (_next_id(conn, "projects"), name, modality, time.time()))
        return self.get_project(cur.lastrowid)

    def list_projects(self) -> list[dict]:
        rows = self._all("SELECT id FROM projects ORDER BY created DESC, id DESC")
        return [self.get_project(r["id"]) for r in rows]

    def get_project(self, project_id: int) -> dict:
        row = self._one("SELECT * FROM projects WHERE id = ?", (project_id,))
        if row is None:
            raise NotFoundError(f"Project {project_id} does not exist. List projects with "
                                "GET /api/projects.")
        project = dict(row)
        project["classes"] = self.class_counts(project_id)
        project["n_examples"] = sum(project["classes"].values())
        job = self._one("SELECT id FROM jobs WHERE project_id = ? AND status IN ('queued', "
                        "'running') ORDER BY id DESC LIMIT 1", (project_id,))
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
        label = clean_name(label, "Class name")
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM examples WHERE project_id = ? AND digest = ?",
                               (project_id, digest)).fetchone()
            if row is not None:
                return row["id"], False
            cur = conn.execute(
                "INSERT INTO examples (id, project_id, label, digest, name, ext, text, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (_next_id(conn, "examples"), project_id, label, digest, name, ext, text, time.time()))
        return cur.lastrowid, True

    def list_examples(self, project_id: int, label: str | None = None, offset: int = 0,
                      limit: int = 100) -> tuple[list[dict], int]:
        """A page of examples (newest first) and the total count."""
        where, args = "project_id = ?", [project_id]
        if label is not None:
            where, args = where + " AND label = ?", args + [label]
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

    def relabel_example(self, project_id: int, example_id: int, label: str) -> dict:
        self.get_example(project_id, example_id)
        with self.transaction() as conn:
            conn.execute("UPDATE examples SET label = ? WHERE id = ?",
                         (clean_name(label, "Class name"), example_id))
        return self.get_example(project_id, example_id)

    def delete_examples(self, project_id: int, example_ids: list[int]) -> tuple[list[dict], int]:
        """Delete examples; returns the blobs no example references any more, and how many of
        ``example_ids`` there were to delete (unknown ids are not counted)."""
        args = _in_range((project_id, *example_ids))
        with self.transaction() as conn:
            rows = [dict(r) for r in conn.execute(
                f"SELECT digest, ext FROM examples WHERE project_id = ? AND id IN "
                f"({','.join('?' * len(example_ids))})", args)]
            conn.execute(f"DELETE FROM examples WHERE project_id = ? AND id IN "
                         f"({','.join('?' * len(example_ids))})", args)
        return [r for r in rows if not self._digest_used(r["digest"])], len(rows)

    def example_ids(self, project_id: int, label: str) -> list[int]:
        return [r["id"] for r in self._all(
            "SELECT id FROM examples WHERE project_id = ? AND label = ?", (project_id, label))]

    def rename_class(self, project_id: int, old: str, new: str) -> int:
        new = clean_name(new, "Class name")
        with self.transaction() as conn:
            taken = conn.execute("SELECT 1 FROM examples WHERE project_id = ? AND label = ? LIMIT 1",
                                 (project_id, new)).fetchone()
            if taken is not None and new != old:  # renaming onto a class merged the two silently
                raise ConflictError(f"Class '{new}' already exists in project {project_id}. Choose another "
                                    f"name, or move the examples of '{old}' to it one by one.")
            cur = conn.execute("UPDATE examples SET label = ? WHERE project_id = ? AND label = ?",
                               (new, project_id, old))
        if cur.rowcount == 0:
            raise NotFoundError(f"Class '{old}' has no examples in project {project_id}.")
        return cur.rowcount

    def _digest_used(self, digest: str) -> bool:
        return self._one("SELECT 1 FROM examples WHERE digest = ? LIMIT 1", (digest,)) is not None

    def referenced_digests(self) -> set[str]:
        return {r[0] for r in self._all("SELECT DISTINCT digest FROM examples")}

    # -- jobs -------------------------------------------------------------------------------
    def create_job(self, project_id: int, options: dict) -> dict:
        self.get_project(project_id)
        with self.transaction() as conn:
            active = conn.execute("SELECT id FROM jobs WHERE project_id = ? AND status IN "
                                  "('queued', 'running')", (project_id,)).fetchone()
            if active is not None:
                raise ConflictError(f"Project {project_id} already has training job {active['id']} "
                                    "in progress. Wait for it or cancel it first.")
            cur = conn.execute("INSERT INTO jobs (id, project_id, status, options, created) "
                               "VALUES (?, ?, 'queued', ?, ?)",
                               (_next_id(conn, "jobs"), project_id, json.dumps(options), time.time()))
        return self.get_job(cur.lastrowid)

    def get_job(self, job_id: int) -> dict:
        row = self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            raise NotFoundError(f"Training job {job_id} does not exist.")
        return _job_dict(row)

    def list_jobs(self, project_id: int, limit: int = 50) -> list[dict]:
        rows = self._all("SELECT * FROM jobs WHERE project_id = ? ORDER BY id DESC LIMIT ?",
                         (project_id, limit))
        return [_job_dict(r) for r in rows]

    def claim_next_job(self) -> dict | None:
        """Move the oldest queued job to 'running' and return it (None when the queue is empty)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1"
                               ).fetchone()
            if row is None:
                return None
            now = time.time()
            conn.execute("UPDATE jobs SET status = 'running', started = ?, heartbeat = ?, "
                         "stage = 'starting' WHERE id = ?", (now, now, row["id"]))
        return self.get_job(row["id"])

    def set_worker_pid(self, job_id: int, pid: int) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE jobs SET worker_pid = ? WHERE id = ?", (pid, job_id))

    def update_progress(self, job_id: int, stage: str, progress: float, message: str = "") -> bool:
        """Record progress of a running job; False when the job is no longer running."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET stage = ?, progress = ?, message = ?, heartbeat = ? "
                "WHERE id = ? AND status = 'running'",
                (stage, min(1.0, max(0.0, progress)), message, time.time(), job_id))
        return cur.rowcount == 1

    def finish_job(self, job_id: int, status: str, message: str = "") -> bool:
        """End a queued/running job as failed or cancelled; False if it had already ended."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE jobs SET status = ?, message = ?, finished = ? WHERE id = ? AND status IN "
                "('queued', 'running')", (status, message, time.time(), job_id))
        return cur.rowcount == 1

    def recover_interrupted_jobs(self) -> list[int]:
        """Mark jobs left 'running' by a dead server as failed (queued jobs stay queued)."""
        ids = [r["id"] for r in self._all("SELECT id FROM jobs WHERE status = 'running'")]
        for job_id in ids:
            self.finish_job(job_id, "failed", "Interrupted: the server stopped during training. "
                                              "Start training again.")
        return ids

    # -- versions ---------------------------------------------------------------------------
    def commit_version(self, job_id: int, path: Path, backbone: str, head: str,
                       classes: list[str], n_examples: int, metrics: dict[str, float]) -> int | None:
        """Register a finished model as the project's next (and current) version.

        In one transaction with marking the job succeeded; returns None, registering nothing,
        when the job was cancelled or marked failed meanwhile.
        """
        with self.transaction() as conn:
            job = conn.execute("SELECT project_id, status FROM jobs WHERE id = ?",
                               (job_id,)).fetchone()
            if job is None or job["status"] != "running":
                return None
            project_id = job["project_id"]
            number = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM versions "
                                  "WHERE project_id = ?", (project_id,)).fetchone()[0]
            cur = conn.execute(
                "INSERT INTO versions (project_id, number, job_id, path, created, backbone, head, "
                "classes, n_examples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (project_id, number, job_id, str(path.relative_to(self.home)), time.time(),
                 backbone, head, json.dumps(classes), n_examples))
            conn.executemany("INSERT INTO metrics (version_id, name, value) VALUES (?, ?, ?)",
                             [(cur.lastrowid, k, float(v)) for k, v in metrics.items()
                              if isinstance(v, int | float) and v == v])
            conn.execute("UPDATE jobs SET status = 'succeeded', version = ?, progress = 1, stage = 'done', "
                         "message = ?, finished = ? WHERE id = ?",
                         (number, f"saved as version {number}", time.time(), job_id))
            conn.execute("UPDATE projects SET current_version = ? WHERE id = ?", (number, project_id))
        return number

    def list_versions(self, project_id: int) -> list[dict]:
        current = self.get_project(project_id)["current_version"]
        rows = self._all("SELECT * FROM versions WHERE project_id = ? ORDER BY number DESC",
                         (project_id,))
        return [self._version_dict(r, current) for r in rows]

    def get_version(self, project_id: int, number: int | None = None) -> dict:
        """Version ``number`` of the project, or its current version when ``number`` is None."""
        current = self.get_project(project_id)["current_version"]
        if number is None:
            if current is None:
                raise NotFoundError(f"Project {project_id} has no trained model yet. Start "
                                    f"training first (POST /api/projects/{project_id}/jobs).")
            number = current
        row = self._one("SELECT * FROM versions WHERE project_id = ? AND number = ?",
                        (project_id, number))
        if row is None:
            raise NotFoundError(f"Project {project_id} has no model version {number}. List its "
                                f"versions with GET /api/projects/{project_id}/versions.")
        return self._version_dict(row, current)

    def current_version(self, project_id: int) -> int | None:
        """The current version number (one indexed query: the predict hot path)."""
        row = self._one("SELECT current_version FROM projects WHERE id = ?", (project_id,))
        if row is None:
            raise NotFoundError(f"Project {project_id} does not exist. List projects with "
                                "GET /api/projects.")
        return row[0]

    def set_current_version(self, project_id: int, number: int) -> dict:
        self.get_version(project_id, number)
        with self.transaction() as conn:
            conn.execute("UPDATE projects SET current_version = ? WHERE id = ?", (number, project_id))
        return self.get_version(project_id, number)

    def version_paths(self) -> set[Path]:
        return {self.home / r["path"] for r in self._all("SELECT path FROM versions")}

    def _version_dict(self, row: sqlite3.Row, current: int | None) -> dict:
        version = dict(row)
        version["classes"] = json.loads(version["classes"])
        version["current"] = version["number"] == current
        version["metrics"] = {r["name"]: r["value"] for r in self._all(
            "SELECT name, value FROM metrics WHERE version_id = ? ORDER BY name", (row["id"],))}
        return version


def clean_name(value: str, what: str, max_len: int = 100) -> str:
    """A project or class name: trimmed, 1..100 printable characters, no slashes."""
    text = " ".join(str(value).split())
    if not text or len(text) > max_len or any(ch in text for ch in "/\\") or not text.isprintable():
        raise DataError(f"{what} must be 1 to {max_len} printable characters without slashes. "
                        f"Got '{str(value)[:120]}'.")
    if text in (".", ".."):  # a URL path segment '..' names the parent: /classes/.. is the project
        raise DataError(f"{what} cannot be '{text}'. Choose a name with a letter or digit in it.")
    return text


def _next_id(conn: sqlite3.Connection, table: str) -> int:
    """A new id for ``table`` (projects, examples or jobs) that no row, present or deleted, had."""
    return conn.execute(f"UPDATE id_counters SET last = MAX(last, (SELECT COALESCE(MAX(id), 0) FROM {table})) + 1 "
                        "WHERE name = ? RETURNING last", (table,)).fetchone()[0]


def _job_dict(row: sqlite3.Row) -> dict:
    job = dict(row)
    job["options"] = json.loads(job["options"])
    return job


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
