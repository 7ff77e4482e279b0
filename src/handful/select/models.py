"""Search backbones x heads x a small grid, all on cached embeddings, with one set of CV folds.

Every backbone is scored on the same stratified folds (they depend only on the labels and the
seed), so the rows of the leaderboard are comparable. A concatenation ``a+b`` is scored on the
two embeddings side by side; nothing is embedded twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..errors import DataError, UnknownNameError
from .search import DEFAULT_CANDIDATES, Leaderboard, search_heads

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
) -> Leaderboard:
    """Cross-validated score of every (backbone, head, params); best first.

    Slow heads (``SLOW_HEADS``) are scored only on the backbone that did best with the
    others, which keeps the search to seconds.

    Args:
        embeddings: ``{backbone name: (n, dim) embeddings}`` of the same examples, in order.
        y: the labels (n,).
        backbones: names to score, plain or ``a+b`` (default: the keys of ``embeddings``).
        candidates: ``(head, params)`` pairs, simplest first.
        groups: (n,) copies of one example share a group, kept on one side of every fold.

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
    boards = []
    for name in backbones:
        if on_backbone:
            on_backbone(name)
        boards.append(search_heads(stack_embeddings(name, embeddings), y, fast, random_state,
                                   backbone=name, groups=groups))
    if boards[0].best["mean"] is None:  # too few examples to cross-validate: the default
        return boards[0]
    if slow:  # the slow heads (seconds each) only where the fast ones did best
        leader = max(range(len(boards)), key=lambda i: (round(boards[i].best["mean"], 6), -i))
        name = backbones[leader]
        extra = search_heads(stack_embeddings(name, embeddings), y, slow, random_state, backbone=name,
                             groups=groups)
        boards[leader].rows.extend(extra.rows)
    rows = [row for board in boards for row in board.rows]
    rows.sort(key=lambda r: -round(r["mean"], 6))  # stable: ties keep backbone, then head order
    return Leaderboard(rows, boards[0].scheme, boards[0].baseline)
