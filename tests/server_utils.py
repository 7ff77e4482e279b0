"""Helpers for the server tests: tiny images, job polling, a real `handful serve` subprocess,
and what the headless-Chromium tests share (the browser, its flags, a trained project)."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from handful.evaluate.metrics import classification_report
from handful.server import Catalog

CHROMIUM = "/usr/bin/chromium"  # the system Chromium (`.ci/run` installs it); Playwright drives it
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HAS_CHROMIUM = Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None
NO_CHROMIUM = f"{CHROMIUM} is not installed (apt-get install chromium)"

COLORS = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (40, 60, 220)}


def color_png(color: str, seed: int, size=(40, 32), fmt: str = "PNG") -> bytes:
    """A noisy solid-color image: trivially separable by color, distinct bytes per seed."""
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(COLORS[color]) + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


def upload_colors(client, project_id: int, n: int = 5, colors=("red", "green", "blue"),
                  seed: int = 0) -> None:
    for c_idx, color in enumerate(colors):
        files = [("files", (f"{color}_{i}.png", color_png(color, seed * 1000 + c_idx * 100 + i),
                            "image/png")) for i in range(n)]
        res = client.post(f"/api/projects/{project_id}/examples", files=files, data={"label": color})
        assert res.status_code == 201, res.text
        assert res.json()["n_added"] == n


def wait_job(client, job_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s: {job}")


def train_colors(client, n: int, job: dict, name: str = "colors") -> int:
    """A new project of ``n`` red, green and blue photos each, trained by ``job`` to success: its id."""
    pid = client.post("/api/projects", json={"name": name}).json()["id"]
    upload_colors(client, pid, n=n)
    res = client.post(f"/api/projects/{pid}/jobs", json=job).json()
    assert wait_job(client, res["id"])["status"] == "succeeded"
    return pid


class ServerProcess:
    """`handful serve --port 0 --json` in a subprocess; ``url`` from its first JSON line."""

    def __init__(self, home: Path, env: dict | None = None, args: tuple[str, ...] = ()):
        cmd = [sys.executable, "-c", "from handful.cli.main import run; run()", "serve",
               "--port", "0", "--home", str(home), "--json", *args]
        self.log = open(home.parent / f"{home.name}-server.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log,
                                     env={**os.environ, **(env or {})})
        line = self.proc.stdout.readline().decode()
        if not line:
            raise RuntimeError(f"server did not start: see {self.log.name}")
        self.info = json.loads(line)
        self.url = self.info["url"]
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/api/health", timeout=2)  # any answer (401 too) means up
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise TimeoutError(f"server at {self.url} not ready")

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@contextmanager
def trained_project(tmp_path: Path, name: str, colors: dict[str, str], job: dict,
                    timeout: float = 60.0, n_per_class: int = 3) -> Iterator[tuple[ServerProcess, int]]:
    """(server, project id): a server on a fresh home, one project with ``n_per_class`` images per
    class (label -> color), trained with the ``job`` options."""
    import httpx

    home = tmp_path / "home"
    home.mkdir()
    with ServerProcess(home) as server, httpx.Client(base_url=server.url, timeout=30) as api:
        pid = api.post("/api/projects", json={"name": name}).json()["id"]
        for label, color in colors.items():
            files = [("files", (f"{i}.png", color_png(color, i), "image/png")) for i in range(n_per_class)]
            api.post(f"/api/projects/{pid}/examples", files=files, data={"label": label})
        job_id = api.post(f"/api/projects/{pid}/jobs", json=job).json()["id"]
        assert wait_job(api, job_id, timeout=timeout)["status"] == "succeeded"
        yield server, pid


def seed_version(catalog: Catalog, project_id: int, report: dict, metrics: dict[str, float],
                 classes: list[str], n_examples: int) -> int:
    """Register a version as a finished job does, with ``report`` as its report.json."""
    job = catalog.create_job(project_id, {"backbone": "test_tiny_image"})
    assert catalog.claim_next_job()["id"] == job["id"]
    path = catalog.models_dir / str(project_id) / f"job-{job['id']}"
    path.mkdir(parents=True)
    (path / "report.json").write_text(json.dumps(report))
    return catalog.commit_version(job["id"], path, "test_tiny_image", "LogisticHead(C=1.0)", classes,
                                  n_examples, metrics)


@contextmanager
def serve_report_versions(home: Path, name: str, extras: list[dict]) -> Iterator[tuple[ServerProcess, int]]:
    """A served project with one version per item of ``extras``: a two-class CV report
    updated with it (a ``learning_curve``, an ``advice``, ...). Yields (server, project id)."""
    catalog = Catalog(home)
    pid = catalog.create_project(name, "image")["id"]
    for extra in extras:
        report = {**cv_report(["a", "a", "b", "b"], ["a", "a", "b", "b"], ["a", "b"]), **extra}
        seed_version(catalog, pid, report, {"accuracy": 1.0}, ["a", "b"], 12)
    catalog.close()
    with ServerProcess(home) as server:
        yield server, pid


class InterleavedCatalog(Catalog):
    """Runs ``between`` once, in another thread (its own connection, as the worker would), just
    before the first read whose SQL contains ``strike_on``: where a concurrent commit can land."""

    def __init__(self, home):
        self.between: Callable[[], None] | None = None  # set first: the catalog reads as it opens
        self.strike_on = ""
        super().__init__(home)

    def _strike(self, sql: str) -> None:
        if self.between is None or self.strike_on not in sql:
            return
        action, self.between = self.between, None
        errors: list[BaseException] = []

        def run() -> None:
            try:
                action()
            except BaseException as err:  # noqa: BLE001  (re-raised in the test's thread)
                errors.append(err)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(30)
        assert not thread.is_alive(), "the concurrent commit should not wait for a reader (WAL)"
        if errors:
            raise errors[0]

    def _one(self, sql: str, args: tuple = ()):
        self._strike(sql)
        return super()._one(sql, args)

    def _all(self, sql: str, args: tuple = ()):
        self._strike(sql)
        return super()._all(sql, args)


def seed_mistake(home, renames: list[tuple[str, str]]) -> tuple[int, int]:
    """(project id, example id): a text project whose v1 took 'purr?' (labeled cat) for a dog;
    then the classes are renamed (old, new) in turn."""
    catalog = Catalog(home)
    pid = catalog.create_project("pets", "text")["id"]
    ids = {}
    for label, texts in {"cat": ["meow", "purr?"], "dog": ["woof", "bark"]}.items():
        for text in texts:
            ids[text], _ = catalog.add_example(pid, label, f"digest-{text}", text, text=text)
    report = cv_report(["cat"] * 2 + ["dog"] * 2, ["cat", "dog", "dog", "dog"], ["cat", "dog"])
    report["evaluation"]["mistakes"] = [{"example": f"#{ids['purr?']} purr?", "label": "cat",
                                         "predicted": "dog", "confidence": 0.9}]
    seed_version(catalog, pid, report, {"accuracy": 0.75}, ["cat", "dog"], 4)
    for old, new in renames:
        catalog.rename_class(pid, old, new)
    catalog.close()
    return pid, ids["purr?"]


def cv_report(y_true: list[str], y_pred: list[str], classes: list[str]) -> dict:
    evaluation = classification_report(y_true, y_pred, classes)
    evaluation.update(mistakes=[], scheme="3-fold stratified CV, out-of-fold predictions", note="")
    return {"evaluation": evaluation, "learning_curve": None, "leaderboard": None}
