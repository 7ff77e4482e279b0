"""``backbone="auto"``: embed with every offline candidate (cached), pick backbone x head by CV."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from ..backbones import create_backbone
from ..backbones.base import Backbone
from ..backbones.concat import ConcatBackbone
from ..data import Examples
from ..data.duplicates import duplicate_groups
from .models import AUTO_BACKBONES, AUTO_MAX_ITEMS, plain_backbones, search_models, stack_embeddings
from .search import FitProgress, Leaderboard, head_candidates


def auto_backbones(modality: str, n_items: int, quiet: bool = False) -> list[str]:
    """The backbones ``auto`` searches for this modality and data size (default first)."""
    names = list(AUTO_BACKBONES[modality])
    if n_items > AUTO_MAX_ITEMS and quiet:
        return names[:1]
    if n_items > AUTO_MAX_ITEMS:
        warnings.warn(f"{n_items} training examples: the backbone search is skipped (it would "
                      f"embed them {len(plain_backbones(names))} times); using {names[0]}. Pass "
                      "--backbone to choose another.", stacklevel=3)
        return names[:1]
    return names


def n_embedding_passes(clf, examples: Examples) -> int:
    """How many backbones ``clf.select_backbone`` embeds ``examples`` with (progress bars)."""
    if clf.backbone != "auto":
        return 1
    return len(plain_backbones(auto_backbones(examples.modality, len(examples), quiet=True)))


def search_backbones(clf, examples: Examples, progress: Callable[[int], None] | None = None,
                     on_fit: FitProgress | None = None,
                     ) -> tuple[np.ndarray, Examples, Backbone, Leaderboard]:
    """Embed ``examples`` with each candidate of ``clf`` (a Classifier with backbone "auto"),
    cross-validate backbones x heads, and return the winner's embeddings, the usable
    examples, the winning backbone and the leaderboard.

    ``progress`` advances once per item per embedded backbone; then ``on_fit(done, total, label)``
    is called after each fit of the search, counted over all of it (``search_models``).
    """
    names = auto_backbones(examples.modality, len(examples))
    built: dict[str, Backbone] = {}
    embeddings: dict[str, np.ndarray] = {}
    failures: dict[int, str] = {}
    for name in plain_backbones(names):
        built[name] = create_backbone(name)
        X, bad = clf._feature_cache().get_or_compute(built[name], list(examples.items),
                                                     clf.batch_size, progress)
        embeddings[name] = X
        failures.update(bad)
    keep = [i for i in range(len(examples)) if i not in failures]
    if failures:
        from ..data.items import check_every_class_left

        classes_before = examples.classes
        examples = examples.without(failures)
        check_every_class_left(examples, classes_before)
        embeddings = {name: X[keep] for name, X in embeddings.items()}
    board = search_models(embeddings, np.asarray(examples.labels, dtype=object), names,
                          head_candidates(clf.head, clf.head_params), clf.random_state,
                          groups=duplicate_groups(examples), on_fit=on_fit)
    winner = board.best["backbone"] or names[0]
    parts = winner.split("+")
    backbone = built[winner] if len(parts) == 1 else ConcatBackbone([built[p] for p in parts])
    return stack_embeddings(winner, embeddings), examples, backbone, board
