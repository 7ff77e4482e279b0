"""Episodic N-way K-shot evaluation: class splits, episode sampling, accuracy with a 95% CI (t).

An episode draws ``n_way`` classes, then ``n_shot`` support and ``n_query`` query examples of
each, disjoint. Episodes depend only on the labels, the seed and the episode index, so two
models evaluated with the same arguments see exactly the same episodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..evaluate import mean_ci
from ..heads.base import squared_distances
from ..heads.threads import single_threaded


@dataclass(frozen=True)
class Episode:
    """Indices into the data set: support (n_way * n_shot) and query (n_way * n_query).

    ``support_y`` / ``query_y`` are episode labels 0..n_way-1; ``classes`` the real names.
    """

    support: np.ndarray
    support_y: np.ndarray
    query: np.ndarray
    query_y: np.ndarray
    classes: tuple[str, ...]


def parent_of(label: str) -> str:
    """The top-level folder of a nested class name, its group for ``--split-by-parent``:
    ``Greek/character03`` and ``Greek/variants/character07`` -> ``Greek``, and ``Greek`` (images
    lying in the alphabet folder itself) -> ``Greek``: an alphabet of uneven depth is one group."""
    return label.split("/", 1)[0]


def split_classes(classes: Sequence[str], eval_fraction: float | None, by_parent: bool = False,
                  seed: int = 0, option: str = "--eval-fraction") -> tuple[list[str], list[str]]:
    """Split class names into (train, eval), at random but reproducibly (``eval_fraction`` None:
    a quarter).

    With ``by_parent`` whole top-level folders (Omniglot alphabets, at any depth: ``parent_of``) go
    to one side, and ``eval_fraction`` counts them, not classes. ``option`` is the command-line option that set
    the fraction, named in errors (``--val-fraction`` for the validation split).

    Example:
        >>> split_classes(["A/1", "A/2", "B/1", "C/1"], 0.34, by_parent=True)
        (['A/1', 'A/2', 'B/1'], ['C/1'])
    """
    classes = sorted(classes)
    eval_fraction = 0.25 if eval_fraction is None else eval_fraction
    if not 0 < eval_fraction < 1:
        raise DataError(f"{option} must be between 0 and 1 (exclusive). Got {eval_fraction}.")
    groups = sorted({parent_of(c) for c in classes}) if by_parent else classes
    if by_parent and not any("/" in c for c in classes):
        raise DataError("--split-by-parent needs nested classes (parent/class folders); these classes "
                        "have no parent folder. Pass --nested, with DATA the folder that holds the parents "
                        "(alphabet/character/*.png: images_background, not one alphabet).")
    if len(groups) < 2:
        what, fix = (("parent folders", "drop --split-by-parent") if by_parent
                     else ("classes", f"drop {option}"))
        raise DataError(f"{'--split-by-parent' if by_parent else option} splits the {what} into two "
                        f"sides, and there is {len(groups)} ({', '.join(map(repr, groups))}). Give data "
                        f"with 2 or more {what}, or {fix}.")
    rng = np.random.default_rng([seed, 7])
    n_eval = min(len(groups) - 1, max(1, round(eval_fraction * len(groups))))
    held = {groups[i] for i in rng.permutation(len(groups))[:n_eval]}
    key = parent_of if by_parent else (lambda c: c)
    return [c for c in classes if key(c) not in held], [c for c in classes if key(c) in held]


def check_episode_shape(n_way: int, n_shot: int, n_query: int) -> None:
    """Raise DataError unless episodes of this shape can exist (checked before any data is read)."""
    if min(n_way, n_shot, n_query) < 1 or n_way < 2:
        raise DataError(f"Episodes need --ways 2 or more, --shots and --queries 1 or more. Got "
                        f"--ways {n_way}, --shots {n_shot}, --queries {n_query}.")


class EpisodeSampler:
    """Draws episodes from integer ``labels`` restricted to classes with enough examples.

    Args:
        labels: one class name per example, (n,).
        n_way, n_shot, n_query: episode shape.
        classes: the classes episodes may use (default: all in ``labels``).
        fix: the advice that ends the error when too few classes have enough examples.
        skipped: ``(path, reason)`` of the files left out of ``labels``, named in that error (they
            may be why a class is short).
    """

    def __init__(self, labels: Sequence[str], n_way: int, n_shot: int, n_query: int,
                 classes: Sequence[str] | None = None,
                 fix: str = "Lower --ways, --shots or --queries, or add classes.",
                 skipped: Sequence[tuple[str, str]] = ()):
        check_episode_shape(n_way, n_shot, n_query)
        labels = np.asarray(labels, dtype=object)
        wanted = sorted(set(classes) if classes is not None else set(labels))
        need = n_shot + n_query
        self.members = {c: np.flatnonzero(labels == c) for c in wanted}
        self.too_small = [c for c, m in self.members.items() if len(m) < need]
        self.classes = [c for c in wanted if len(self.members[c]) >= need]
        if len(self.classes) < n_way:
            raise DataError(f"{n_way}-way episodes need {n_way} classes with at least {need} examples "
                            f"({n_shot} shot{'s' * (n_shot != 1)} + {n_query} quer{'ies' if n_query != 1 else 'y'}); "
                            f"found {len(self.classes)}{self._smaller()}{_skipped_note(skipped)}. {fix}")
        self.n_way, self.n_shot, self.n_query = n_way, n_shot, n_query

    def _smaller(self) -> str:
        """", and 50 with fewer (at most 20)": the size that bounds --shots + --queries."""
        if not self.too_small:
            return ""
        return (f", and {len(self.too_small)} with fewer "
                f"(at most {max(len(self.members[c]) for c in self.too_small)})")

    def sample(self, rng: np.random.Generator) -> Episode:
        picked = rng.choice(len(self.classes), self.n_way, replace=False)
        support, query = [], []
        for cls_idx in picked:
            chosen = rng.choice(self.members[self.classes[cls_idx]], self.n_shot + self.n_query,
                                replace=False)
            support.append(chosen[:self.n_shot])
            query.append(chosen[self.n_shot:])
        return Episode(np.concatenate(support), np.repeat(np.arange(self.n_way), self.n_shot),
                       np.concatenate(query), np.repeat(np.arange(self.n_way), self.n_query),
                       tuple(self.classes[i] for i in picked))

    def episodes(self, n_episodes: int, seed: int = 0):
        """``n_episodes`` episodes; episode i uses ``default_rng([seed, i])``."""
        for i in range(n_episodes):
            yield self.sample(np.random.default_rng([seed, i]))


def _skipped_note(skipped: Sequence[tuple[str, str]]) -> str:
    """", counting usable files only: 2 were skipped (e.g. 'a/x.jpg': truncated image)"."""
    if not skipped:
        return ""
    path, reason = skipped[0]
    n = len(skipped)
    return (f", counting usable files only: {n} {'was' if n == 1 else 'were'} skipped "
            f"({'' if n == 1 else 'e.g. '}'{path}': {reason})")


# scorer(support_emb (n_s, d), support_y (n_s,), query_emb (n_q, d), n_way) -> predicted (n_q,)
Scorer = Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def euclidean_scorer(support: np.ndarray, support_y: np.ndarray, query: np.ndarray,
                     n_way: int) -> np.ndarray:
    """Nearest class mean by squared Euclidean distance (prototypical networks)."""
    protos = np.stack([support[support_y == k].mean(axis=0) for k in range(n_way)])
    return np.argmin(squared_distances(query, protos), axis=1)


def cosine_scorer(support: np.ndarray, support_y: np.ndarray, query: np.ndarray,
                  n_way: int) -> np.ndarray:
    """handful's PrototypeHead: center on the support mean, L2-normalize, nearest cosine."""
    from ..heads import PrototypeHead

    return PrototypeHead().fit(support, support_y).predict(query).astype(int)


SCORERS: dict[str, Scorer] = {"euclidean": euclidean_scorer, "cosine": cosine_scorer}


def summarize(accuracies: Sequence[float], **extra) -> dict:
    """Mean accuracy over episodes with the 95% CI: Student's t-interval, mean +- t * std / sqrt(n),
    t the 97.5% quantile with n - 1 degrees of freedom (1.984 at n = 100, 1.964 at n = 600; 1.960
    only in the limit). Its ends are kept within [0, 1] (an accuracy cannot leave them; the
    half-width is the t-interval's). One episode has no spread to estimate: std, ci95 and
    ci95_halfwidth are None, as for a single draw of ``evaluate.kshot.run_kshot``."""
    mean, std, (lo, hi) = mean_ci(list(accuracies))
    if len(accuracies) < 2:  # not a zero-width interval: that would claim certainty
        return {"accuracy": mean, "ci95": None, "ci95_halfwidth": None, "std": None,
                "n_episodes": len(accuracies), **extra}
    return {"accuracy": mean, "ci95": [max(0.0, lo), min(1.0, hi)], "ci95_halfwidth": (hi - lo) / 2, "std": std,
            "n_episodes": len(accuracies), **extra}


@single_threaded  # 600 small products: 0.65 s on one thread, 4.2-4.7 s on two beside a light job
def evaluate_episodes(embeddings: np.ndarray, sampler: EpisodeSampler, n_episodes: int,
                      scorer: Scorer = euclidean_scorer, seed: int = 0,
                      on_episode: Callable[[int, float], None] | None = None) -> dict:
    """Accuracy of ``scorer`` over ``n_episodes`` episodes on precomputed ``embeddings`` (n, d)."""
    return evaluate_episodes_with(lambda ep: (embeddings[ep.support], embeddings[ep.query]),
                                  sampler, n_episodes, scorer, seed, on_episode)


def evaluate_episodes_with(embed_episode: Callable[[Episode], tuple[np.ndarray, np.ndarray]],
                           sampler: EpisodeSampler, n_episodes: int, scorer: Scorer = euclidean_scorer,
                           seed: int = 0, on_episode: Callable[[int, float], None] | None = None) -> dict:
    """Like ``evaluate_episodes``, with ``embed_episode(ep) -> (support, query)`` embeddings
    computed per episode (test-time fine-tuning embeds each episode with its own encoder)."""
    accuracies = []
    for i, ep in enumerate(sampler.episodes(n_episodes, seed)):
        support, query = embed_episode(ep)
        pred = scorer(support, ep.support_y, query, sampler.n_way)
        accuracies.append(float(np.mean(pred == ep.query_y)))
        if on_episode:
            on_episode(i, accuracies[-1])
    return summarize(accuracies, ways=sampler.n_way, shots=sampler.n_shot, queries=sampler.n_query,
                     n_classes=len(sampler.classes), chance=1 / sampler.n_way)
