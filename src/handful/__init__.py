"""handful: accurate classifiers from a handful of labeled examples, offline, on a CPU."""

from ._version import __version__
from .backbones import create_backbone, list_backbones
from .classifier import Classifier, load
from .errors import HandfulError

__all__ = ["Classifier", "HandfulError", "__version__", "create_backbone", "list_backbones",
           "load"]
