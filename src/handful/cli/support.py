"""``predict --support``: check the support set's path, and make a model answer with its classes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError, DataNotFoundError
from .output import Output

if TYPE_CHECKING:
    from ..data import Examples


EXPECTED = ("expected a folder with a sub-folder per class, 1+ examples each (for a text model, a CSV/TSV of "
            "texts and labels)")


def check_support(support: Path | None) -> None:
    """Refuse a ``--support`` path that does not exist, or a file that is not a table, naming the
    option (before the model loads: a typo should not wait for it); ``None`` (no ``--support``) passes."""
    from ..data.table import NOT_TABLES, SAVE_AS_CSV, is_table_path

    if support is not None and not support.exists():
        raise DataNotFoundError(f"--support '{support}': no such folder or file. Give a folder with a sub-folder "
                                "per class, 1+ examples each (for a text model, a CSV/TSV of texts and "
                                "labels works too).")
    if support is not None and support.is_file() and not is_table_path(support):
        kind = NOT_TABLES.get(support.suffix.lower())
        fix = SAVE_AS_CSV if kind else "Give the folder that holds the class folders (e.g. support/<class>/*.png)."
        raise DataError(f"--support '{support}' is {kind or 'a file'}; {EXPECTED}. {fix}")


def fit_support(out: Output, predictor, support: Path, nested: bool) -> tuple[Examples, dict[str, str]]:
    """Make ``predictor`` answer with the support set's classes; returns the set's Examples and
    the content keys its embedding computed (``{item: key}``: the set's id reuses them)."""
    from ..data import load_examples
    from ..fewshot.sources import check_class_tree

    try:  # the class count is checked below, where the fix can name --support and --nested
        examples = load_examples(support, nested=nested, min_classes=0)
    except DataError as err:  # e.g. "Class folder 'cat' in DIR has no readable images ...": say which option
        message = str(err)
        raise DataError(f"--support: {message[:1].lower()}{message[1:]}") from err
    if examples.modality != "image" and len(examples.classes) < 2:
        raise DataError(f"--support '{support}' has {len(examples.classes)} label(s) {list(examples.classes)}; "
                        "expected 2 or more. Add rows of another label.")
    split = f" (its {Path(examples.source).name}/ split)" if Path(examples.source) != support else ""
    check_class_tree(examples, examples.source, nested, f"--support '{support}'{split}")
    if not nested and examples.modality == "image":  # alphabet/character/ read as alphabets: say so
        from ..fewshot.sources import warn_if_nested

        warn_if_nested(examples.source, examples)  # the train/ split's folder where there is one
    predictor.fit_support(examples)
    keys = predictor._feature_cache().last_content_keys()  # read right after the hashing call
    for item in predictor.training_["skipped"][:10]:
        out.print(f"  support file skipped {item['path']}: {item['reason']}")
    return examples, keys
