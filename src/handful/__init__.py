"""handful: accurate classifiers from a handful of labeled examples, offline, on a CPU."""

import os

# OpenMP threads (torch's forward passes) sleep at barriers instead of spinning: the same
# speed on an idle CPU, and 1.6-4x faster when another process wants a core (spinning
# threads take the time the late thread needs). Read when torch loads, so set first; a
# value the user set wins. Measured in benchmarks/omp_wait_policy.py.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from ._version import __version__  # noqa: E402
from .backbones import create_backbone, list_backbones  # noqa: E402
from .classifier import Classifier, load  # noqa: E402
from .errors import HandfulError  # noqa: E402

__all__ = ["Classifier", "HandfulError", "__version__", "create_backbone", "list_backbones",
           "load"]
