"""The training worker: a separate process per job, so the server keeps answering.

Started by ``JobRunner`` as ``python -m handful.server.worker --home H --job N``. It reports
progress to the catalog, stops when the job is cancelled there, exits when the server that
started it dies, and never leaves a half-written model (see ``training.train_job``).
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
import traceback

from ..errors import HandfulError
from .catalog import Catalog
from .training import train_job

STEP_DELAY_ENV = "HANDFUL_WORKER_STEP_DELAY"  # tests: seconds to sleep per progress report


class Cancelled(Exception):
    """The job was cancelled (or marked failed) by the server while it ran."""


class ProgressReporter:
    """Writes (stage, progress, message) to the catalog at most every ``interval`` seconds."""

    def __init__(self, catalog: Catalog, job_id: int, interval: float = 0.25):
        self.catalog, self.job_id, self.interval = catalog, job_id, interval
        self._last, self._stage = 0.0, ""
        self._delay = float(os.environ.get(STEP_DELAY_ENV, "0") or 0)

    def __call__(self, stage: str, progress: float, message: str = "") -> None:
        now = time.monotonic()
        if stage == self._stage and now - self._last < self.interval and progress < 1:
            return
        self._last, self._stage = now, stage
        if not self.catalog.update_progress(self.job_id, stage, progress, message):
            raise Cancelled()
        if self._delay:
            time.sleep(self._delay)


def watch_parent(parent_pid: int, interval: float = 0.5) -> None:
    """Exit this process as soon as ``parent_pid`` is no longer its parent (server killed)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(interval)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_job(catalog: Catalog, job_id: int, log: logging.Logger) -> int:
    """Train one job; returns the process exit code (0 done or cancelled, 1 failed)."""
    job = catalog.get_job(job_id)
    try:
        number = train_job(catalog, job, ProgressReporter(catalog, job_id))
    except Cancelled:
        log.info("job %s cancelled", job_id)
        return 0
    except HandfulError as err:
        catalog.finish_job(job_id, "failed", str(err))
        log.info("job %s failed: %s", job_id, err)
        return 1
    except Exception as err:  # noqa: BLE001  (any crash must end the job with a message)
        log.error("job %s crashed:\n%s", job_id, traceback.format_exc())
        catalog.finish_job(job_id, "failed", f"Training failed ({type(err).__name__}: {err}). "
                                             f"Details in {catalog.logs_dir / 'worker.log'}.")
        return 1
    log.info("job %s done: version %s", job_id, number)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handful.server.worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--job", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)
    if args.parent_pid:
        watch_parent(args.parent_pid)
    try:
        os.nice(5)  # training yields the CPU to prediction requests
    except OSError:
        pass
    catalog = Catalog(args.home)
    logging.basicConfig(filename=catalog.logs_dir / "worker.log", level=logging.INFO,
                        format="%(asctime)s %(process)d %(levelname)s %(message)s")
    return run_job(catalog, args.job, logging.getLogger("handful.worker"))


if __name__ == "__main__":
    raise SystemExit(main())
