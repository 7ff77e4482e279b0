"""handful: accurate classifiers from a handful of labeled examples, offline, on a CPU."""

import os

# OpenMP threads (torch's forward passes) sleep at barriers instead of spinning: the same
# speed on an idle CPU, and 1.6-4x faster when another process wants a core (spinning
# threads take the time the late thread needs). Read when torch loads, so set first; a
# value the user set wins. Measured in benchmarks/omp_wait_policy.py.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._version import __version__  # noqa: E402
from .errors import HandfulError  # noqa: E402

__all__ = ["Classifier", "HandfulError", "__version__", "create_backbone", "list_backbones",
           "load"]

# The rest loads on first use (PEP 562): `import handful` and `handful --help` do not pay
# for torch and scikit-learn (about 2 s) until a classifier or backbone is asked for.
_LAZY = {"Classifier": "classifier", "load": "classifier",
         "create_backbone": "backbones", "list_backbones": "backbones"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'handful' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
