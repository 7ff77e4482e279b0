"""``NotFittedError``: a model used before it was fitted.

A module of its own because it subclasses scikit-learn's ``NotFittedError`` (so
``except sklearn.exceptions.NotFittedError`` catches it), and ``handful.errors``, which every
command imports, must not load scikit-learn; ``handful.errors.NotFittedError`` imports it on first
use. Defined at module level so that it pickles (an error raised in a joblib worker travels back
pickled) and tracebacks name it plainly.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from .errors import HandfulError

__all__ = ["NotFittedError"]


class NotFittedError(HandfulError, SklearnNotFittedError):
    """A model used before it was fitted (also a ValueError and an AttributeError, as scikit-learn's)."""
