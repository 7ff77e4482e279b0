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
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import BackboneUnavailableError
from .batch import Results

MODEL_FILES = ("model.json", "head.safetensors", "backbone.safetensors", "model.onnx")


def ignore_ray_notes() -> None:
    """Hide Ray Data's notes on its own deprecated settings: building a ``DataContext`` sets every
    field, so each command printed "warning: `use_polars` is deprecated ..." for settings handful never
    touches and a user cannot change. One targeted filter (set in front, as ``cli.main`` keeps it)."""
    warnings.filterwarnings("ignore", message=r"`\w+` is deprecated", category=DeprecationWarning,
                            module=r"ray\.data\.context\Z")


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


def init_ray(address: str | None = None, quiet: bool = False) -> dict:
    """Connect to ``address`` ("auto": the running cluster), or start a local Ray; reuses a
    Ray already initialized in this process (tests start one with ``ray.init(num_cpus=2)``)."""
    ray = _ray()
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, include_dashboard=False,
                 configure_logging=not quiet)
    if quiet:
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = not quiet
    ctx.execution_options.verbose_progress = False
    return ray.cluster_resources()


def model_files(model_dir: str | Path, runtime: str = "torch") -> dict[str, bytes]:
    """The files a worker needs to rebuild the model, as bytes (sent through the object store)."""
    model_dir = Path(model_dir)
    if model_dir.suffix == ".onnx":  # an exported file given directly
        return {"model.onnx": model_dir.read_bytes()}
    wanted = [n for n in MODEL_FILES if n != "model.onnx" or runtime == "onnx"]
    return {n: (model_dir / n).read_bytes() for n in wanted if (model_dir / n).is_file()}


class _Worker:
    """One model per actor; ``__call__`` maps a batch of records to rows of values + errors."""

    def __init__(self, task: str, backbone: str | None = None, files: dict | None = None,
                 runtime: str = "torch", threads: int = 1, batch_size: int = 32):
        import torch

        torch.set_num_threads(max(1, threads))
        self.task, self.batch_size = task, batch_size
        self._tmp = None
        if files:  # rebuild the model directory locally on this node
            from ..export.runtime import load_predictor

            self._tmp = tempfile.TemporaryDirectory(prefix="handful-model-")
            for name, blob in files.items():
                (Path(self._tmp.name) / name).write_bytes(blob)
            target = Path(self._tmp.name)
            if "model.json" not in files:
                target = target / "model.onnx"
            self.predictor = load_predictor(target, runtime, cache=False, batch_size=batch_size)
            if task == "embed":
                self.backbone = self.predictor.backbone_for(self.predictor.modality_)
        else:
            from ..backbones import create_backbone

            self.backbone = create_backbone(backbone)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from .batch import iter_embedding_results, iter_predictions

        items = [str(x) for x in batch["item"]]
        if self.task == "embed":
            results = iter_embedding_results(self.backbone, items, None, self.batch_size)
            width = self.backbone.dim
        else:
            results = iter_predictions(self.predictor, items, self.batch_size)
            width = len(self.predictor.classes_)
        values = np.full((len(items), width), np.nan, dtype=np.float64)
        errors = np.array([""] * len(items), dtype=object)
        for indices, rows, failures in results:
            values[indices] = rows
            for i, reason in failures.items():
                errors[i] = reason
        return {"row": np.asarray(batch["row"]), "values": values, "error": errors}


def iter_ray_results(items: Sequence[str], task: str, *, backbone: str | None = None,
                     files: dict | None = None, runtime: str = "torch", batch_size: int = 32,
                     chunk: int = 256, n_actors: int | None = None, cpus_per_actor: float = 1.0
                     ) -> Iterator[Results]:
    """Stream ``Results`` for ``items`` computed by a Ray actor pool (call ``init_ray`` first).

    ``n_actors`` defaults to the cluster's CPUs / ``cpus_per_actor``; each actor gets
    ``chunk`` items per call and runs torch on ``cpus_per_actor`` threads.
    """
    ray = _ray()
    if not items:
        return
    if n_actors is None:
        n_actors = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_actor))
    records = [{"row": i, "item": item} for i, item in enumerate(items)]
    n_blocks = max(1, min(math.ceil(len(items) / chunk), 32 * n_actors))
    n_actors = min(n_actors, n_blocks)  # an idle actor would only cost its start-up
    dataset = ray.data.from_items(records, override_num_blocks=n_blocks)
    del records
    dataset = dataset.map_batches(
        _Worker, batch_size=chunk, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=n_actors), num_cpus=cpus_per_actor,
        fn_constructor_kwargs={"task": task, "backbone": backbone, "files": files,
                               "runtime": runtime, "threads": math.ceil(cpus_per_actor),
                               "batch_size": batch_size})
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        rows, values, errors = batch["row"].tolist(), batch["values"], batch["error"]
        ok = [j for j, e in enumerate(errors) if not e]
        failures = {rows[j]: str(e) for j, e in enumerate(errors) if e}
        yield [rows[j] for j in ok], np.asarray(values)[ok], failures
