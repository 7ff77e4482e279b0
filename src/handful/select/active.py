"""Which examples to label next: uncertain ones, spread out so they are not near-duplicates.

Uncertainty is ``1 - (p_top1 - p_top2)``: the margin between the two likeliest classes is
where one more label moves the decision boundary most. Picking the top ``n`` by
uncertainty alone tends to return ``n`` views of the same confusing thing, so the most
uncertain candidates are chosen greedily with diversity: each step takes the candidate that
maximizes ``uncertainty * distance to the nearest one already picked`` (a k-center greedy
weighted by uncertainty), and near-duplicates of a picked item are never taken.

Near-duplicates are items within ``DUPLICATE_DISTANCE`` in the embedding space and, for images,
pictures whose small grey thumbnails correlate above ``SAME_PICTURE``: a resized or re-encoded
copy of a photo can sit as far from it in the embedding space as a different photo does
(hymenoptera, efficientnet_lite2: a half-size copy 0.22-0.37 away, distinct photos 0.28 and up),
and three versions of one ant picture made the 20 suggestions.

Inputs unlike the training examples (``evaluate.familiarity``) look maximally uncertain to the
model because they belong to none of its classes: ``rank_familiar_first`` lets them fill only the
places the familiar inputs leave (hymenoptera + 20 flowers5 photos: 12 of the 20 picks were flowers,
0 after). ``rank_unlabeled`` is the ranking the CLI and the server both use.

While a model has fewer than ``TYPICAL_BELOW`` labels per class and its labeled examples'
embeddings are known, ``rank_unlabeled`` picks typical items of the clusters no label covers
(``select.typical``, TypiClust) instead: uncertainty from 1-2 labels per class is a guess
(``benchmarks/active_learning.py``: the 2nd label per class took hymenoptera's logistic head to 88.0%,
against 75.4% by uncertainty x diversity and 76.9% at random; mean over 1-5 labels per class, +1.5 to
+7.3 points over random on hymenoptera, flowers5 and TREC, where the old ranking gave -1.3 to +3.3).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

POOL_FACTOR = 5  # candidates considered: the POOL_FACTOR * n most uncertain (at least 50)
DUPLICATE_DISTANCE = 0.02  # cosine distance under which two items count as the same picture
THUMB_SIDE = 16  # px of the grey thumbnail that identifies a picture
# correlation of the thumbnails above which two images are one picture: copies resized to half
# or re-encoded at JPEG quality 70 gave > 0.999; distinct photos at most 0.96 (671 flowers5 images)
SAME_PICTURE = 0.98
TYPICAL_BELOW = 2  # labels per class under which the typical picks are taken (chosen on images)


def margin_uncertainty(proba: np.ndarray) -> np.ndarray:
    """``1 - (p1 - p2)`` per row of ``proba`` (n, n_classes): 1 = a coin toss, 0 = certain."""
    top2 = -np.sort(-proba, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def candidate_pool(proba: np.ndarray, n: int) -> np.ndarray:
    """Indices of the items ``rank_for_labeling`` chooses among: the ``POOL_FACTOR * n`` (at
    least 50) most uncertain, most uncertain first."""
    order = np.argsort(-margin_uncertainty(proba), kind="stable")
    return order[: max(POOL_FACTOR * n, 50)]


def rank_for_labeling(embeddings: np.ndarray, proba: np.ndarray, n: int,
                      signatures: np.ndarray | None = None) -> list[int]:
    """Indices of up to ``n`` items to label next, best first.

    Args:
        embeddings: (m, dim) embeddings of the unlabeled items.
        proba: (m, n_classes) the model's probabilities for them.
        n: how many to pick.
        signatures: (m, k) unit rows (``picture_signatures``); items whose rows correlate above
            ``SAME_PICTURE`` with a pick are not taken. None: the embeddings alone decide.

    Example:
        >>> rank_for_labeling(X_unlabeled, clf.head_.predict_proba(X_unlabeled), 20)
    """
    uncertainty = margin_uncertainty(proba)
    pool = candidate_pool(proba, n)
    Z = embeddings[pool] - embeddings[pool].mean(axis=0)
    Z = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
    # copies by the embeddings themselves too: centred on a pool of one picture and its copy, both
    # rows are 0 and "distance 1" apart, so a flat picture's copy (no thumbnail signature) was listed
    R = embeddings[pool] / np.maximum(np.linalg.norm(embeddings[pool], axis=1, keepdims=True), 1e-12)
    S = None if signatures is None else np.asarray(signatures, dtype=np.float32)[pool]
    u = uncertainty[pool] + 1e-6  # a certain item can still be picked for coverage
    nearest = np.full(len(pool), 2.0)  # cosine distance to the nearest pick (max 2)
    copy = np.zeros(len(pool), dtype=bool)  # the same picture as a pick
    picked: list[int] = []
    for _ in range(min(n, len(pool))):
        score = np.where((nearest > DUPLICATE_DISTANCE) & ~copy, u * nearest, -np.inf)
        score[picked] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        picked.append(best)
        nearest = np.minimum(nearest, 1.0 - Z @ Z[best])
        copy |= R @ R[best] > 1 - DUPLICATE_DISTANCE
        if S is not None:
            copy |= S @ S[best] > SAME_PICTURE
    return [int(pool[i]) for i in picked]


def rank_familiar_first(rank: Callable[[np.ndarray, int], list[int]], familiar: np.ndarray,
                        n: int) -> list[int]:
    """Up to ``n`` indices, best first: ``rank(indices, k)`` (up to ``k`` picks, as positions in
    ``indices``) run on the familiar items, then on the unfamiliar ones for the places left.

    Args:
        rank: ranks a subset of the items, e.g. ``rank_for_labeling`` on its rows.
        familiar: (m,) bool, True where an item is like the training examples.
        n: how many to pick.

    Example:
        >>> rank_familiar_first(lambda idx, k: rank_for_labeling(X[idx], proba[idx], k), familiar, 20)
    """
    picked: list[int] = []
    for group in (np.flatnonzero(familiar), np.flatnonzero(~np.asarray(familiar, dtype=bool))):
        if len(picked) < n and len(group):
            picked += [int(group[i]) for i in rank(group, n - len(picked))]
    return picked


def ranked_by(labeled: np.ndarray | None, n_classes: int) -> Literal["typical", "uncertain"]:
    """How ``rank_unlabeled`` ranks for a model of ``n_classes`` whose labeled examples' embeddings
    are ``labeled``: ``"typical"`` while they are under ``TYPICAL_BELOW`` per class, else
    ``"uncertain"`` (also when they are not known)."""
    return "typical" if labeled is not None and len(labeled) < TYPICAL_BELOW * n_classes else "uncertain"


def rank_unlabeled(embeddings: np.ndarray, proba: np.ndarray, n: int, paths: Sequence[str] | None = None,
                   familiar: np.ndarray | None = None, labeled: np.ndarray | None = None) -> list[int]:
    """Rows of ``embeddings`` to label next, best first, as ``handful suggest`` and the server's
    ``/suggest`` rank them: images (``paths`` given) with copies of a pick left out, texts by their
    embeddings; with ``familiar`` (m,) bool the unfamiliar ones only fill the places the familiar
    ones leave (``rank_familiar_first``), None ranks all together. With ``labeled`` (k, dim), the
    embeddings of the model's labeled examples, and fewer than ``TYPICAL_BELOW`` of them per class,
    typical items of the clusters they leave uncovered come first (``select.typical``).

    Example:
        >>> rank_unlabeled(X, proba, 20, paths, clf.familiarity_.scores(X) >= clf.familiarity_.threshold)
    """
    typical = ranked_by(labeled, proba.shape[1]) == "typical"

    def rank(rows: np.ndarray, k: int) -> list[int]:
        if typical:
            return rank_typical_distinct(embeddings[rows], k, labeled,
                                         None if paths is None else [paths[i] for i in rows])
        if paths is None:
            return rank_for_labeling(embeddings[rows], proba[rows], k)
        return rank_images_for_labeling([paths[i] for i in rows], embeddings[rows], proba[rows], k)

    everything = np.arange(len(embeddings))
    return rank(everything, n) if familiar is None else rank_familiar_first(rank, familiar, n)


def left_out(embeddings: np.ndarray, ranked: Sequence[int], n: int, paths: Sequence[str] | None = None,
             familiar: np.ndarray | None = None) -> dict[int, int | None]:
    """Why inputs ``rank_unlabeled`` did not list were left out: ``{row: pick}`` for a near-copy of
    the pick ``ranked`` holds (left out wherever it would rank), ``{row: None}`` for an unfamiliar
    one ranked after the familiar ones when the list was full (``familiar`` as ranked: None when
    mixed). Other rows are not listed for want of room, or (with room) are absent.

    Saying "held back for being unfamiliar" of a dropped copy was false: the list had room, and
    --mix-unfamiliar leaves it out all the same.
    """
    listed = set(int(i) for i in ranked)
    full = len(listed) >= n
    held = (lambda i: familiar is not None and not familiar[i]) if full else (lambda i: False)
    rows = [i for i in range(len(embeddings)) if i not in listed and (not full or held(i))]
    copies = copies_of_picks(embeddings, list(ranked), rows, paths) if rows and listed else {}
    return {i: copies.get(i) for i in rows if i in copies or held(i)}


def copies_of_picks(embeddings: np.ndarray, picks: Sequence[int], rows: Sequence[int],
                    paths: Sequence[str] | None = None) -> dict[int, int]:
    """``{row: pick}`` for each of ``rows`` within ``DUPLICATE_DISTANCE`` of a pick in the embedding
    space or, given ``paths``, the same picture as one (``SAME_PICTURE``): the rankers' copy rules."""
    Z = embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
    sims = Z[list(rows)] @ Z[list(picks)].T  # (n_rows, n_picks)
    nearest, close = sims.argmax(axis=1), sims.max(axis=1) > 1 - DUPLICATE_DISTANCE
    if paths is not None:
        S = picture_signatures([paths[i] for i in [*rows, *picks]])
        corr = S[:len(rows)] @ S[len(rows):].T
        same = corr.max(axis=1) > SAME_PICTURE
        nearest = np.where(same & ~close, corr.argmax(axis=1), nearest)
        close |= same
    return {int(row): int(picks[nearest[k]]) for k, row in enumerate(rows) if close[k]}


def rank_typical_distinct(embeddings: np.ndarray, n: int, labeled: np.ndarray,
                          paths: Sequence[str] | None = None) -> list[int]:
    """``select.typical.rank_typical`` with near-duplicates (and, given ``paths``, copies of a
    picture) of an earlier pick left out: up to ``n`` indices, best first.

    Example:
        >>> rank_typical_distinct(X_unlabeled, 10, X_labeled, paths)
    """
    from .typical import rank_typical

    order = rank_typical(embeddings, min(len(embeddings), 2 * n + 10), len(labeled), labeled,
                         n_clusters=len(labeled) + n)
    Z = embeddings[order] / np.maximum(np.linalg.norm(embeddings[order], axis=1, keepdims=True), 1e-12)
    S = None if paths is None else picture_signatures([paths[i] for i in order])
    kept: list[int] = []
    for i in range(len(order)):
        if len(kept) == n:
            break
        if kept and (np.max(Z[kept] @ Z[i]) > 1 - DUPLICATE_DISTANCE
                     or (S is not None and np.max(S[kept] @ S[i]) > SAME_PICTURE)):
            continue
        kept.append(i)
    return [int(order[i]) for i in kept]


def rank_images_for_labeling(paths: Sequence[str], embeddings: np.ndarray, proba: np.ndarray,
                             n: int) -> list[int]:
    """``rank_for_labeling`` for images, with resized and re-encoded copies of a pick left out;
    only the candidates' thumbnails are decoded.

    Example:
        >>> rank_images_for_labeling(paths, X_unlabeled, clf.head_.predict_proba(X_unlabeled), 20)
    """
    pool = candidate_pool(proba, n)
    signatures = np.zeros((len(paths), THUMB_SIDE * THUMB_SIDE), dtype=np.float32)
    signatures[pool] = picture_signatures([paths[i] for i in pool])
    return rank_for_labeling(embeddings, proba, n, signatures)


def picture_signatures(paths: Sequence[str]) -> np.ndarray:
    """(n, THUMB_SIDE**2) grey thumbnails with the mean removed, unit length: their dot product
    is the correlation of two pictures. A file that cannot be read gets a zero row (no match)."""
    from PIL import Image

    from ..data.images import ImageDecodeError, load_image

    rows = np.zeros((len(paths), THUMB_SIDE * THUMB_SIDE), dtype=np.float32)
    for i, path in enumerate(paths):
        try:
            thumb = load_image(path, draft_size=2 * THUMB_SIDE).convert("L")
        except (ImageDecodeError, OSError):
            continue
        grey = np.asarray(thumb.resize((THUMB_SIDE, THUMB_SIDE), Image.BILINEAR), dtype=np.float32)
        grey = grey.ravel() - grey.mean()
        norm = np.linalg.norm(grey)
        rows[i] = grey / norm if norm > 1e-6 else 0.0  # a flat grey picture matches nothing
    return rows
