"""What a Python caller hands ``Classifier``, checked (and a test set read) before any work.

scikit-learn's rule: ``__init__`` only stores its parameters (so ``clone`` and ``set_params``
work) and ``fit`` validates them. ``check_settings`` is that check, so a misspelled head or
preset fails in a second, not after the embedding. ``check_load_options``, ``check_progress``
and ``item_list`` check the other arguments of ``fit``/``fit_support``/``evaluate``/``predict``
(a DataFrame would be read as its column names); ``read_test_set`` reads what ``evaluate`` is
given as ``handful evaluate`` does, and ``feature_cache_from`` what ``cache=`` names. (A list of
items with labels becomes Examples in ``data.items.examples_from``.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .cache import FeatureCache
from .data import Examples, as_items, as_path, has_splits, load_examples, scan_splits
from .errors import ArgumentError, DataError, did_you_mean
from .heads import check_head

if TYPE_CHECKING:
    from .classifier import Classifier

# the keywords that reach the folder and table readers (data.load_examples), and what for
LOAD_OPTIONS = {"nested": "a folder", "text_column": "a table", "label_column": "a table"}


def check_settings(clf: Classifier) -> None:
    """Raise a DataError (or UnknownNameError) naming the first bad constructor argument."""
    for name, least in (("batch_size", 1), ("augment_views", 0)):
        value = getattr(clf, name)
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
            raise DataError(f"Classifier({name}=...) must be a whole number >= {least}. Got {value!r}.")
    if clf.class_names is not None and not isinstance(clf.class_names, Mapping):
        raise DataError("Classifier(class_names=...) maps each label to the class name the zero-shot prior "
                        f"reads, e.g. {{'0': 'negative'}}. Got a {type(clf.class_names).__name__}.")
    if clf.head == "zeroshot_prior" and not clf.zero_shot_prior:
        raise DataError("Classifier(head='zeroshot_prior') has no class-name scores without "
                        "zero_shot_prior=True. Use e.g. Classifier(head='prototype', zero_shot_prior=True).")
    if clf.head == "auto" and clf.head_params:  # the search tries its own candidates' parameters
        raise DataError(f"Classifier(head='auto') does not use head_params={clf.head_params!r}: they are "
                        "parameters of a named head. Name it, e.g. Classifier(head='logistic', "
                        "head_params={'C': 5.0}), or drop head_params.")
    if clf.head != "auto":
        check_head(clf.head, clf.head_params)  # unknown names, parameters and bad values fail here
    if isinstance(clf.augment, str):  # a misspelled preset fails even while augment_views is 0
        from .augment.pipeline import preset_config

        preset_config(clf.augment)


def feature_cache_from(cache: FeatureCache | str | os.PathLike | bool | None) -> FeatureCache:
    """The cache ``Classifier(cache=...)`` names: that FeatureCache, one in that directory, the
    default one (None, True) or none (False)."""
    if isinstance(cache, FeatureCache):
        return cache
    if isinstance(cache, (str, os.PathLike)):
        return FeatureCache(cache)
    if cache is None or isinstance(cache, bool):
        return FeatureCache(enabled=cache is not False)
    raise DataError(f"Classifier(cache=...) takes a FeatureCache, a cache directory, None or True (the "
                    f"default cache) or False (none). Got {type(cache).__name__} {str(cache)[:40]!r}.")


def check_load_options(method: str, data: object, options: Mapping) -> None:
    """Refuse a keyword the readers do not take (``nestd=True``), one that does not apply to
    ``data`` (``text_column`` with a folder), which the readers would ignore, and a DataFrame."""
    check_not_dataframe(method, data)
    unknown = sorted(set(options) - set(LOAD_OPTIONS))
    if unknown:
        raise ArgumentError(f"{method}() got an unexpected keyword argument '{unknown[0]}'."
                            f"{did_you_mean(unknown[0], LOAD_OPTIONS)} Its data keywords are nested= "
                            "(a folder tree) and text_column=, label_column= (a CSV/TSV table).")
    given = [name for name, value in options.items() if value]
    if not given or isinstance(data, (str, os.PathLike)) and not os.path.exists(data):
        return  # a missing path is said where it is read
    if not isinstance(data, (str, os.PathLike)):
        shown = "Examples" if isinstance(data, Examples) else "a list of items"
        raise DataError(f"{method}({given[0]}=...) applies to a folder or a table read from disk, but the "
                        f"data is {shown}, so it would be ignored. Drop {given[0]}=.")
    kind = "a folder" if os.path.isdir(data) else "a table"
    wrong = [name for name in given if LOAD_OPTIONS[name] != kind]
    if wrong:
        raise DataError(f"{method}({wrong[0]}=...) applies to {LOAD_OPTIONS[wrong[0]]}, but '{data}' is "
                        f"{kind}, so it would be ignored. Drop {wrong[0]}=.")


def check_not_dataframe(method: str, data: object) -> None:
    """A DataFrame iterates over its column names, so it would be read as that many items: name
    its columns instead (pandas is recognized by its attributes, without importing it)."""
    if hasattr(data, "columns") and hasattr(data, "iloc"):
        names = [str(c) for c in data.columns]
        text, label = (names[0] if names else "text"), (names[1] if len(names) > 1 else "label")
        fix = f"{method}(df[{text!r}])" if method.startswith("predict") else \
            f"{method}(df[{text!r}], df[{label!r}])"
        raise DataError(f"{method}() got a DataFrame, which would be read as its column names "
                        f"({', '.join(names[:5])}). Pass its columns instead, e.g. {fix}.")


def item_list(items: Sequence[str | os.PathLike]) -> list[str | os.PathLike]:
    """The items to predict as a list: ``data.as_items``, with a DataFrame refused first."""
    check_not_dataframe("predict", items)
    return as_items(items)


def check_progress(method: str, progress: object) -> None:
    """``progress`` (the third positional argument) must be a callback: it is called only after the
    embedding, so anything else would fail minutes later with "object is not callable"."""
    if progress is not None and not callable(progress):
        raise DataError(f"{method}(data, labels, progress): progress is a callback, called with the "
                        f"number of items done; got {type(progress).__name__} {str(progress)[:40]!r}. "
                        "Pass a function, or leave it out.")


def read_test_set(source: str | os.PathLike, nested: bool = False, **table_options) -> Examples:
    """The examples to evaluate on in ``source``, as ``handful evaluate`` reads them: a folder's
    test/ split (else val/, else train/) when it has splits, not the train/ split that ``fit``
    reads; one class is enough (its accuracy is that class's recall)."""
    path: Path = as_path(source)
    if path.is_dir() and has_splits(path):
        splits = scan_splits(path, nested=nested, min_classes=1)
        return splits.get("test") or splits.get("val") or splits["train"]
    return load_examples(path, nested=nested, min_classes=1, **table_options)
