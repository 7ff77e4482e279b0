"""What a saved model's ``model.json`` tells the commands: the core ``--json`` keys that every
command writing a model prints (``train``, ``finetune``, ``protonet train``), and whether the model
is a few-shot one (meta-trained by ``protonet train``), whose fix for new classes is a support set."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DataError

if TYPE_CHECKING:
    from ..data import Examples


def model_keys(path: Path) -> dict:
    """The keys ``handful train --json`` gives of the model it wrote, read from ``path``'s
    ``model.json`` so each command reports the model as saved: ``model`` (its folder), ``backbone``
    (the name it was trained with), ``head`` (``{"type": registry name, "params": ...}``),
    ``classes``, ``n_train`` (examples the head was fitted on) and ``skipped`` (``[{"path", "reason"}]``).

    Example:
        >>> out.result({**model_keys(path), **command_keys})  # a command's own keys win
    """
    from ..backbones.record import recorded_name
    from ..bundle.store import read_model_json

    doc = read_model_json(path)
    training = doc.get("training", {})
    return {"model": str(path), "backbone": recorded_name(doc["backbone"]),
            "head": {"type": doc["head"]["type"], "params": doc["head"].get("params", {})},
            "classes": [str(c) for c in doc["classes"]], "n_train": training.get("n"),
            "skipped": training.get("skipped", [])}


def is_fewshot(clf) -> bool:
    """Whether ``clf`` was loaded from a meta-trained model (``protonet train``, either variant): it
    is made to take new classes from a support set, not to be re-trained on them."""
    return "fewshot" in (getattr(clf, "model_json_", None) or {})


def check_fewshot_classes(clf, model: Path, data: Path, examples: Examples, nested: bool) -> None:
    """Refuse evaluation classes a few-shot model does not know, naming the few-shot fix (a support
    set, or episodes); other models are left to ``Classifier.evaluate``'s "re-train" message."""
    unknown = sorted(set(examples.labels) - {str(c) for c in clf.classes_})
    if not unknown or not is_fewshot(clf):
        return
    flag = " --nested" if nested else ""
    n_way = len(examples.classes)  # episodes draw 5 classes unless told fewer
    ways = f" --ways {n_way}" if n_way < 5 else ""
    shown = f"{unknown[:8]}{' ...' if len(unknown) > 8 else ''}"
    raise DataError(f"Evaluation data {examples.source} has classes {shown} that the few-shot model {model} was not "
                    f"trained on (it knows {len(clf.classes_)} others). It takes new classes from a support set: "
                    f"`handful predict {model} ITEMS --support SUPPORT_DIR{flag}` (a sub-folder per class, "
                    "1+ images each), or measure it on them with "
                    f"`handful episodes {data} --model {model}{flag}{ways}`.")
