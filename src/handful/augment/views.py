"""Feature-space augmentation: embeddings of M augmented views per image, cached.

View ``v`` of an image is made with ``default_rng([seed, v, <content hash>])``, so it depends
only on the file's bytes, the augmentation config, the seed and ``v``; its cache key
combines the same four, next to the plain embeddings under the backbone's fingerprint.

Example:
    >>> views, failures = embed_views(backbone, paths, create_augment("light"), n_views=4)
    >>> views.shape                      # (n_images, 4, dim)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from ..backbones.base import Backbone
from ..cache import FeatureCache
from ..cache.store import content_key
from ..data.images import ImageDecodeError, load_image
from ..errors import DataError
from .pipeline import Augment


def load_array(path: str, short_side: int) -> np.ndarray:
    """Decode ``path`` to uint8 RGB (H, W, 3), shrunk so the short side is at most ``short_side``.

    Raises:
        ImageDecodeError: the file is not a usable image.
    """
    img = load_image(path, draft_size=short_side)
    scale = short_side / min(img.size)
    if scale < 1:
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, dtype=np.uint8)


def view_key(content: str, augment: Augment, seed: int, view: int) -> str:
    """Cache key of one augmented view: content hash + augmentation + seed + view index."""
    blob = f"{content}|augment-{augment.fingerprint}|seed-{seed}|view-{view}".encode()
    return hashlib.blake2b(blob, digest_size=20).hexdigest()


def view_rng(content: str, seed: int, view: int) -> np.random.Generator:
    """The generator for view ``view`` of the file whose content hash is ``content``."""
    return np.random.default_rng([seed, view, int(content[:15], 16)])


def embed_views(
    backbone: Backbone, items: Sequence[str], augment: Augment, n_views: int, seed: int = 0,
    cache: FeatureCache | None = None, batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, dict[int, str]]:
    """Embeddings (n, n_views, dim) of augmented views of image ``items`` and failures.

    Only views missing from ``cache`` are computed; each image is decoded once for all its
    missing views. Rows of unusable images are NaN and their reasons are in the dict.
    """
    if backbone.modality != "image":
        raise DataError(f"Augmented views need image data; backbone '{backbone.name}' embeds "
                        f"{backbone.modality}s. Drop --augment-views for text.")
    cache = cache or FeatureCache(enabled=False)
    out = np.full((len(items), n_views, backbone.dim), np.nan, dtype=np.float32)
    failures: dict[int, str] = {}
    todo: dict[int, list[tuple[int, str]]] = {}
    contents: dict[int, str] = {}
    for i, item in enumerate(items):
        try:
            contents[i] = content_key(item, "image")
        except OSError as err:
            failures[i] = f"cannot be read ({err.strerror})"
            continue
        for v in range(n_views):
            key = view_key(contents[i], augment, seed, v)
            cached = cache.lookup(backbone, key)
            if cached is None:
                todo.setdefault(i, []).append((v, key))
            else:
                out[i, v] = cached
    cache.stats.misses += sum(len(v) for v in todo.values())
    cache.stats.hits += len(contents) * n_views - sum(len(v) for v in todo.values())
    batch: list[tuple[int, int, str, np.ndarray]] = []
    for i in range(len(items)):
        if i in todo:
            _add_views(backbone, items[i], i, contents[i], todo[i], augment, seed, batch, failures)
            if len(batch) >= batch_size:
                _flush(backbone, batch, out, cache)
        if progress:
            progress(1)
    _flush(backbone, batch, out, cache)
    return out, failures


def _add_views(backbone, item, i, content, views, augment, seed, batch, failures) -> None:
    try:
        image = load_array(item, backbone.info.resize_size or 256)
    except ImageDecodeError as err:
        failures[i] = err.reason
        return
    except OSError as err:
        failures[i] = f"cannot be read ({err})"
        return
    for v, key in views:
        augmented = augment(image, view_rng(content, seed, v))
        batch.append((i, v, key, backbone.preprocess(Image.fromarray(augmented))))


def _flush(backbone, batch, out, cache) -> None:
    if not batch:
        return
    embeddings = np.asarray(backbone.embed([b[3] for b in batch]), dtype=np.float32)
    for (i, v, key, _), vector in zip(batch, embeddings):
        out[i, v] = vector
        cache.store(backbone, key, vector)
    batch.clear()


class ViewLookup:
    """Augmented views of pool rows found by their plain embedding, computed on first use.

    K-shot draws hand the head rows of the pool, not indices; a row's bytes identify its
    image (byte-identical files have identical views too, as views depend on content only).

    Example:
        >>> lookup = ViewLookup(clf, pool_examples, X_pool)
        >>> X_views, y_views = lookup.extra(X_pool[drawn])
    """

    def __init__(self, clf, examples, X: np.ndarray):
        self.clf, self.examples = clf, examples
        self.index = {row.tobytes(): i for i, row in enumerate(np.asarray(X))}
        self.views: dict[int, np.ndarray] = {}  # pool index -> (n_views, dim)

    def extra(self, X_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(X_views, y_views)``: every view of the images whose embeddings are ``X_rows``."""
        indices = [self.index[row.tobytes()] for row in np.asarray(X_rows)]
        todo = sorted({i for i in indices if i not in self.views})
        if todo:
            from . import create_augment

            clf = self.clf
            views, failures = embed_views(
                clf._backbone, [self.examples.items[i] for i in todo], create_augment(clf.augment),
                clf.augment_views, clf.random_state, clf._feature_cache(), clf.batch_size)
            for j, i in enumerate(todo):
                self.views[i] = views[j] if j not in failures else views[j][:0]
        labels = np.asarray(self.examples.labels, dtype=object)
        X_views = np.concatenate([self.views[i] for i in indices])
        y_views = np.concatenate([np.repeat(labels[i], len(self.views[i])) for i in indices])
        return X_views, y_views
