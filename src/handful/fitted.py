"""What a fitted ``Classifier`` does: predict, evaluate, score and save (``classifier`` builds it).

``FittedClassifierMixin`` sits left of scikit-learn's ``ClassifierMixin`` in ``Classifier``'s bases,
so its ``score`` (which reads a folder or table as well as lists) is the one used. It relies on
what ``Classifier.fit`` sets (``head_``, ``classes_``, ``modality_``, ``training_``,
``leaderboard_``) and on its ``embed``, ``embed_examples`` and ``examples_of``.

Example:
    >>> clf = Classifier().fit(["good soup", "cold soup"], ["pos", "neg"])
    >>> clf.predict(["nice soup"]), clf.score(["nice soup"], ["pos"])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .backbones.record import backbone_record
from .bundle import save_bundle
from .bundle.store import check_out_free
from .data import Examples
from .data.items import warn_unusable
from .errors import DataError, NotFittedError
from .evaluate import classification_report
from .evaluate.calibration import confidence_report, selective_report
from .evaluate.familiarity import QUANTILE, familiarity_meta, save_familiarity
from .evaluate.label_check import label_check
from .inputs import item_list

Progress = Callable[[int], None]


def _familiarity_report(familiarity, X: np.ndarray, right: np.ndarray) -> dict | None:
    """How many of the labeled examples (embeddings ``X`` (n, dim), ``right`` (n,) bool) look unlike
    the training examples, and the accuracy on those and on the rest (None for a group with none);
    None when the model keeps no training examples."""
    if familiarity is None:
        return None
    familiar = familiarity.familiar(X)
    n_flagged = int((~familiar).sum())
    return {"k": familiarity.k, "threshold": familiarity.threshold, "quantile": QUANTILE, "n_flagged": n_flagged,
            "share_flagged": n_flagged / max(len(X), 1), "n_familiar": int(familiar.sum()),
            "accuracy_flagged": float(right[~familiar].mean()) if n_flagged else None,
            "accuracy_familiar": float(right[familiar].mean()) if familiar.any() else None}


class FittedClassifierMixin:
    """Predict, evaluate, score and save for ``Classifier`` once ``fit`` has set ``head_``."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "head_"):
            raise NotFittedError("This Classifier is not fitted yet. Call fit(data) first, "
                                 "or load a saved model with handful.load(path).")

    def predict_proba_items(self, items: Sequence[str], progress: Progress | None = None,
                            transductive: bool = False) -> tuple[np.ndarray, list[int], dict[int, str]]:
        """Probabilities (n_ok, n_classes) for the usable items, their indices, and failures.

        ``transductive``: after ``fit_support`` with a ProtoNet model, refine the prototypes with
        all of ``items`` first (an item's answer then depends on the rest of the batch).
        """
        _, proba, ok, failures = self.embed_and_predict_items(items, progress, transductive)
        return proba, ok, failures

    def embed_and_predict_items(self, items: Sequence[str], progress: Progress | None = None,
                                transductive: bool = False
                                ) -> tuple[np.ndarray, np.ndarray, list[int], dict[int, str]]:
        """``predict_proba_items`` with the embeddings (n_ok, dim) of the usable items first (for
        their ``familiarity_`` without embedding them twice)."""
        self._check_fitted()
        items = item_list(items)
        if transductive:
            from .fewshot.transductive import check_transductive_head, transductive_proba

            check_transductive_head(self.head_)  # before the embedding work
        X, failures = self.embed(items, self.modality_, progress)
        ok = [i for i in range(len(items)) if i not in failures]
        X = X[ok]
        if not ok:
            proba = np.zeros((0, len(self.classes_)))
        else:
            proba = transductive_proba(self.head_, X) if transductive else self.head_.predict_proba(X)
        return X, proba, ok, failures

    def predict_proba(self, items: Sequence[str], transductive: bool = False) -> np.ndarray:
        """Probabilities (n, n_classes) in ``classes_`` order; NaN rows (and a warning) for
        unusable items."""
        items = item_list(items)
        proba, ok, failures = self.predict_proba_items(items, transductive=transductive)
        warn_unusable(items, failures, "rows are NaN")
        out = np.full((len(items), len(self.classes_)), np.nan)
        out[ok] = proba
        return out

    def familiarity(self, items: Sequence[str]) -> np.ndarray:
        """How like the training examples each item is (``evaluate.familiarity``): the mean cosine
        similarity of its nearest training examples, (n,); NaN for an unusable item, and for every
        item when the model keeps no training examples (saved before handful did, or trained or
        fitted to a support set on fewer than 20). ``familiarity_.threshold`` is
        what 95% of the training examples reach.

        Example:
            >>> clf.familiarity(["car.jpg", "ant.jpg"]) >= clf.familiarity_.threshold   # [False, True]
        """
        self._check_fitted()
        items = item_list(items)
        known = getattr(self, "familiarity_", None)
        if known is None:
            return np.full(len(items), np.nan)
        X, failures = self.embed(items, self.modality_)
        warn_unusable(items, failures, "familiarity is NaN")
        out = known.scores(X)
        out[list(failures)] = np.nan
        return out

    def predict(self, items: Sequence[str], transductive: bool = False) -> list[str | None]:
        """The most probable class of each item (None, and a warning, for an unusable one);
        ``transductive`` as in ``predict_proba_items``."""
        items = item_list(items)
        proba, ok, failures = self.predict_proba_items(items, transductive=transductive)
        warn_unusable(items, failures, "predictions are None")
        labels: list[str | None] = [None] * len(items)
        for row, i in enumerate(ok):
            labels[i] = str(self.classes_[int(np.argmax(proba[row]))])
        return labels

    def evaluate(self, data: str | Path | Examples | Sequence[str | Path], progress: Progress | None = None,
                 *, labels: Sequence[str] | None = None, **load_kwargs) -> dict:
        """Metrics on labeled ``data`` (as in ``fit``, but a folder's test/ or else val/ split, and one
        class will do): accuracy (+CI), balanced accuracy, per class, confusion, and ``confidence``: how
        sure it was against how often right, with ``selective``: at each confidence threshold, the
        share it would answer and the accuracy on those."""
        self._check_fitted()
        if progress is not None and not callable(progress):
            raise DataError("evaluate(data, progress): progress is a callback. To evaluate a list of items, "
                            "pass their labels by name, evaluate(items, labels=labels), or use score(items, labels).")
        examples = self.examples_of(data, labels, load_kwargs, self.modality_, "evaluate", held_out=True)
        if not len(examples):
            raise DataError(f"Evaluation data {examples.source} holds no example. Give labeled examples.")
        unknown = sorted(set(examples.labels) - {str(c) for c in self.classes_})
        if unknown:
            raise DataError(f"Evaluation data {examples.source} has classes {unknown} that the "
                            f"model does not know ({list(map(str, self.classes_))}). Remove them from "
                            "the evaluation data, or re-train with examples of them.")
        X, examples = self.embed_examples(examples, progress)
        proba = self.head_.predict_proba(X)
        y_pred = self.head_.classes_[proba.argmax(axis=1)]
        report = classification_report(list(examples.labels), list(y_pred),
                                       [str(c) for c in self.classes_])
        report["confidence"] = confidence_report(proba, examples.labels, self.head_.classes_,
                                                 getattr(self.head_, "calibration_", 1.0))
        # answer only when at least this sure: how many would be answered, and how many of those right
        report["confidence"]["selective"] = selective_report(proba, examples.labels, self.head_.classes_)
        report["familiarity"] = _familiarity_report(getattr(self, "familiarity_", None), X,
                                                    np.array([str(p) for p in y_pred]) == np.array(examples.labels))
        # test examples the model calls another class, least likely under their label first
        classes = [str(c) for c in self.head_.classes_]
        report["label_check"] = label_check(
            proba, np.array([classes.index(label) for label in examples.labels], dtype=np.int64),
            np.arange(len(examples)), examples.ids, classes,
            examples.items if examples.modality == "text" else None)
        report["skipped"] = [{"path": p, "reason": r} for p, r in examples.skipped]
        return report

    def score(self, data: str | Path | Examples | Sequence[str | Path], labels: Sequence[str] | None = None,
              **load_kwargs) -> float:
        """Accuracy on labeled ``data`` (as in ``fit``), as scikit-learn's ``score(X, y)``."""
        return float(self.evaluate(data, labels=labels, **load_kwargs)["accuracy"])

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path, force: bool = False, metrics: dict | None = None,
             extra_meta: dict | None = None,
             extra_files: Callable[[Path], None] | None = None) -> Path:
        """Write the model directory atomically (temp dir + rename); not inside the folder it was
        trained on (the next ``fit`` of that folder would read the model as a class)."""
        self._check_fitted()
        source = self.training_.get("source")
        if isinstance(source, str) and os.path.isdir(source):
            check_out_free(path, force, source)
        meta = {
            "modality": self.modality_,
            "backbone": backbone_record(self._backbone, self.backbone_name),  # an alias: its name
            "training": self.training_,
            "leaderboard": self.leaderboard_.to_json() if self.leaderboard_ else None,
            "calibration": getattr(self, "calibration_", None),
            **familiarity_meta(getattr(self, "familiarity_", None)),
            "metrics": metrics or {},
            **(extra_meta or {}),
        }
        if getattr(self, "zero_shot_prior", False):  # what a refit of the loaded model needs again
            meta["zero_shot_prior"] = {"class_names": self.class_names, "template": self.zero_shot_template}
        tuned = "weights_file" in meta["backbone"]

        def write_extra(tmp: Path) -> None:
            if tuned:
                from .backbones.tuned import save_tuned_weights

                save_tuned_weights(self._backbone, tmp)
            save_familiarity(getattr(self, "familiarity_", None), tmp)
            if extra_files:
                extra_files(tmp)

        return save_bundle(path, self.head_, meta, force=force, extra=write_extra)
