"""A training job while the user deletes what it trains on: examples, a class, the project.

The worker runs in this process (``run_job``, as ``python -m handful.server.worker`` calls it)
so a test can strike between the worker reading the example rows and reading their files; the
deletes go through the HTTP routes of an app whose runner starts no workers of its own
(``max_parallel_jobs=0``).
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from handful.classifier import Classifier
from handful.server import Catalog, ServerSettings, create_app
from handful.server.training import pinned_dir
from handful.server.worker import STEP_DELAY_ENV, run_job
from server_utils import upload_colors

TINY = {"backbone": "test_tiny_image", "head": "logistic"}
LOG = logging.getLogger("handful.worker.test")


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[TestClient, Catalog, int]]:
    """(client, catalog, project id): red, green and blue, 4 images each; no worker runs."""
    catalog = Catalog(tmp_path / "home")
    settings = ServerSettings(preload=False, max_parallel_jobs=0)
    with TestClient(create_app(catalog, settings)) as client:
        pid = client.post("/api/projects", json={"name": "colors"}).json()["id"]
        upload_colors(client, pid, n=4)
        yield client, catalog, pid


def claimed_job(client: TestClient, catalog: Catalog, pid: int) -> int:
    """A job queued through the API and claimed as the runner would before spawning a worker."""
    job = client.post(f"/api/projects/{pid}/jobs", json=TINY).json()
    assert catalog.claim_next_job()["id"] == job["id"]
    return job["id"]


def strike_before(monkeypatch, method: str, action: Callable[[], None]) -> list[int]:
    """Run ``action`` once, when the worker first calls ``Classifier.<method>``; the list
    returned counts the calls (so a test can tell the strike happened)."""
    original, calls = getattr(Classifier, method), []

    def wrapped(self, *args, **kwargs):
        if not calls:
            action()
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Classifier, method, wrapped)
    return calls


def blob_files(catalog: Catalog, rows: list[dict]) -> list[Path]:
    """Every file under blobs/ and tmp/ holding the bytes of ``rows`` (store files and links)."""
    digests = {r["digest"] for r in rows}
    return [p for folder in (catalog.blobs.root, catalog.tmp_dir) for p in Path(folder).rglob("*")
            if p.is_file() and p.name.split(".", 1)[0] in digests]


def delete_class(client: TestClient, pid: int, label: str) -> Callable[[], None]:
    def action() -> None:
        assert client.delete(f"/api/projects/{pid}/classes/{label}").json() == {"deleted": 4}

    return action


def test_deleting_a_class_while_the_job_reads_its_files_trains_on_the_examples_it_started_with(
        server, monkeypatch):
    client, catalog, pid = server
    blue = catalog.list_examples(pid, "blue")[0]
    job_id = claimed_job(client, catalog, pid)
    calls = strike_before(monkeypatch, "embed", delete_class(client, pid, "blue"))
    assert run_job(catalog, job_id, LOG) == 0
    assert calls, "the class should have been deleted between reading the rows and the files"
    job = client.get(f"/api/jobs/{job_id}").json()
    # it failed with "Class 'blue' ... has no usable examples left (... No such file or directory)"
    assert job["status"] == "succeeded", job["message"]
    version = client.get(f"/api/projects/{pid}/versions/{job['version']}").json()
    assert version["classes"] == ["blue", "green", "red"], "the run trains on what it started with"
    assert version["n_examples"] == 12
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"green": 4, "red": 4}
    # the deleted files lived on only as the job's links, which went with the job: no leak
    assert blob_files(catalog, blue) == []
    assert not pinned_dir(catalog, job_id).exists()


def test_without_hard_links_the_job_copies_its_files_and_still_trains_on_all_of_them(
        server, monkeypatch):
    client, catalog, pid = server

    def no_links(src, dst, **kwargs):
        raise PermissionError(errno.EPERM, "hard links not supported here", str(dst))

    monkeypatch.setattr(os, "link", no_links)
    job_id = claimed_job(client, catalog, pid)
    strike_before(monkeypatch, "embed", delete_class(client, pid, "blue"))
    assert run_job(catalog, job_id, LOG) == 0
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "succeeded", job["message"]
    version = client.get(f"/api/projects/{pid}/versions/{job['version']}").json()
    assert version["classes"] == ["blue", "green", "red"]
    assert not pinned_dir(catalog, job_id).exists(), "the copies go with the job"


def test_an_example_whose_file_is_missing_is_skipped_and_listed_in_the_report(server):
    client, catalog, pid = server
    red = catalog.list_examples(pid, "red")[0][0]
    catalog.blobs.delete(red["digest"], red["ext"])  # gone from the store (by hand, say)
    job_id = claimed_job(client, catalog, pid)
    assert run_job(catalog, job_id, LOG) == 0
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "succeeded", "one missing file must not fail the job: " + job["message"]
    version = client.get(f"/api/projects/{pid}/versions/{job['version']}").json()
    report = version["report"]
    assert [s["path"] for s in report["training"]["skipped"]] == [f"#{red['id']} {red['name']}"]
    assert "missing" in report["training"]["skipped"][0]["reason"]
    assert version["n_examples"] == 11


def test_deleting_the_project_mid_training_stops_the_worker_before_it_saves(server, monkeypatch,
                                                                          caplog):
    client, catalog, pid = server
    rows = catalog.training_examples(pid)
    job_id = claimed_job(client, catalog, pid)
    strike_before(monkeypatch, "fit_embeddings",
                  lambda: client.delete(f"/api/projects/{pid}").raise_for_status())
    saves = strike_before(monkeypatch, "save", lambda: None)
    with caplog.at_level(logging.INFO, LOG.name):
        assert run_job(catalog, job_id, LOG) == 0
    assert saves == [], "the next stage's progress report should have stopped the worker"
    assert "its project was deleted" in caplog.text
    assert not (catalog.models_dir / str(pid)).exists()
    assert blob_files(catalog, rows) == [], "the project's files and the job's links are gone"


def test_deleting_the_project_while_the_model_is_written_leaves_no_model_folder(server,
                                                                              monkeypatch):
    client, catalog, pid = server
    job_id = claimed_job(client, catalog, pid)
    # the delete (and its removal of models/<project>) lands just before the worker writes
    saves = strike_before(monkeypatch, "save",
                          lambda: client.delete(f"/api/projects/{pid}").raise_for_status())
    assert run_job(catalog, job_id, LOG) == 0
    assert saves, "the worker should have been writing its model"
    # it left models/<project>/ behind (emptied of job-N only), until the next server start
    assert not (catalog.models_dir / str(pid)).exists()
    assert list(catalog.tmp_dir.iterdir()) == []


def test_a_terminated_worker_removes_its_pinned_files_on_the_way_out(server):
    client, catalog, pid = server
    job_id = claimed_job(client, catalog, pid)
    env = {**os.environ, STEP_DELAY_ENV: "3"}  # each progress report sleeps: time to strike
    cmd = [sys.executable, "-m", "handful.server.worker", "--home", str(catalog.home),
           "--job", str(job_id)]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while client.get(f"/api/jobs/{job_id}").json()["stage"] != "embedding":
            assert proc.poll() is None and time.monotonic() < deadline, "the worker never started"
            time.sleep(0.05)
        assert pinned_dir(catalog, job_id).is_dir(), "the job should hold its files while it runs"
        proc.send_signal(signal.SIGTERM)  # as JobRunner.cancel and stop do
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not pinned_dir(catalog, job_id).exists(), "SIGTERM used to kill it with no clean-up"
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "failed" and "SIGTERM" in job["message"]  # not left 'running'
