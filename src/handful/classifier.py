"""Classifier: the scikit-learn-style facade over backbone -> cache -> head -> bundle.

Example:
    >>> from handful import Classifier, load
    >>> clf = Classifier().fit("photos/")          # photos/cats/*.jpg, photos/dogs/*.jpg
    >>> clf.save("models/pets")
    >>> load("models/pets").predict(["new.jpg"])
    >>> Classifier().fit(["good soup", "cold soup"], ["pos", "neg"]).score(["nice soup"], ["pos"])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .augment.pipeline import AugmentConfig
from .backbones import backbone_modality, create_backbone
from .backbones.base import Backbone
from .bundle.model import load
from .cache import FeatureCache
from .classifier_params import CacheSetting, without_empty_labels
from .data import Examples, check_modality
from .data.duplicates import copies_summary, copies_warning, duplicate_groups, has_copies
from .data.examples import ARTICLE
from .data.items import check_every_class_left, check_item_types, examples_from
from .errors import DataError, warn_caller
from .evaluate.calibration import not_calibrated_after_tuning, temperature_scaled
from .evaluate.familiarity import MIN_JUDGED, fit_familiarity, not_judged
from .evaluate.label_check import label_check
from .fitted import FittedClassifierMixin
from .heads import create_head
from .heads.threads import single_threaded
from .inputs import check_load_options, check_progress, check_settings, item_list, read_test_set
from .select import FitProgress, head_candidates, search_heads

__all__ = ["DEFAULT_BACKBONES", "Classifier", "check_settings", "load"]

DEFAULT_BACKBONES = {"image": "efficientnet_lite0", "text": "minilm"}
Progress = Callable[[int], None]


class Classifier(FittedClassifierMixin, ClassifierMixin, BaseEstimator):
    """Few-shot classifier on pretrained embeddings: a scikit-learn classifier (``get_params``,
    ``clone``, ``cross_val_score(Classifier(), paths, labels)`` with stratified folds). Predicting,
    scoring and saving a fitted one: ``fitted.FittedClassifierMixin``.

    Args:
        backbone: a registered name, a hub name (``timm:...``), or ``"auto"`` (the default
            for the data's modality).
        head: ``logistic``, ``prototype``, ``knn``, ``mlp`` or ``"auto"`` (cross-validated).
        head_params: parameters for a named head.
        cache: a FeatureCache or a directory for one, ``None`` for the default on-disk cache
            (``$HANDFUL_CACHE`` or ``~/.cache/handful``), ``False`` for none.
        augment_views: also train the head on this many augmented views of each training
            image (feature-space augmentation; images only, cached).
        augment: the augmentation preset (or AugmentConfig) that makes those views.
        zero_shot_prior: combine the head with zero-shot scores from the class names
            (``handful.zeroshot.prior``); the weight is cross-validated.
        class_names: ``{label: class name}`` for the zero-shot prior when labels are codes
            (``{"0": "negative", "1": "positive"}``); labels are their own names otherwise.
        zero_shot_template: how a class name becomes a phrase, e.g. ``"this review is {}"``.
    """

    def __init__(self, backbone: str = "auto", head: str = "auto", head_params: dict | None = None,
                 cache: FeatureCache | str | os.PathLike | bool | None = None, batch_size: int = 32,
                 random_state: int = 0, augment_views: int = 0, augment: str | AugmentConfig = "default",
                 zero_shot_prior: bool = False, class_names: dict[str, str] | None = None,
                 zero_shot_template: str | None = None):
        self.backbone = backbone
        self.head = head
        self.head_params = head_params
        self.cache = cache
        self.batch_size = batch_size
        self.random_state = random_state
        self.augment_views = augment_views
        self.augment = augment
        self.zero_shot_prior = zero_shot_prior
        self.class_names = class_names
        self.zero_shot_template = zero_shot_template
        self._backbone: Backbone | None = None
        self._backbone_made: tuple[Backbone, str] | None = None  # (instance, name) by backbone_for
        self._cache = CacheSetting()  # the FeatureCache of the current cache=
        self._preselected = None  # leaderboard of the backbone search, used by fit_embeddings
        self._zero_shot = None  # (key, ZeroShotMap) reused across fits (k-shot draws)

    # -- plumbing ---------------------------------------------------------------------------
    def _feature_cache(self) -> FeatureCache:
        return self._cache.resolve(self.cache)

    def backbone_for(self, modality: str) -> Backbone:
        """The backbone instance (created once), checked against the data's modality."""
        if self.backbone == "auto" and self._backbone is not None \
                and self._backbone.modality == modality:  # chosen by the backbone search
            return self._backbone
        name = DEFAULT_BACKBONES[check_modality(modality)] if self.backbone == "auto" else self.backbone
        # by the name it was made from: an alias's backbone has another .name, and a new one
        # would lose what was set on this one (fine-tuned weights, options)
        if self.backbone_name not in (name, name.replace("-", "_")):
            if backbone_modality(name) != modality:
                raise DataError(f"Backbone '{name}' embeds {backbone_modality(name)}s but the "
                                f"data holds {modality}s. Choose {ARTICLE[modality]} {modality} backbone.")
            self._backbone = create_backbone(name)
            self._backbone_made = (self._backbone, name)
        return self._backbone

    @property
    def backbone_name(self) -> str | None:
        """The name the backbone instance was created from (saved as ``created_as``): as given to
        ``backbone_for``, or its own ``.name`` when it was set elsewhere (the backbone search,
        fine-tuning); None before there is one."""
        if self._backbone is None:
            return None
        made = self._backbone_made
        return made[1] if made is not None and made[0] is self._backbone else self._backbone.name

    def embed(self, items: Sequence[str], modality: str,
              progress: Progress | None = None) -> tuple[np.ndarray, dict[int, str]]:
        """Embeddings of ``items`` (cached) and ``{index: reason}`` for unusable ones (an empty
        text is one, as in a table or on the command line)."""
        items = item_list(items)
        check_item_types(items)
        backbone = self.backbone_for(modality)
        if hasattr(backbone, "parts"):  # a concatenation: reuse each part's cache
            from .backbones.concat import embed_parts_cached

            X, failures = embed_parts_cached(self._feature_cache(), backbone, items, self.batch_size,
                                             progress)
        else:
            X, failures = self._feature_cache().get_or_compute(backbone, list(items), self.batch_size,
                                                               progress)
        if modality == "text":
            failures = {**failures, **{i: "empty text" for i, t in enumerate(items) if not str(t).strip()}}
        return X, failures

    def embed_examples(self, examples: Examples,
                       progress: Progress | None = None) -> tuple[np.ndarray, Examples]:
        """Embeddings of the usable examples, and the examples with failures moved to skipped."""
        X, failures = self.embed(examples.items, examples.modality, progress)
        if failures:
            classes_before = examples.classes
            keep = [i for i in range(len(examples)) if i not in failures]
            X, examples = X[keep], examples.without(failures)
            check_every_class_left(examples, classes_before)
        return X, examples

    # -- fit ------------------------------------------------------------------------------
    def fit(self, data: str | Path | Examples | Sequence[str | Path], labels: Sequence[str] | None = None,
            progress: Progress | None = None, **load_kwargs) -> Classifier:
        """Embed the labeled examples in ``data`` and fit the head; returns ``self``.

        ``data``: a folder (a sub-folder per class; with train/ inside, train/), a CSV/TSV of texts,
        Examples, or a list of image paths or texts with their ``labels`` (scikit-learn's ``fit(X, y)``).
        """
        check_progress("fit", progress)
        examples = self.examples_of(data, labels, load_kwargs)
        check_settings(self)
        X, examples = self.select_backbone(examples.check_classes("Training"), progress)
        extra = self.embed_views(examples) if self.augment_views else None
        return self.fit_embeddings(X, examples, extra)

    def select_backbone(self, examples: Examples, progress: Progress | None = None,
                        on_fit: FitProgress | None = None) -> tuple[np.ndarray, Examples]:
        """Embed ``examples``; with ``backbone="auto"`` first cross-validate the offline
        backbones (and a concatenation) x heads on cached embeddings and keep the best
        (``on_fit``: progress of that search, after each fold fit).

        Returns the winner's embeddings and the usable examples, like ``embed_examples``.
        """
        if self.backbone != "auto":
            return self.embed_examples(examples, progress)
        from .select.auto import search_backbones

        X, examples, self._backbone, self._preselected = search_backbones(self, examples, progress, on_fit)
        return X, examples

    def embed_views(self, examples: Examples,
                    progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings (n * augment_views, dim) of augmented views of ``examples`` (cached),
        and their labels."""
        from .augment import create_augment
        from .augment.views import embed_views

        backbone = self._backbone or self.backbone_for(examples.modality)  # the fitted one
        views, failures = embed_views(backbone, examples.items,
                                      create_augment(self.augment), self.augment_views,
                                      self.random_state, self._feature_cache(), self.batch_size,
                                      progress)
        keep = [i for i in range(len(examples)) if i not in failures]
        labels = np.asarray(examples.labels, dtype=object)[keep]
        return views[keep].reshape(-1, views.shape[-1]), np.repeat(labels, self.augment_views)

    @single_threaded
    def fit_embeddings(self, X: np.ndarray, examples: Examples,
                       extra: tuple[np.ndarray, np.ndarray] | None = None,
                       warn_single: bool = True, score_head: bool = False,
                       on_fit: FitProgress | None = None) -> Classifier:
        """Fit the head on precomputed embeddings of ``examples``.

        ``extra`` is ``(X_extra, y_extra)``, more rows the head trains on (augmented views):
        the head search sees only ``X``, because views of one image split across CV folds
        would flatter every score. ``warn_single=False``: no note on a class of one example
        (K-shot evaluation draws them on purpose). ``score_head``: a head given by name is
        cross-validated too (a one-row leaderboard), so that its accuracy can be reported.
        ``on_fit``: progress of that search, after each fold fit (``search_heads``).
        """
        y = np.asarray(examples.labels, dtype=object)
        groups = duplicate_groups(examples)
        _warn_small(examples, groups, warn_single)
        self.leaderboard_, self._preselected = self._preselected, None
        if self.leaderboard_ is None and (self.head == "auto" or score_head):
            self.leaderboard_ = search_heads(
                X, y, head_candidates(self.head, self.head_params), random_state=self.random_state,
                backbone=self._backbone.name if self._backbone else "", groups=groups, on_fit=on_fit)
        if self.head == "auto":
            best = self.leaderboard_.best
            self.head_ = create_head(best["head"], **best["params"])
        else:
            self.head_ = create_head(self.head, **(self.head_params or {}))
        if self.zero_shot_prior:
            from .zeroshot.prior import with_prior

            self.head_ = with_prior(self.head_, self.zero_shot_map(sorted(set(y))), self.random_state)
        self._fit_head(X, y, groups, extra)
        self.calibration_ = self._calibrate_head(len(X))
        self.label_check_ = self._label_check(examples)
        # the examples, not their views; fewer than 20 cannot set the 5% threshold: not judged, and said
        self.familiarity_ = fit_familiarity(X, y, self.random_state, min_examples=MIN_JUDGED)
        self.classes_ = self.head_.classes_
        self.modality_ = examples.modality
        self.training_ = examples.summary()
        if self.familiarity_ is None:
            self.training_["familiarity_not_judged"] = not_judged(len(X), "training set")
        copies = copies_summary(examples, groups)
        if copies:
            self.training_["duplicates"] = copies
        if extra is not None:
            augment = self.augment if isinstance(self.augment, str) else self.augment.to_json()
            self.training_["augmented_views"] = {"n": int(len(extra[1])), "augment": augment}
        return self

    def _fit_head(self, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
                  extra: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Fit ``head_`` on ``X`` and the extra rows; a prior head, which cross-validates its
        weight, also gets the copy groups (each extra row a group of its own, as before)."""
        if extra is not None and len(extra[1]):
            X, y = np.vstack([X, extra[0]]), np.concatenate([y, extra[1]])
            groups = np.concatenate([groups, groups.max() + 1 + np.arange(len(extra[1]))])
        if self.zero_shot_prior and has_copies(groups):
            self.head_.fit(X, y, groups=groups)
        else:
            self.head_.fit(X, y)

    def _calibrate_head(self, n_examples: int) -> dict | None:
        """Temperature-scale ``head_`` by its out-of-fold answers: the leaderboard's (the head that
        won, or the one given and scored), or a zero-shot prior's at its weight; ``None`` without."""
        summary = (self.head_.oof_calibration(n_examples) if self.zero_shot_prior  # the folds that chose its weight
                   else self.leaderboard_.calibration() if self.leaderboard_ is not None
                   else not_calibrated_after_tuning(self._backbone))  # None, or why not (text --finetune)
        if summary is not None and summary["temperature"] != 1.0:
            self.head_.calibrate(summary["temperature"])
        return summary

    def _label_check(self, examples: Examples) -> dict | None:
        """Examples whose label the winning row's out-of-fold answers dispute
        (``evaluate.label_check``), all of them; ``None`` without them (no CV, or a head given
        unscored)."""
        best = self.leaderboard_.best if self.leaderboard_ is not None else {}
        index = best.get("_oof_index")
        if index is None or not len(index) or int(index.max()) >= len(examples):
            return None
        proba, y_idx = best["_oof"]
        temperature = (self.calibration_ or {}).get("temperature", 1.0)  # as sure as the model says
        proba = temperature_scaled(proba, temperature) if temperature != 1.0 else proba
        texts = examples.items if examples.modality == "text" else None
        return label_check(proba, y_idx, index, examples.ids, examples.classes, texts, limit=None)

    def zero_shot_map(self, labels: Sequence[str]):
        """The class-name scorer for ``labels`` on this backbone's embeddings (built once)."""
        from .zeroshot.prior import zero_shot_map_for

        key = (self._backbone.fingerprint, tuple(labels), self.zero_shot_template,
               tuple(sorted((self.class_names or {}).items())))
        if self._zero_shot is None or self._zero_shot[0] != key:
            self._zero_shot = (key, zero_shot_map_for(
                self._backbone, labels, self.class_names, self.zero_shot_template,
                self._feature_cache()))
        return self._zero_shot[1]

    def fit_support(self, support: str | Path | Examples | Sequence[str | Path],
                    labels: Sequence[str] | None = None, progress: Progress | None = None,
                    **load_kwargs) -> Classifier:
        """Keep the backbone; make the head nearest-prototype over the classes in ``support``.

        The few-shot workflow: with a meta-trained model (``handful protonet train``) the
        support folder's classes need not have been seen in training, 1+ example each. A list of
        image paths (or texts) with their ``labels`` works too.

        Example:
            >>> clf = load("models/omniglot").fit_support("support/")   # support/<class>/*.png
            >>> clf.predict(["query.png"])
        """
        check_progress("fit_support", progress)
        examples = self.examples_of(support, labels, load_kwargs, getattr(self, "modality_", None),
                                    method="fit_support")
        examples.check_classes("A support set")
        known = getattr(self, "modality_", None)
        if known is not None and examples.modality != known:
            raise DataError(f"This model embeds {known}s, but the support set {examples.source} holds "
                            f"{examples.modality}s. Give a support set of {known}s (a sub-folder per "
                            "class for images, a CSV of text and label for texts).")
        X, examples = self.embed_examples(examples, progress)
        params = (self.head_params or {}) if self.head == "prototype" else {}
        self.leaderboard_, self.calibration_ = None, None  # head_ is the head used: head= stays as given
        self.head_ = create_head("prototype", **params).fit(X, np.asarray(examples.labels, dtype=object))
        # a support set of fewer than 20 cannot set the 5% threshold: not judged, and said (cli.familiar)
        self.familiarity_ = fit_familiarity(X, examples.labels, self.random_state, min_examples=MIN_JUDGED)
        self.classes_ = self.head_.classes_
        self.modality_ = examples.modality
        self.training_ = {**examples.summary(), "support_set": True}
        if self.familiarity_ is None:
            self.training_["familiarity_not_judged"] = not_judged(len(X))
        return self

    def examples_of(self, data, labels: Sequence[str] | None, load_kwargs: dict,
                    modality: str | None = None, method: str = "fit", held_out: bool = False) -> Examples:
        """``data`` as Examples: read from a folder or table (with ``load_kwargs``), as given, or
        built from a list of items and their ``labels`` (of ``modality``, else the backbone's,
        else guessed): ``data.items.examples_from``. ``held_out``: a test set (``read_test_set``)."""
        check_load_options(method, data, load_kwargs)
        if held_out and labels is None and isinstance(data, (str, os.PathLike)):
            data, load_kwargs = read_test_set(data, **load_kwargs), {}
        known = backbone_modality(self.backbone) if self.backbone != "auto" else None
        examples = examples_from(data, labels, load_kwargs, modality or known)
        return examples if labels is None else without_empty_labels(examples)  # a table skips them too


def _warn_small(examples: Examples, groups: np.ndarray, single: bool = True) -> None:
    counts = examples.counts()
    if single and min(counts.values()) == 1:
        ones = [c for c, n in counts.items() if n == 1]  # named: "some" sent users counting folders
        named = ", ".join(map(repr, ones[:5])) + (f" and {len(ones) - 5} more" if len(ones) > 5 else "")
        warn_caller(f"Some classes have a single example ({named}); accuracy estimates will be rough. "
                    "Add examples to them for a cross-validated estimate.")
    if message := copies_warning(examples, groups):  # CV keeps copies together; labels may clash
        warn_caller(message)
