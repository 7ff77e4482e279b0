"""A training worker killed outright (SIGKILL, the OOM killer) while the server runs: the runner
that notices it died removes the job's pinned example links, not just the next restart."""

from __future__ import annotations

import os
import signal
import time

from fastapi.testclient import TestClient

from handful.server import Catalog, ServerSettings, create_app
from handful.server.runner import JobRunner
from handful.server.training import pinned_dir
from handful.server.worker import STEP_DELAY_ENV
from server_utils import upload_colors


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_killed_worker_s_pinned_links_are_removed_by_the_runner(tmp_path):
    catalog = Catalog(tmp_path / "home")
    settings = ServerSettings(preload=False, max_parallel_jobs=0)  # the app's runner starts nothing
    with TestClient(create_app(catalog, settings)) as client:
        pid = client.post("/api/projects", json={"name": "colors"}).json()["id"]
        upload_colors(client, pid, n=3)
        job_id = client.post(f"/api/projects/{pid}/jobs",
                             json={"backbone": "test_tiny_image", "head": "logistic"}).json()["id"]
        runner = JobRunner(catalog, env={**os.environ, STEP_DELAY_ENV: "3"})  # slow steps: time to strike
        runner.start()
        try:
            pins = pinned_dir(catalog, job_id)
            _wait(lambda: pins.is_dir() and any(pins.iterdir()), 60, "the worker to pin its files")
            os.kill(catalog.get_job(job_id)["worker_pid"], signal.SIGKILL)  # no clean-up of its own
            _wait(lambda: catalog.get_job(job_id)["status"] == "failed", 30, "the runner to reap it")
            # the runner marks the job failed and then cleans up, in one pass of its loop
            _wait(lambda: not pins.exists(), 5, "the pinned links to go")
        finally:
            runner.stop()
        assert "exit code -9" in catalog.get_job(job_id)["message"]
        assert not pins.exists(), "the links stayed in tmp/ until the next server start"
