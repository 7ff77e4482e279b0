"""The catalog's SQLite schema as numbered migrations; ``PRAGMA user_version`` records the last.

Append a migration to change the schema; never edit one that has shipped. Each runs in one
transaction together with the ``user_version`` bump, so a crash mid-migration changes nothing.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: projects, examples (content-addressed), training jobs, model versions.
    """
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        modality TEXT NOT NULL CHECK (modality IN ('image', 'text')),
        created REAL NOT NULL,
        current_version INTEGER
    );
    CREATE TABLE examples (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        digest TEXT NOT NULL,
        name TEXT NOT NULL,
        ext TEXT NOT NULL DEFAULT '',
        text TEXT,
        created REAL NOT NULL,
        UNIQUE (project_id, digest)
    );
    CREATE INDEX examples_by_label ON examples (project_id, label);
    CREATE INDEX examples_by_digest ON examples (digest);
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        status TEXT NOT NULL CHECK (status IN
            ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        options TEXT NOT NULL,
        stage TEXT NOT NULL DEFAULT '',
        progress REAL NOT NULL DEFAULT 0,
        message TEXT NOT NULL DEFAULT '',
        worker_pid INTEGER,
        version INTEGER,
        created REAL NOT NULL,
        started REAL,
        finished REAL
    );
    CREATE INDEX jobs_by_status ON jobs (status);
    CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        job_id INTEGER,
        path TEXT NOT NULL,
        created REAL NOT NULL,
        backbone TEXT NOT NULL,
        head TEXT NOT NULL,
        classes TEXT NOT NULL,
        n_examples INTEGER NOT NULL,
        UNIQUE (project_id, number)
    );
    """,
    # 2: one row per (version, metric) so versions can be compared and sorted in SQL.
    """
    CREATE TABLE metrics (
        version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (version_id, name)
    );
    ALTER TABLE jobs ADD COLUMN heartbeat REAL;
    """,
    # 3: ids are never handed out twice. SQLite gives a new row max(id) + 1, so deleting the newest
    # project, example or job gave its id to the next one, and anything keyed by the id (an ONNX
    # export, a cached thumbnail) then belonged to two things. The catalog draws ids from here.
    """
    CREATE TABLE id_counters (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
    INSERT INTO id_counters SELECT 'projects', COALESCE(MAX(id), 0) FROM projects;
    INSERT INTO id_counters SELECT 'examples', COALESCE(MAX(id), 0) FROM examples;
    INSERT INTO id_counters SELECT 'jobs', COALESCE(MAX(id), 0) FROM jobs;
    """,
    # 4: class renames, in order, so two versions trained either side of one can be compared
    # class by class ("kitty (was cat)") instead of showing each name as a half-empty row.
    """
    CREATE TABLE class_renames (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        old TEXT NOT NULL,
        new TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX class_renames_by_project ON class_renames (project_id, at);
    """,
    # 5: the examples each version was trained on, with their label as trained, written with the
    # version. Guessed from timestamps before, an example relabeled since counted under its new
    # label, and one deleted since was gone from the version. No foreign key to examples: the
    # record outlives them (it does not keep their blobs: a deleted example's file may be gone).
    # Versions from before this migration have no rows (see CatalogJobs.version_examples).
    """
    CREATE TABLE version_examples (
        version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
        example_id INTEGER NOT NULL,
        digest TEXT NOT NULL,
        ext TEXT NOT NULL DEFAULT '',
        label TEXT NOT NULL,
        PRIMARY KEY (version_id, example_id)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
