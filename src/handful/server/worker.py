"""The training worker: a separate process per job, so the server keeps answering.

Started by ``JobRunner`` as ``python -m handful.server.worker --home H --job N``. It reports
progress to the catalog, stops at the next report once the job is cancelled there or deleted
with its project (or at once on SIGTERM, cleaning up), exits when the server that started it
dies, and never leaves a half-written model (see ``training.train_job``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
import traceback

from ..errors import HandfulError
from .catalog import Catalog
from .errors import NotFoundError
from .training import train_job

STEP_DELAY_ENV = "HANDFUL_WORKER_STEP_DELAY"  # tests: seconds to sleep per progress report


class Cancelled(BaseException):
    """The job was cancelled, marked failed or deleted (with its project) while it ran.

    A BaseException, as KeyboardInterrupt is: an ``except Exception`` around a file read or
    a progress call must not swallow it and train on.
    """


def stop_on_sigterm() -> None:
    """Make SIGTERM (``JobRunner.cancel``, ``stop``) raise ``Cancelled`` in the training, so its
    clean-up runs (pinned files, the unfinished model folder); a second SIGTERM kills at once."""

    def handle(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise Cancelled()

    signal.signal(signal.SIGTERM, handle)


class ProgressReporter:
    """Writes (stage, progress, message) to the catalog at most every ``interval`` seconds, and
    raises ``Cancelled`` at any report once the job is no longer running: a report between
    writes still reads the job's status (a cheap read), so a cancel stops the job at the next
    report, e.g. after the current fit of the model search, not up to ``interval`` later."""

    def __init__(self, catalog: Catalog, job_id: int, interval: float = 0.25):
        self.catalog, self.job_id, self.interval = catalog, job_id, interval
        self._last, self._stage = 0.0, ""
        self._delay = float(os.environ.get(STEP_DELAY_ENV, "0") or 0)

    def __call__(self, stage: str, progress: float, message: str = "") -> None:
        now = time.monotonic()
        if stage == self._stage and now - self._last < self.interval and progress < 1:
            if not self.catalog.job_running(self.job_id):
                raise Cancelled()
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
    try:
        job = catalog.get_job(job_id)
        number = train_job(catalog, job, ProgressReporter(catalog, job_id))
    except Cancelled:
        # a no-op when the job was cancelled, failed or deleted already; else a stray SIGTERM
        catalog.finish_job(job_id, "failed", "The training worker was stopped (SIGTERM) before it "
                                             "finished. Start training again.")
        log.info("job %s %s", job_id, "stopped" if _job_exists(catalog, job_id)
                 else "stopped: its project was deleted")
        return 0
    except HandfulError as err:
        if isinstance(err, NotFoundError) and not _job_exists(catalog, job_id):
            log.info("job %s stopped: its project was deleted", job_id)  # its jobs went with it
            return 0
        catalog.finish_job(job_id, "failed", str(err))
        log.info("job %s failed: %s", job_id, err)
        return 1
    except Exception as err:  # noqa: BLE001  (any crash must end the job with a message)
        log.error("job %s crashed:\n%s", job_id, traceback.format_exc())
        catalog.finish_job(job_id, "failed", f"Training failed ({type(err).__name__}: {err}). "
                                             f"Details in {catalog.logs_dir / 'worker.log'}.")
        return 1
    log.info("job %s %s", job_id, f"done: version {number}" if number is not None
             else "stopped before registering its model (cancelled or project deleted)")
    return 0


def _job_exists(catalog: Catalog, job_id: int) -> bool:
    try:
        catalog.get_job(job_id)
    except NotFoundError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handful.server.worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--job", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)
    if args.parent_pid:
        watch_parent(args.parent_pid)
    stop_on_sigterm()
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
