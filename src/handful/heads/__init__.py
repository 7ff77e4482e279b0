"""Heads: scikit-learn classifiers on embeddings, by name."""

from __future__ import annotations

import inspect

from sklearn.base import BaseEstimator

from ..errors import DataError, UnknownNameError, did_you_mean
from .knn import KNNHead
from .logistic import LogisticHead
from .mlp import MLPHead
from .prototype import PrototypeHead

HEADS: dict[str, type[BaseEstimator]] = {
    "logistic": LogisticHead,
    "prototype": PrototypeHead,
    "knn": KNNHead,
    "mlp": MLPHead,
}

# ZeroShotPriorHead registers itself as "zeroshot_prior" when its module is done: it imports
# heads.base, so either module may be imported first (``import handful.zeroshot.prior`` alone)
from ..zeroshot import prior as _prior  # noqa: E402, F401

__all__ = ["HEADS", "KNNHead", "LogisticHead", "MLPHead", "PrototypeHead", "check_head",
           "create_head", "head_name"]


def create_head(name: str, **params) -> BaseEstimator:
    """A new, unfitted head registered as ``name``, with ``params``."""
    if name not in HEADS:
        raise UnknownNameError(
            f"Unknown head '{name}'.{did_you_mean(name, HEADS)} Known: {', '.join(HEADS)}, or auto."
        )
    try:
        head = HEADS[name](**params)
    except TypeError as err:  # an unknown keyword
        raise DataError(f"Head '{name}' does not take those parameters ({err}). Its parameters: "
                        f"{', '.join(inspect.signature(HEADS[name]).parameters)}.") from None
    return head


def check_head(name: str, params: dict | None) -> BaseEstimator:
    """``create_head(name, **params)`` with its parameter values checked now, as ``fit`` would,
    so that ``Classifier.fit`` refuses a bad one before any embedding (``inputs.check_settings``)."""
    head = create_head(name, **(params or {}))
    head._check_params()
    return head


def head_name(head: BaseEstimator) -> str:
    """The registry name of a head instance."""
    for name, cls in HEADS.items():
        if type(head) is cls:
            return name
    raise UnknownNameError(f"{type(head).__name__} is not a registered head.")
