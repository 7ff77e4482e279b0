"""The HandfulError family: every error raised for user input.

Each class also subclasses the builtin a caller would naturally catch, as scikit-learn's
``NotFittedError(ValueError, AttributeError)`` does.
"""

from __future__ import annotations

import difflib
import os
import sys
import warnings
from collections.abc import Iterable


class HandfulError(Exception):
    """Base class of every error handful raises for user input."""


class DataError(HandfulError, ValueError):
    """The data given (a folder, a file, a table) cannot be used as it is."""


class ArgumentError(DataError, TypeError):
    """A keyword argument a function does not take, or an argument of the wrong type: a DataError
    (ValueError) like a head's unknown parameter, and the TypeError Python would raise."""


class BackboneArgumentError(ArgumentError):
    """A backbone name that is not a string, or a keyword argument the backbone does not take."""


class DataNotFoundError(HandfulError, FileNotFoundError):
    """A path the user named does not exist."""


class UnknownNameError(HandfulError, KeyError):
    """A registry name (backbone, head, preset) that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class BundleError(HandfulError, ValueError):
    """A model directory that is missing, foreign, damaged or needs something not installed."""


class BackboneUnavailableError(HandfulError, RuntimeError):
    """A backbone that needs a package or network access that is not available here."""


class CatalogError(HandfulError, OSError):
    """The server's ``catalog.sqlite`` cannot be opened: damaged, locked or unreadable."""


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn at the first caller outside handful (as 3.12's ``skip_file_prefixes``): a fixed
    stacklevel lands in a wrapper (``heads/threads.single_threaded``) when the call path varies."""
    frame, level = sys._getframe(0), 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def __getattr__(name: str):
    """``NotFittedError`` subclasses scikit-learn's, so it lives in ``handful.not_fitted``, imported
    on first use: importing this module (every command does) must not load scikit-learn (about 1 s)."""
    if name != "NotFittedError":
        raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
    from .not_fitted import NotFittedError

    globals()["NotFittedError"] = NotFittedError
    return NotFittedError


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return " Did you mean 'x'?" for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
