"""kill -9 of a real `handful serve` during training, then a restart on the same home folder."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from handful.server.catalog import Catalog
from server_utils import ServerProcess, color_png


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie no one has reaped yet counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def upload(client: httpx.Client, pid: int, colors, n: int, seed: int) -> None:
    for c_idx, color in enumerate(colors):
        files = [("files", (f"{color}{i}.png", color_png(color, seed + 100 * c_idx + i), "image/png"))
                 for i in range(n)]
        assert client.post(f"/api/projects/{pid}/examples", files=files,
                           data={"label": color}).status_code == 201


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(what)


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to watch processes")
def test_kill_9_during_training_leaves_a_consistent_registry(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    options = {"backbone": "test_tiny_image", "head": "logistic"}
    server = ServerProcess(home, env={"HANDFUL_WORKER_STEP_DELAY": "0.4"})
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        pid = client.post("/api/projects", json={"name": "colors"}).json()["id"]
        upload(client, pid, ("red", "blue"), 3, seed=0)
        first = client.post(f"/api/projects/{pid}/jobs", json=options).json()
        wait_for(lambda: client.get(f"/api/jobs/{first['id']}").json()["status"] == "succeeded", 90, "v1")
        (v1_dir,) = (home / "models" / str(pid)).iterdir()
        v1_files = tree_digest(v1_dir)
        upload(client, pid, ("red", "blue"), 2, seed=50)
        second = client.post(f"/api/projects/{pid}/jobs", json=options).json()
        wait_for(lambda: client.get(f"/api/jobs/{second['id']}").json()["progress"] > 0, 90, "v2 running")
        worker = Catalog(home).get_job(second["id"])["worker_pid"]
        assert worker and pid_alive(worker)
        server.kill9()
    finally:
        server.stop()
    # The worker notices its server is gone and exits without registering anything.
    wait_for(lambda: not pid_alive(worker), 10, "worker still running after its server died")

    restarted = ServerProcess(home)
    try:
        client = httpx.Client(base_url=restarted.url, timeout=30)
        job = client.get(f"/api/jobs/{second['id']}").json()
        assert job["status"] == "failed" and job["message"].startswith("Interrupted")
        versions = client.get(f"/api/projects/{pid}/versions").json()
        assert [(v["number"], v["current"]) for v in versions] == [(1, True)]
        assert list((home / "models" / str(pid)).iterdir()) == [v1_dir]  # nothing half-written
        assert tree_digest(v1_dir) == v1_files
        res = client.post(f"/api/projects/{pid}/predict",
                          files=[("files", ("q.png", color_png("blue", 777), "image/png"))])
        assert res.json()["version"] == 1 and res.json()["predictions"][0]["label"] == "blue"
        again = client.post(f"/api/projects/{pid}/jobs", json=options).json()
        wait_for(lambda: client.get(f"/api/jobs/{again['id']}").json()["status"] == "succeeded", 90, "v2")
        assert client.get(f"/api/projects/{pid}").json()["current_version"] == 2
    finally:
        restarted.stop()
    conn = sqlite3.connect(home / "catalog.sqlite")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
