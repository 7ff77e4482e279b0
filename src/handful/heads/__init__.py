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

from ..zeroshot.prior import ZeroShotPriorHead  # noqa: E402  (imports heads.base: register last)

HEADS["zeroshot_prior"] = ZeroShotPriorHead

__all__ = ["HEADS", "KNNHead", "LogisticHead", "MLPHead", "PrototypeHead", "create_head",
           "head_name"]


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


def head_name(head: BaseEstimator) -> str:
    """The registry name of a head instance."""
    for name, cls in HEADS.items():
        if type(head) is cls:
            return name
    raise UnknownNameError(f"{type(head).__name__} is not a registered head.")
