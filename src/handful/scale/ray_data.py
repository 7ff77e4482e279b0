"""Scale-out on Ray Data (optional extra ``handful[ray]``): a listing spread over a cluster.

The driver lists the inputs and streams ``{"row", "item"}`` records through
``Dataset.map_batches`` with a pool of model actors (``ActorPoolStrategy``): each actor
builds its backbone (or loads the model from bytes the driver sends, so no node needs the
model directory) once, then runs the same local code path (``iter_embedding_results`` /
``iter_predictions``) on its batches. Results come back to the driver as a stream in the
local ``Results`` shape, so the same resumable writers store them. On a cluster the inputs
must be readable at the same path on every node (a shared or FUSE-mounted file system).
"""

from __future__ import annotations

import logging
import math
import re
import signal
import socket
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import BackboneUnavailableError, DataError, HandfulError
from .batch import Results


class RayAddressError(DataError):
    """A --address whose Ray cluster does not answer."""


MODEL_FILES = ("model.json", "head.safetensors", "backbone.safetensors", "familiarity.safetensors", "model.onnx")


def ignore_ray_notes() -> None:
    """Hide Ray Data's notes on its own deprecated settings: building a ``DataContext`` sets every
    field, so each command printed "warning: `use_polars` is deprecated ..." for settings handful never
    touches and a user cannot change. One targeted filter (set in front, as ``cli.main`` keeps it)."""
    warnings.filterwarnings("ignore", message=r"`\w+` is deprecated", category=DeprecationWarning,
                            module=r"ray\.data\.context\Z")
    # map_batches takes max_restarts (see run_batches) only through **ray_remote_args, which Ray
    # 2.60 calls deprecated without a named replacement: every --ray run printed that note
    warnings.filterwarnings("ignore", message=r"`ray_remote_args` is deprecated")


ignore_ray_notes()


def _ray():
    if threading.current_thread() is threading.main_thread():
        ignore_ray_notes()  # again: a command's start (cli.main) put its own filters in front
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as err:
        raise BackboneUnavailableError("--ray needs the package 'ray[data]', which is not installed. "
                                       "Run `pip install 'handful[ray]'`, or leave out --ray.") from err
    return ray


def require_ray() -> None:
    """Raise ``BackboneUnavailableError`` unless the ray extra is installed: a ``--ray`` command
    calls it first, before it loads a model or writes an output file."""
    _ray()


class RayWorkerError(HandfulError, RuntimeError):
    """A Ray worker failed with an error that is not a handful one (a crash, a lost node)."""


class _DropRecords(logging.Filter):
    """Drop the records of a logger whose message starts with one of ``prefixes``."""

    def __init__(self, *prefixes: str):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


# Ray's notes that are no news to a handful user: "Progress bars disabled. To enable ..." (handful
# turns them off: it shows its own progress); and, when quiet, token auth on (the safe default) and
# the lines Ray Data logs before a worker's error, which handful then says in one line
_BARS_OFF = ("ray.data._internal.progress", _DropRecords("Progress bars disabled"))
_QUIET = (("ray._private.authentication.authentication_token_setup",
           _DropRecords("Token authentication is enabled for this Ray cluster")),
          ("ray.data.exceptions", _DropRecords("Exception occurred in user code")),
          ("ray.data._internal.execution.streaming_executor_state",
           _DropRecords("An exception was raised from a task of operator")))


def _drop(name: str, note: logging.Filter) -> None:
    if note not in logging.getLogger(name).filters:
        logging.getLogger(name).addFilter(note)


def init_ray(address: str | None = None, quiet: bool = False) -> dict:
    """Connect to ``address`` ("auto": the running cluster), or start a local Ray; reuses a
    Ray already initialized in this process (tests start one with ``ray.init(num_cpus=2)``).

    Ray's progress bars are always off (the command shows its own progress on stderr). With
    ``quiet`` (``--json``, ``--csv``) or when stderr is not a terminal, Ray's INFO notes are off
    too ("Started a local Ray instance", execution plans), and so are the notes in ``_QUIET``; its
    other warnings and errors still show.
    """
    ray = _ray()
    quiet = quiet or not sys.stderr.isatty()
    _drop(*_BARS_OFF)
    for name, note in _QUIET if quiet else ():
        _drop(name, note)
    if not ray.is_initialized():
        check_reachable(address)
        with _command_sigterm_kept():
            ray.init(address=address, log_to_driver=False, include_dashboard=False,
                     configure_logging=not quiet)
    if quiet:
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # its bars and Rich's would write over each other on stderr
    ctx.execution_options.verbose_progress = False
    return ray.cluster_resources()


@contextmanager
def _command_sigterm_kept() -> Iterator[None]:
    """``ray.init`` puts its own SIGTERM handler (exit 15; later a C++ stack dump) over the command's,
    which ends a run as Ctrl-C does (exit 130, one line, Ray shut down at exit): keep the command's,
    during the start-up too (Ray's setter is made a no-op meanwhile), and put it back after."""
    on_term = signal.getsignal(signal.SIGTERM)
    utils = sys.modules.get("ray._private.utils")
    setter = getattr(utils, "set_sigterm_handler", None)
    if setter is not None:
        utils.set_sigterm_handler = lambda handler: None
    try:
        yield
    finally:
        if setter is not None:
            utils.set_sigterm_handler = setter
        if threading.current_thread() is threading.main_thread() and callable(on_term):
            signal.signal(signal.SIGTERM, on_term)


def check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Refuse, in one line, a ``host:port`` (or ``ray://host:port``) Ray address that does not
    answer: ``ray.init`` would retry it for minutes, printing C++ lines that name other addresses."""
    if not address or address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # not host:port: Ray reads it (and says what is wrong with it)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise RayAddressError(f"The Ray cluster at --address '{address}' cannot be reached "
                              f"({getattr(err, 'strerror', None) or err}). Start the cluster, check the "
                              "address (or RAY_ADDRESS), or leave out --address to run on a local Ray.") from None


def model_files(model_dir: str | Path, runtime: str = "torch") -> dict[str, bytes]:
    """The files a worker needs to rebuild the model, as bytes (sent through the object store)."""
    model_dir = Path(model_dir)
    if model_dir.suffix == ".onnx":  # an exported file given directly
        return {"model.onnx": model_dir.read_bytes()}
    wanted = [n for n in MODEL_FILES if n != "model.onnx" or runtime == "onnx"]
    return {n: (model_dir / n).read_bytes() for n in wanted if (model_dir / n).is_file()}


class _Worker:
    """One model per actor; ``__call__`` maps a batch of records to rows of values + errors.

    A model that cannot be built here is raised by the first call, not the constructor: Ray Data
    reports a failed call as the user's error, but a failed constructor as an actor death, with
    its own stack trace and "please open an issue on the Ray project".
    """

    def __init__(self, task: str, backbone: str | None = None, files: dict | None = None,
                 runtime: str = "torch", threads: int = 1, batch_size: int = 32, familiarity: bool = False,
                 fingerprint: str | None = None):
        self.task, self.batch_size, self._tmp, self._failure = task, batch_size, None, None
        self.familiarity = familiarity  # predict: each row ends with the input's familiarity
        try:
            self._build(backbone, files, runtime, threads)
            if fingerprint is not None:
                check_same_backbone(self.backbone, backbone, fingerprint)
        except Exception as err:  # noqa: BLE001 (raised again, whole, by __call__)
            self._failure = err

    def _build(self, backbone: str | None, files: dict | None, runtime: str, threads: int) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        if files:  # rebuild the model directory locally on this node
            from ..export.runtime import load_predictor

            self._tmp = tempfile.TemporaryDirectory(prefix="handful-model-")
            for name, blob in files.items():
                (Path(self._tmp.name) / name).write_bytes(blob)
            target = Path(self._tmp.name)
            if "model.json" not in files:
                target = target / "model.onnx"
            self.predictor = load_predictor(target, runtime, cache=False, batch_size=self.batch_size)
            if self.task == "embed":
                self.backbone = self.predictor.backbone_for(self.predictor.modality_)
        else:
            from ..backbones import create_backbone

            self.backbone = create_backbone(backbone)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from .batch import iter_embedding_results, iter_predictions

        if self._failure is not None:
            raise self._failure
        items = [str(x) for x in batch["item"]]
        if self.task == "embed":
            results = iter_embedding_results(self.backbone, items, None, self.batch_size)
            width = self.backbone.dim
        else:
            results = iter_predictions(self.predictor, items, self.batch_size, self.familiarity)
            width = len(self.predictor.classes_) + self.familiarity
        values = np.full((len(items), width), np.nan, dtype=np.float64)
        errors = np.array([""] * len(items), dtype=object)
        for indices, rows, failures in results:
            values[indices] = rows
            for i, reason in failures.items():
                errors[i] = reason
        return {"row": np.asarray(batch["row"]), "values": values, "error": errors}


def check_same_backbone(built, name: str | None, fingerprint: str) -> None:
    """Raise unless ``built`` (what a worker made of ``name``) has the driver's ``fingerprint``:
    a node with another version of handful, or of the plugin that registers ``name``, would
    otherwise write its embeddings into the same file as the driver's backbone."""
    if built.fingerprint != fingerprint:
        raise BackboneUnavailableError(
            f"Backbone '{name}' on this Ray worker is not the one the command built: fingerprint "
            f"{built.fingerprint}, expected {fingerprint}. Install the same handful and backbone "
            "plugins on every node, or leave out --ray.")


def plan_blocks(n_items: int, n_actors: int, chunk: int = 256, batch_size: int = 32
                ) -> tuple[int, int | None, int]:
    """(n_blocks, rows per worker call, n_actors) to spread ``n_items`` over ``n_actors``.

    A call is at most ``chunk`` rows, and small inputs are split too: up to 4 calls per actor (so an
    actor that starts late still gets a share) of at least one forward batch each, and never fewer
    calls than actors while there are items for each. (A fixed ``chunk`` of 256 put 153 images in
    one call: one actor did all the work while the others started for nothing.) Rows per call is
    None when each block is one call: a number would make Ray Data join blocks a row short of it.
    """
    rows = min(chunk, max(min(batch_size, math.ceil(n_items / n_actors)),
                          math.ceil(n_items / (4 * n_actors))))
    n_calls = math.ceil(n_items / rows)
    n_blocks = max(1, min(n_calls, 32 * n_actors))  # big inputs: blocks of many calls
    return n_blocks, (rows if n_blocks < n_calls else None), min(n_actors, n_blocks)


def iter_ray_results(items: Sequence[str], task: str, *, backbone: str | None = None,
                     files: dict | None = None, runtime: str = "torch", batch_size: int = 32,
                     chunk: int = 256, n_actors: int | None = None, cpus_per_actor: float = 1.0,
                     familiarity: bool = False, fingerprint: str | None = None) -> Iterator[Results]:
    """Stream ``Results`` for ``items`` computed by a Ray actor pool (call ``init_ray`` first).
    ``familiarity``: predictions end each row with the input's familiarity (``iter_predictions``).
    ``backbone``: the name to ``create_backbone`` on each worker; ``fingerprint``: the backbone's
    fingerprint on the driver, which every worker's must match (``check_same_backbone``).

    ``n_actors`` defaults to the cluster's CPUs / ``cpus_per_actor``; each actor gets at most
    ``chunk`` items per call (see ``plan_blocks``) and runs torch on ``cpus_per_actor`` threads.
    A worker's failure is raised as its own ``HandfulError``, or as a ``RayWorkerError``.
    """
    ray = _ray()
    if not items:
        return
    if n_actors is None:
        n_actors = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_actor))
    n_blocks, call_rows, n_actors = plan_blocks(len(items), n_actors, chunk, batch_size)
    records = [{"row": i, "item": item} for i, item in enumerate(items)]
    dataset = ray.data.from_items(records, override_num_blocks=n_blocks)
    del records
    # one call in flight per actor: a ready actor must not queue the blocks of those still starting.
    # max_restarts 0: a dead actor fails the run (its --out resumes on a re-run) rather than being
    # restarted. Ray Data's default (restart forever) made Ray's core log an error line on every
    # successful run whose model files (an ONNX file, fine-tuned weights) are too big to go inline:
    # "has constructor arguments in the object store and max_restarts > 0". Passing them by
    # reference does not help: Ray checks references nested in the arguments too.
    dataset = dataset.map_batches(
        _Worker, batch_size=call_rows, batch_format="numpy", num_cpus=cpus_per_actor, max_restarts=0,
        compute=ray.data.ActorPoolStrategy(size=n_actors, max_tasks_in_flight_per_actor=1),
        fn_constructor_kwargs={"task": task, "backbone": backbone, "files": files,
                               "runtime": runtime, "threads": math.ceil(cpus_per_actor),
                               "batch_size": batch_size, "familiarity": familiarity,
                               "fingerprint": fingerprint})
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            rows, values, errors = batch["row"].tolist(), batch["values"], batch["error"]
            ok = [j for j, e in enumerate(errors) if not e]
            failures = {rows[j]: str(e) for j, e in enumerate(errors) if e}
            yield [rows[j] for j in ok], np.asarray(values)[ok], failures
    except ray.exceptions.RayError as err:
        raise worker_error(err) from err


# the error lines of a worker's traceback, as Ray passes it on: "handful.errors.BundleError: ..."
_ERROR_LINE = re.compile(r"^((?:\w+\.)*)(\w+(?:Error|Exception)): (.+)$", re.MULTILINE)


def worker_error(err: Exception) -> HandfulError:
    """The error to raise for a Ray worker's failure ``err``: the worker's own ``HandfulError``
    (Ray passes it on as traceback text), or a ``RayWorkerError`` naming the worker's error (the
    last one not Ray's own wrapper, such as "UserCodeException: UDF failed ...")."""
    from .. import errors

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # Ray colours the worker's name
    found = _ERROR_LINE.findall(text) or [("", type(err).__name__, text.strip().splitlines()[-1])]
    ours = [f for f in found if f[0] == "handful.errors."]
    not_ray = [f for f in found if not f[0].startswith("ray.")]
    _, name, message = (ours or not_ray or found)[-1]
    if ours:  # a plugin or package the driver has and a worker lacks reads as a worker's error
        return getattr(errors, name, RayWorkerError)(f"On a Ray worker: {message}")
    return RayWorkerError(f"A Ray worker failed: {name}: {message} Its full error is in the Ray logs "
                          "(/tmp/ray/session_latest/logs on its node); fix that, or run without --ray "
                          "to see the error here.")
