"""``predict --support``: check the support set's path, and make a model answer with its classes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataNotFoundError
from .output import Output

if TYPE_CHECKING:
    from ..data import Examples


def check_support(support: Path | None) -> None:
    """Refuse a ``--support`` path that does not exist, naming the option (before the model loads:
    a typo should not wait for it); ``None`` (no ``--support``) passes."""
    if support is not None and not support.exists():
        raise DataNotFoundError(f"--support '{support}': no such folder or file. Give a folder with a sub-folder "
                                "per class, 1+ examples each (for a text model, a CSV/TSV of texts and "
                                "labels works too).")


def fit_support(out: Output, predictor, support: Path, nested: bool) -> tuple[Examples, dict[str, str]]:
    """Make ``predictor`` answer with the support set's classes; returns the set's Examples and
    the content keys its embedding computed (``{item: key}``: the set's id reuses them)."""
    from ..data import load_examples

    examples = load_examples(support, nested=nested)
    if not nested and examples.modality == "image":  # alphabet/character/ read as alphabets: say so
        from ..fewshot.sources import warn_if_nested

        warn_if_nested(examples.source, examples)  # the train/ split's folder where there is one
    predictor.fit_support(examples)
    keys = predictor._feature_cache().last_content_keys()  # read right after the hashing call
    for item in predictor.training_["skipped"][:10]:
        out.print(f"  support file skipped {item['path']}: {item['reason']}")
    return examples, keys
