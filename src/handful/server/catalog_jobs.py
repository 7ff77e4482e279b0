"""Training jobs and the model versions they produce: the queue's half of the catalog.

A job goes queued -> running -> succeeded (registering a version), failed or cancelled; a
worker process claims it, reports progress, and commits the version in the same transaction
that marks the job succeeded. ``Catalog`` (catalog.py) is the class to use.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .catalog_db import CatalogDB, next_id
from .errors import ConflictError, NotFoundError


class CatalogJobs(CatalogDB):
    """The jobs and versions tables; the base of ``Catalog``, which adds projects and examples."""

    if TYPE_CHECKING:  # defined by Catalog, the only subclass
        def get_project(self, project_id: int) -> dict: ...

    # -- jobs -------------------------------------------------------------------------------
    def create_job(self, project_id: int, options: dict) -> dict:
        """Queue a training job; refused (409) while the project has one queued or running."""
        with self.transaction() as conn:
            self.get_project(project_id)  # checked under the lock: a project deleted meanwhile is
            # a 404 here, not an insert that breaks the jobs -> projects foreign key (a 500)
            active = conn.execute("SELECT id FROM jobs WHERE project_id = ? AND status IN "
                                  "('queued', 'running')", (project_id,)).fetchone()
            if active is not None:
                raise ConflictError(f"Project {project_id} already has training job {active['id']} "
                                    "in progress. Wait for it or cancel it first.")
            cur = conn.execute("INSERT INTO jobs (id, project_id, status, options, created) "
                               "VALUES (?, ?, 'queued', ?, ?)",
                               (next_id(conn, "jobs"), project_id, json.dumps(options), time.time()))
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

    def job_running(self, job_id: int) -> bool:
        """Whether the job is still running (one indexed read: checked at every progress report)."""
        row = self._one("SELECT status FROM jobs WHERE id = ?", (job_id,))
        return row is not None and row["status"] == "running"

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
                       classes: list[str], n_examples: int, metrics: dict[str, float],
                       trained: Sequence[TrainedExample] = ()) -> int | None:
        """Register a finished model as the project's next (and current) version.

        ``trained``: the examples it was trained on, recorded with it (``version_examples``). In
        one transaction with marking the job succeeded; returns None, registering nothing, when
        the job was cancelled or marked failed meanwhile.
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
            conn.executemany("INSERT INTO version_examples (version_id, example_id, digest, ext, label) "
                             "VALUES (?, ?, ?, ?, ?)",
                             [(cur.lastrowid, e.example_id, e.digest, e.ext, e.label) for e in trained])
            conn.execute("UPDATE jobs SET status = 'succeeded', version = ?, progress = 1, stage = 'done', "
                         "message = ?, finished = ? WHERE id = ?",
                         (number, f"saved as version {number}", time.time(), job_id))
            conn.execute("UPDATE projects SET current_version = ? WHERE id = ?", (number, project_id))
        return number

    def list_versions(self, project_id: int) -> list[dict]:
        """Every version, newest first, with ``current`` and metrics read from one snapshot (a
        version committed between the reads would otherwise be listed with none of them current)."""
        with self.snapshot():
            current = self.current_version(project_id)
            rows = self._all("SELECT * FROM versions WHERE project_id = ? ORDER BY number DESC",
                             (project_id,))
            return [self._version_dict(r, current) for r in rows]

    def get_version(self, project_id: int, number: int | None = None) -> dict:
        """Version ``number`` of the project, or its current version when ``number`` is None; its
        row and ``current`` are read from one snapshot, like ``list_versions``."""
        with self.snapshot():
            current = self.current_version(project_id)
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

    def version_examples(self, project_id: int, number: int) -> list[dict] | None:
        """The examples version ``number`` was trained on, in id order: ``example_id``, ``digest``,
        ``ext`` and ``label`` as trained, whatever was relabeled or deleted since. None for a
        version registered before the catalog recorded them (schema 4 and earlier), or without
        them (``commit_version`` given none): what it was trained on is not known."""
        with self.snapshot():
            version = self.get_version(project_id, number)
            rows = self._all("SELECT example_id, digest, ext, label FROM version_examples "
                             "WHERE version_id = ? ORDER BY example_id", (version["id"],))
        return [dict(r) for r in rows] or None  # a trained version has at least 2 examples

    def version_paths(self) -> set[Path]:
        return {self.home / r["path"] for r in self._all("SELECT path FROM versions")}

    def _version_dict(self, row: sqlite3.Row, current: int | None) -> dict:
        version = dict(row)
        version["classes"] = json.loads(version["classes"])
        version["current"] = version["number"] == current
        version["metrics"] = {r["name"]: r["value"] for r in self._all(
            "SELECT name, value FROM metrics WHERE version_id = ? ORDER BY name", (row["id"],))}
        return version


class TrainedExample(NamedTuple):
    """One example as a version was trained on it (a row of ``version_examples``)."""

    example_id: int
    digest: str
    ext: str
    label: str


def _job_dict(row: sqlite3.Row) -> dict:
    job = dict(row)
    job["options"] = json.loads(job["options"])
    return job
