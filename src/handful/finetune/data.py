"""Images held in memory for training: decode once, split off validation, batch with augmentation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from ..augment.views import load_array
from ..data import Examples, ImageDecodeError
from ..data.duplicates import duplicate_groups, group_members, has_copies, members_of, representatives
from ..errors import DataError


@dataclass
class ImageSet:
    """Decoded uint8 RGB images (each ``(H, W, 3)``), integer labels and the class names."""

    images: list[np.ndarray]
    labels: np.ndarray  # (n,) int64 indices into classes
    classes: tuple[str, ...]
    groups: np.ndarray | None = None  # (n,) byte-identical files share a group (duplicate_groups)

    def subset(self, indices: np.ndarray) -> ImageSet:
        groups = None if self.groups is None else self.groups[indices]
        return ImageSet([self.images[i] for i in indices], self.labels[indices], self.classes, groups)

    def __len__(self) -> int:
        return len(self.images)


def load_image_set(examples: Examples, short_side: int, classes: tuple[str, ...] | None = None,
                   progress: Callable[[int], None] | None = None) -> tuple[ImageSet, Examples]:
    """Decode every image of ``examples`` (short side at most ``short_side``) on 2 threads.

    Unusable files move to ``examples.skipped``; returns the images and the kept examples.
    """
    if examples.modality != "image":
        raise DataError(f"Training a network needs images; {examples.source} holds "
                        f"{examples.modality}s. Use `handful train` for text.")

    def decode(path: str):
        try:
            return load_array(path, short_side), None
        except ImageDecodeError as err:
            return None, err.reason
        except OSError as err:
            return None, f"cannot be read ({err})"

    images, bad = [], {}
    with ThreadPoolExecutor(2) as pool:
        for i, (image, reason) in enumerate(pool.map(decode, examples.items)):
            if reason is None:
                images.append(image)
            else:
                bad[i] = reason
            if progress:
                progress(1)
    kept = examples.without(bad) if bad else examples
    lost = sorted(set(examples.labels) - set(kept.labels))
    if lost:
        files = "1 file" if len(bad) == 1 else f"{len(bad)} files"
        raise DataError(f"Class '{lost[0]}' in {examples.source} has no readable images left "
                        f"({files} skipped). Add at least 1 readable image per class.")
    classes = classes or kept.classes
    index = {c: k for k, c in enumerate(classes)}
    labels = np.array([index[label] for label in kept.labels], dtype=np.int64)
    return ImageSet(images, labels, tuple(classes), duplicate_groups(kept)), kept


def split_validation(labels: np.ndarray, fraction: float, seed: int,
                     groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train indices, validation indices); no validation when a class has < 3
    examples or ``fraction`` is 0 (every class keeps at least 2 for training).

    With copies in ``groups``, groups are split as one (by their first example's label), so no
    validation image has a copy in training.
    """
    if has_copies(groups):
        members = group_members(groups)
        train, val = split_validation(labels[representatives(members)], fraction, seed)
        return members_of(train, members), members_of(val, members)
    counts = np.bincount(labels)
    if fraction <= 0 or counts.min() < 3:
        return np.arange(len(labels)), np.array([], dtype=np.int64)
    rng = np.random.default_rng(seed)
    val = []
    for k, count in enumerate(counts):
        members = rng.permutation(np.flatnonzero(labels == k))
        n_val = min(count - 2, max(1, round(fraction * count)))
        val.extend(members[:n_val])
    val = np.sort(np.array(val, dtype=np.int64))
    return np.setdiff1d(np.arange(len(labels)), val), val


def center_square(image: np.ndarray, size: int) -> np.ndarray:
    """Short side resized to ``size``, then the central ``size`` x ``size`` crop."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    if max(new_w, new_h) > 4 * size:  # a strip (40000x1 would resize to 10,240,000x256):
        side = min(height, width)       # crop the central square first, then resize it
        top, left = (height - side) // 2, (width - side) // 2
        return cv2.resize(image[top:top + side, left:left + side], (size, size), interpolation=interp)
    image = cv2.resize(image, (new_w, new_h), interpolation=interp)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return image[top:top + size, left:left + size]


def batch_indices(n: int, batch_size: int, rng: np.random.Generator | None) -> Iterator[np.ndarray]:
    """Index batches over ``n`` items, shuffled when ``rng`` is given."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
