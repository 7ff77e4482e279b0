"""Search backbones x heads x a small grid, all on cached embeddings, with one set of CV folds.

Every backbone is scored on the same stratified folds (they depend only on the labels and the
seed), so the rows of the leaderboard are comparable. A concatenation ``a+b`` is scored on the
two embeddings side by side; nothing is embedded twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..errors import DataError, UnknownNameError
from .search import DEFAULT_CANDIDATES, FitProgress, Leaderboard, cv_splits, search_heads, selection_metric

# Offline backbones searched by ``--backbone auto``, the modality default first (ties go to
# earlier entries), then their concatenation.
AUTO_BACKBONES: dict[str, tuple[str, ...]] = {
    "image": ("efficientnet_lite0", "efficientnet_lite2", "efficientnet_lite0+efficientnet_lite2"),
    "text": ("minilm", "e5_small", "minilm+e5_small"),
}
AUTO_MAX_ITEMS = 5000  # above this many training items, auto uses only the default backbone
SLOW_HEADS = ("mlp",)  # scored only on the backbone that wins with the fast heads


def plain_backbones(names: Sequence[str]) -> list[str]:
    """The distinct single backbones that ``names`` (some of them ``a+b``) need embedded."""
    out: list[str] = []
    for name in names:
        for part in name.split("+"):
            if part not in out:
                out.append(part)
    return out


def stack_embeddings(name: str, embeddings: Mapping[str, np.ndarray]) -> np.ndarray:
    """The embeddings of ``name``: a plain backbone's, or the parts of ``a+b`` side by side."""
    return np.hstack([embeddings[part] for part in name.split("+")])


def search_models(
    embeddings: Mapping[str, np.ndarray], y: np.ndarray, backbones: Sequence[str] | None = None,
    candidates=DEFAULT_CANDIDATES, random_state: int = 0,
    on_backbone: Callable[[str], None] | None = None, groups: np.ndarray | None = None,
    on_fit: FitProgress | None = None,
) -> Leaderboard:
    """Cross-validated score of every (backbone, head, params); best first.

    Every row is scored in one metric, chosen from the labels (``selection_metric``: balanced
    accuracy when the classes are imbalanced, else accuracy). Slow heads (``SLOW_HEADS``) are
    scored only on the backbone that did best with the others, which keeps the search to seconds.

    Args:
        embeddings: ``{backbone name: (n, dim) embeddings}`` of the same examples, in order.
        y: the labels (n,).
        backbones: names to score, plain or ``a+b`` (default: the keys of ``embeddings``).
        candidates: ``(head, params)`` pairs, simplest first.
        groups: (n,) copies of one example share a group, kept on one side of every fold.
        on_fit: called after each fold fit as ``(fits done, fits in all, label)``, counted over
            the whole search (see ``search_heads``).

    Example:
        >>> board = search_models({"efficientnet_lite0": X0, "efficientnet_lite2": X2}, y,
        ...                       ["efficientnet_lite0", "efficientnet_lite2",
        ...                        "efficientnet_lite0+efficientnet_lite2"])
        >>> board.best["backbone"], board.best["label"]
    """
    backbones = list(backbones or embeddings)
    if not backbones:
        raise DataError("search_models needs the embeddings of at least one backbone; got none.")
    missing = [part for part in plain_backbones(backbones) if part not in embeddings]
    if missing:
        raise UnknownNameError(f"No embeddings for backbone '{missing[0]}'; the embeddings given are of "
                               f"{', '.join(embeddings) or 'no backbone'}. Embed it first or drop it.")
    fast = [c for c in candidates if c[0] not in SLOW_HEADS] or list(candidates)
    slow = [c for c in candidates if c not in fast]
    count = _fit_counter(y, random_state, groups, len(backbones) * len(fast) + len(slow), on_fit)
    metric = selection_metric(y)
    boards = []
    for name in backbones:
        if on_backbone:
            on_backbone(name)
        boards.append(search_heads(stack_embeddings(name, embeddings), y, fast, random_state,
                                   backbone=name, groups=groups, on_fit=count, metric=metric))
    if boards[0].best["mean"] is None:  # too few examples to cross-validate: the default
        return boards[0]
    if slow:  # the slow heads (seconds each) only where the fast ones did best
        leader = max(range(len(boards)), key=lambda i: (round(boards[i].best["mean"], 6), -i))
        name = backbones[leader]
        extra = search_heads(stack_embeddings(name, embeddings), y, slow, random_state, backbone=name,
                             groups=groups, on_fit=count, metric=metric)
        boards[leader].rows.extend(extra.rows)
    rows = [row for board in boards for row in board.rows]
    rows.sort(key=lambda r: -round(r["mean"], 6))  # stable: ties keep backbone, then head order
    return Leaderboard(rows, boards[0].scheme, boards[0].baseline, metric, boards[0].class_sizes)


def _fit_counter(y: np.ndarray, random_state: int, groups: np.ndarray | None, n_candidates: int,
                 on_fit: FitProgress | None) -> FitProgress | None:
    """An ``on_fit`` for each ``search_heads`` call that reports to ``on_fit`` the fits done over
    the whole search (each call counts its own from 1), out of ``n_candidates`` x the folds."""
    if on_fit is None:
        return None
    splits, _ = cv_splits(y, random_state, groups=groups)  # the folds every call uses
    total, done = n_candidates * len(splits or ()), 0

    def count(_done: int, _total: int, label: str) -> None:
        nonlocal done
        done += 1
        on_fit(done, total, label)

    return count
