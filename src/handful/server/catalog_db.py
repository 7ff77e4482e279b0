"""The catalog's SQLite plumbing: one connection per thread, write transactions, migrations.

``CatalogDB`` is the base of ``Catalog`` (catalog.py: projects, examples, classes), by way of
``CatalogJobs`` (catalog_jobs.py: training jobs, model versions). A check and the write it
guards belong in one ``transaction()``: ``BEGIN IMMEDIATE`` takes the write lock first, so no
other thread or worker process can change what was checked before the commit.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import CatalogError, DataError
from .errors import NotFoundError
from .schema import MIGRATIONS, SCHEMA_VERSION


class CatalogDB:
    """``<home>/catalog.sqlite`` in WAL mode, shared by the server's threads and its workers."""

    def __init__(self, home: str | Path):
        self.home = Path(home).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        self.db_path = self.home / "catalog.sqlite"
        self._local = threading.local()

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
        """A write transaction (BEGIN IMMEDIATE): all or nothing. ``_one``/``_all`` called
        inside it read through the same connection, so they see (and hold) its snapshot."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: ``_one``/``_all`` inside it all read one snapshot of the catalog,
        so counts read in one statement agree with rows read in the next, whatever commits in
        between (WAL: it blocks no writer). Inside ``transaction()`` or another snapshot it
        adds nothing: that one's snapshot is already held."""
        conn = self._conn()
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN DEFERRED")  # the snapshot is taken at the first read
        try:
            yield
        finally:
            if conn.in_transaction:  # (an error may have ended it already)
                conn.execute("COMMIT")  # nothing was written: this only ends the read

    def _one(self, sql: str, args: tuple = ()) -> sqlite3.Row | None:
        return self._conn().execute(sql, in_range(args)).fetchone()

    def _all(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        return self._conn().execute(sql, in_range(args)).fetchall()

    def _require_project(self, project_id: int) -> None:
        """Raise the 404 for a project that does not exist (inside a transaction: nor will it)."""
        if self._one("SELECT 1 FROM projects WHERE id = ?", (project_id,)) is None:
            raise NotFoundError(f"Project {project_id} does not exist. List projects with "
                                "GET /api/projects.")

    def schema_version(self) -> int:
        return int(self._one("PRAGMA user_version")[0])

    def migrate(self) -> int:
        """Apply the migrations this file lacks, each in its own transaction; returns the version.
        Also the first read of the file: one that cannot be read is a ``CatalogError``."""
        try:
            return self._migrate()
        except sqlite3.DatabaseError as err:  # OperationalError (locked, unopenable) included
            raise catalog_error(self.db_path, err) from err

    def _migrate(self) -> int:
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


def catalog_error(db_path: Path, err: sqlite3.DatabaseError) -> CatalogError:
    """The one-line error for a catalog that cannot be opened: locked, unopenable or damaged."""
    if isinstance(err, sqlite3.OperationalError) and "locked" in str(err):
        return CatalogError(f"Catalog {db_path} is locked by another process (sqlite: {err}, after "
                            "30 s). Stop the other handful server using this --home, then start again.")
    if isinstance(err, sqlite3.OperationalError):
        return CatalogError(f"Cannot open catalog {db_path} (sqlite: {err}). Check the permissions "
                            "and free space of its folder, or choose another --home.")
    # not "move it aside": a new catalog on the same home would delete the files the old one lists
    # (recover() removes example and model files no catalog row refers to)
    return CatalogError(f"Catalog {db_path} is damaged (sqlite: {err}). Restore it from a backup, or "
                        "pass a new --home (a new catalog on this home would delete the example and "
                        "model files this one lists).")


def in_range(args: tuple) -> tuple:
    """``args``, refused with a 404 when an integer is beyond SQLite's 64-bit ids (no row has it)."""
    for value in args:
        if isinstance(value, int) and not -2**63 <= value < 2**63:
            raise NotFoundError(f"No record has id {value}: ids are below 2^63. List what exists with "
                                "GET /api/projects.")
    return args


def next_id(conn: sqlite3.Connection, table: str) -> int:
    """A new id for ``table`` (projects, examples or jobs) that no row, present or deleted, had."""
    return conn.execute(f"UPDATE id_counters SET last = MAX(last, (SELECT COALESCE(MAX(id), 0) FROM {table})) + 1 "
                        "WHERE name = ? RETURNING last", (table,)).fetchone()[0]


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
