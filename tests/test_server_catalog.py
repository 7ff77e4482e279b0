"""The SQLite catalog: schema migrations, WAL, job and version bookkeeping, crash recovery."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from handful.errors import DataError
from handful.server.catalog import Catalog
from handful.server.errors import ConflictError, NotFoundError
from handful.server.runner import recover
from handful.server.schema import MIGRATIONS, SCHEMA_VERSION


def test_new_catalog_is_at_the_latest_schema_in_wal_mode(tmp_path):
    catalog = Catalog(tmp_path)
    assert catalog.schema_version() == SCHEMA_VERSION == len(MIGRATIONS)
    mode = sqlite3.connect(catalog.db_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert Catalog(tmp_path).schema_version() == SCHEMA_VERSION  # reopening migrates nothing


def test_an_old_catalog_is_migrated_and_keeps_its_data(tmp_path):
    conn = sqlite3.connect(tmp_path / "catalog.sqlite")
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO projects (name, modality, created) VALUES ('old', 'image', 1.0)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    catalog = Catalog(tmp_path)
    assert catalog.schema_version() == SCHEMA_VERSION
    assert [p["name"] for p in catalog.list_projects()] == ["old"]
    assert "heartbeat" in catalog.get_job(catalog.create_job(1, {})["id"])


def test_a_newer_catalog_is_refused_with_the_fix(tmp_path):
    conn = sqlite3.connect(tmp_path / "catalog.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(DataError, match="Upgrade handful"):
        Catalog(tmp_path)


def _running_job(catalog: Catalog) -> tuple[int, dict]:
    pid = catalog.create_project("p", "image")["id"]
    job = catalog.create_job(pid, {"backbone": "auto"})
    assert catalog.claim_next_job()["id"] == job["id"]
    return pid, catalog.get_job(job["id"])


def test_one_active_job_per_project(tmp_path):
    catalog = Catalog(tmp_path)
    pid, _ = _running_job(catalog)
    with pytest.raises(ConflictError, match="already has training job"):
        catalog.create_job(pid, {})


def test_commit_version_numbers_versions_and_makes_them_current(tmp_path):
    catalog = Catalog(tmp_path)
    pid, job = _running_job(catalog)
    path = catalog.models_dir / str(pid) / "job-1"
    assert catalog.commit_version(job["id"], path, "b", "h", ["a", "b"], 4, {"accuracy": 0.75}) == 1
    assert catalog.get_job(job["id"])["status"] == "succeeded"
    version = catalog.get_version(pid)
    assert (version["number"], version["current"], version["metrics"]) == (1, True, {"accuracy": 0.75})


def test_a_cancelled_job_cannot_register_a_version(tmp_path):
    catalog = Catalog(tmp_path)
    pid, job = _running_job(catalog)
    assert catalog.finish_job(job["id"], "cancelled", "by user")
    assert catalog.commit_version(job["id"], catalog.models_dir / "1" / "x", "b", "h", [], 0, {}) is None
    assert catalog.list_versions(pid) == [] and catalog.get_project(pid)["current_version"] is None
    assert not catalog.update_progress(job["id"], "embedding", 0.5)  # the worker learns it must stop


def test_recover_marks_interrupted_jobs_and_removes_half_written_state(tmp_path):
    catalog = Catalog(tmp_path)
    pid, done = _running_job(catalog)
    kept = catalog.models_dir / str(pid) / f"job-{done['id']}"
    kept.mkdir(parents=True)
    (kept / "model.json").write_text("{}")
    catalog.commit_version(done["id"], kept, "b", "h", ["a", "b"], 2, {})
    interrupted = catalog.create_job(pid, {})
    catalog.claim_next_job()
    queued_pid = catalog.create_project("q", "image")["id"]
    queued = catalog.create_job(queued_pid, {})
    renamed_not_registered = catalog.models_dir / str(pid) / f"job-{interrupted['id']}"
    half_written = catalog.models_dir / str(pid) / f".job-{interrupted['id']}.tmp-abc"
    for folder in (renamed_not_registered, half_written):
        folder.mkdir()
        (folder / "head.safetensors").write_bytes(b"partial")
    used = catalog.blobs.put(b"used", ".png")
    catalog.add_example(pid, "a", used, "a.png", ".png")
    orphan = catalog.blobs.put(b"orphan", ".png")  # stored, but the insert never happened

    summary = recover(catalog)

    assert summary["failed_jobs"] == [interrupted["id"]]
    job = catalog.get_job(interrupted["id"])
    assert job["status"] == "failed" and "Interrupted" in job["message"]
    assert catalog.get_job(queued["id"])["status"] == "queued"  # never started: runs later
    assert kept.is_dir() and not renamed_not_registered.exists() and not half_written.exists()
    assert catalog.blobs.path(used, ".png").is_file()
    assert not catalog.blobs.path(orphan, ".png").exists()
    assert catalog.get_version(pid)["number"] == 1


def test_catalog_is_shared_between_threads(tmp_path):
    import threading

    catalog = Catalog(tmp_path)
    pid = catalog.create_project("p", "text")["id"]
    errors = []

    def add(start: int) -> None:
        try:
            for i in range(start, start + 25):
                catalog.add_example(pid, "a" if i % 2 else "b", f"{i:040x}", f"t{i}", text=f"t{i}")
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=add, args=(k * 25,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and catalog.get_project(pid)["n_examples"] == 100


def test_names_are_validated(tmp_path):
    catalog = Catalog(tmp_path)
    with pytest.raises(DataError, match="without slashes"):
        catalog.create_project("a/b", "image")
    with pytest.raises(DataError, match="'image' or 'text'"):
        catalog.create_project("a", "video")
    assert catalog.create_project("  two   words ", "image")["name"] == "two words"
    assert isinstance(Path(catalog.home), Path)


def test_a_worker_whose_project_was_deleted_is_reaped_without_an_error(tmp_path):
    # deleting a project while it trained left the runner's loop with a job that no longer
    # exists: "job runner error ... NotFoundError" in the log
    from handful.server.runner import JobRunner

    finished = []
    runner = JobRunner(Catalog(tmp_path / "home"), on_finished=finished.append)

    class Ended:
        returncode = 0

        def poll(self):
            return 0

    runner._procs[41] = Ended()
    runner._reap()
    assert runner._procs == {} and finished == []


def test_ids_are_never_handed_out_twice_even_after_the_newest_row_is_deleted(tmp_path):
    catalog = Catalog(tmp_path)
    first = catalog.create_project("a", "image")["id"]
    example, _ = catalog.add_example(first, "x", "d1", "one.png", ".png")
    job = catalog.create_job(first, {})["id"]
    catalog.delete_project(first)  # the newest row of each table: SQLite alone would reuse its id
    second = catalog.create_project("b", "image")["id"]
    assert second == first + 1
    assert catalog.add_example(second, "x", "d2", "two.png", ".png")[0] == example + 1
    assert catalog.create_job(second, {})["id"] == job + 1


def test_an_old_catalogs_counters_start_above_its_ids(tmp_path):
    conn = sqlite3.connect(tmp_path / "catalog.sqlite")
    for migration in MIGRATIONS[:2]:
        conn.executescript(migration)
    conn.execute("INSERT INTO projects (id, name, modality, created) VALUES (7, 'old', 'image', 1.0)")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    assert Catalog(tmp_path).create_project("new", "image")["id"] == 8


def test_a_missing_version_says_where_to_look_with_the_projects_own_id(tmp_path):
    # "Start training first (POST /api/projects/{id}/jobs)" left the placeholder in, and a
    # missing version number gave no way on
    catalog = Catalog(tmp_path / "home")
    pid = catalog.create_project("p", "image")["id"]
    with pytest.raises(NotFoundError, match=rf"POST /api/projects/{pid}/jobs\)"):
        catalog.get_version(pid)
    with pytest.raises(NotFoundError, match=rf"version 9\. List its versions with GET /api/projects/{pid}/versions"):
        catalog.get_version(pid, 9)
