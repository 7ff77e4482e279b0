"""JobRunner: starts queued training jobs in worker processes, one at a time, and reaps them.

Also ``recover``: run at server start, it marks jobs a dead server left 'running' as failed
and removes what they may have left half-done (unregistered model folders, temp files).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .catalog import Catalog
from .errors import NotFoundError
from .training import pinned_dir

log = logging.getLogger("handful.server")


class JobRunner:
    """A thread that runs at most ``max_parallel`` worker processes (training is CPU-bound)."""

    def __init__(self, catalog: Catalog, on_finished: Callable[[dict], None] | None = None,
                 max_parallel: int = 1, env: dict | None = None):
        self.catalog = catalog
        self.on_finished = on_finished
        self.max_parallel = max_parallel
        self.env = env
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (a job was just created)."""
        self._wake.set()

    def cancel(self, job_id: int) -> bool:
        """Mark the job cancelled and stop its worker; False when it had already ended."""
        ended = self.catalog.finish_job(job_id, "cancelled", "Cancelled by the user.")
        with self._lock:
            proc = self._procs.get(job_id)
        if proc is not None:
            proc.terminate()
        return ended

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop; running jobs are terminated and marked failed."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            procs = dict(self._procs)
        for job_id, proc in procs.items():
            self.catalog.finish_job(job_id, "failed", "Interrupted: the server stopped during "
                                                      "training. Start training again.")
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._reap()
                while len(self._procs) < self.max_parallel and not self._stop.is_set():
                    job = self.catalog.claim_next_job()
                    if job is None:
                        break
                    self._spawn(job)
            except Exception:  # noqa: BLE001  (the runner must survive a bad moment)
                log.exception("job runner error")
            self._wake.wait(0.2)
            self._wake.clear()

    def _spawn(self, job: dict) -> None:
        cmd = [sys.executable, "-m", "handful.server.worker", "--home", str(self.catalog.home),
               "--job", str(job["id"]), "--parent-pid", str(os.getpid())]
        try:
            with open(self.catalog.logs_dir / "worker.log", "ab") as err:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                        env=self.env)
        except OSError as err:  # EMFILE, ENOMEM, EAGAIN: the job must not stay 'running' forever
            log.error("job %s: could not start its worker: %s", job["id"], err)
            self.catalog.finish_job(job["id"], "failed", "The training worker could not be started "
                                    f"({err.strerror or err}). Free memory or open files on the "
                                    "server (or restart it), then start training again.")
            if self.on_finished:
                self.on_finished(self.catalog.get_job(job["id"]))
            return
        with self._lock:
            self._procs[job["id"]] = proc
        self.catalog.set_worker_pid(job["id"], proc.pid)
        log.info("job %s started in worker %s", job["id"], proc.pid)

    def _reap(self) -> None:
        with self._lock:
            done = {j: p for j, p in self._procs.items() if p.poll() is not None}
            for job_id in done:
                del self._procs[job_id]
        for job_id, proc in done.items():
            # a worker killed outright (SIGKILL, the OOM killer) never ran its own clean-up
            shutil.rmtree(pinned_dir(self.catalog, job_id), ignore_errors=True)
            try:
                job = self.catalog.get_job(job_id)
            except NotFoundError:  # its project was deleted meanwhile (the job went with it)
                continue
            if proc.returncode != 0:
                self.catalog.finish_job(job_id, "failed", f"The training worker stopped "
                                                          f"unexpectedly (exit code {proc.returncode}).")
                job = self.catalog.get_job(job_id)
            if job["status"] != "succeeded":
                remove_job_leftovers(self.catalog, job)
            if self.on_finished:
                self.on_finished(job)


def remove_job_leftovers(catalog: Catalog, job: dict) -> None:
    """Delete the model folder (and temp folders) of a job that did not register a version
    (its pinned example links are removed by ``_reap`` for every ended worker)."""
    folder = catalog.models_dir / str(job["project_id"])
    name = f"job-{job['id']}"
    registered = catalog.version_paths()
    for path in folder.glob(f"*{name}*") if folder.is_dir() else ():
        if path not in registered and (path.name == name or path.name.startswith(f".{name}.")):
            shutil.rmtree(path, ignore_errors=True)


def recover(catalog: Catalog) -> dict:
    """Bring the home folder back to a consistent state after a crash or kill -9.

    Jobs left running are marked failed; model folders no version refers to, temp files (half-written
    ONNX exports too) and blobs no example refers to are removed. Registered versions are never touched.
    """
    failed = catalog.recover_interrupted_jobs()
    registered = catalog.version_paths()
    removed = []
    for folder in catalog.models_dir.glob("*/*"):
        if folder not in registered:
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
            else:
                folder.unlink(missing_ok=True)
            removed.append(str(folder.relative_to(catalog.home)))
    missing = [str(p.relative_to(catalog.home)) for p in registered if not p.is_dir()]
    removed += _remove_partial_exports(catalog)
    n_blobs = _remove_orphan_blobs(catalog)
    shutil.rmtree(catalog.tmp_dir, ignore_errors=True)
    catalog.tmp_dir.mkdir(exist_ok=True)
    summary = {"failed_jobs": failed, "removed": removed, "missing_versions": missing,
               "removed_blobs": n_blobs}
    if failed or removed or missing or n_blobs:
        log.warning("recovered after an unclean stop: %s", summary)
    return summary


def _remove_partial_exports(catalog: Catalog) -> list[str]:
    """Delete the temp files of ONNX exports a killed server left (``export_onnx`` writes
    ``.NAME.tmp-XXXX.onnx`` beside its output, then renames it): those of ``--runtime onnx`` in
    home/onnx/ and of the ONNX download in home/exports/<project>/. Finished exports stay."""
    home = catalog.home
    removed = []
    for file in [*home.glob("onnx/.*.tmp-*"), *home.glob("exports/*/.*.tmp-*")]:
        if file.is_file():
            file.unlink(missing_ok=True)
            removed.append(str(file.relative_to(home)))
    return removed


def _remove_orphan_blobs(catalog: Catalog) -> int:
    used = catalog.referenced_digests()
    n = 0
    for file in Path(catalog.blobs.root).glob("*/*"):
        if file.name.startswith(".tmp-") or file.name.split(".", 1)[0] not in used:
            file.unlink(missing_ok=True)
            n += 1
    return n
