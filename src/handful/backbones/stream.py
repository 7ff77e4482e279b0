"""Batched embedding with decoding overlapped with the forward pass, bad items reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..data.images import ImageDecodeError
from .base import Backbone

Progress = Callable[[int], None]  # called with the number of items just finished


def preprocess_batch(backbone: Backbone, items: Sequence[str], offset: int = 0, pool=None
                     ) -> tuple[list[int], list, dict[int, str]]:
    """Preprocess ``items`` (on ``pool``'s threads if given); returns (ok indices, inputs,
    {index: reason}), indices counted from ``offset``; unreadable files are reasons, not errors."""
    results = list(pool.map(lambda it: _try_preprocess(backbone, it), items)) if pool else [
        _try_preprocess(backbone, it) for it in items]
    ok, inputs, bad = [], [], {}
    for i, (value, reason) in enumerate(results):
        if reason is None:
            ok.append(offset + i)
            inputs.append(value)
        else:
            bad[offset + i] = reason
    return ok, inputs, bad


def _try_preprocess(backbone: Backbone, item: str):
    try:
        return backbone.preprocess(item), None
    except ImageDecodeError as err:
        return None, err.reason
    except OSError as err:
        return None, f"cannot be read ({err})"


def iter_embeddings(
    backbone: Backbone, items: Sequence[str], batch_size: int = 32, n_workers: int = 2
) -> Iterator[tuple[list[int], np.ndarray, dict[int, str]]]:
    """Yield ``(indices, embeddings (len(indices), dim), {index: reason})`` batch by batch.

    The next batch is decoded on worker threads while the current one runs through the
    network (PIL releases the GIL while decoding), so memory stays at about two batches.
    """
    starts = list(range(0, len(items), batch_size))
    if not starts:
        return
    decode_pool = ThreadPoolExecutor(max(1, n_workers)) if backbone.modality == "image" else None
    runner = ThreadPoolExecutor(1)
    try:
        pending = runner.submit(preprocess_batch, backbone, items[0:batch_size], 0, decode_pool)
        for k in range(len(starts)):
            ok, inputs, bad = pending.result()
            if k + 1 < len(starts):
                nxt = starts[k + 1]
                pending = runner.submit(preprocess_batch, backbone,
                                        items[nxt:nxt + batch_size], nxt, decode_pool)
            embeddings = (backbone.embed(inputs) if inputs
                          else np.zeros((0, backbone.dim), dtype=np.float32))
            yield ok, np.asarray(embeddings, dtype=np.float32), bad
    finally:
        runner.shutdown(wait=True, cancel_futures=True)
        if decode_pool:
            decode_pool.shutdown(wait=True, cancel_futures=True)


def embed_items(
    backbone: Backbone, items: Sequence[str], batch_size: int = 32,
    progress: Progress | None = None,
) -> tuple[np.ndarray, dict[int, str]]:
    """Embed all ``items``: (n, dim) float32 (rows of failed items are NaN) and failures."""
    out = np.full((len(items), backbone.dim), np.nan, dtype=np.float32)
    failures: dict[int, str] = {}
    for indices, embeddings, bad in iter_embeddings(backbone, items, batch_size):
        out[indices] = embeddings
        failures.update(bad)
        if progress:
            progress(len(indices) + len(bad))
    return out, failures
