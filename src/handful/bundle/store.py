"""The on-disk model format. No pickle: JSON for params and strings, safetensors for arrays.

``model.json`` holds the format version, the handful version, classes, the backbone
reference (name, fingerprint, preprocessing), the head type and its ``get_params()``, a
training-set summary, metrics and the SHA-256 of each array file (integrity.py, checked at load).
``head.safetensors`` holds the head's learned arrays.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from .._version import __version__
from ..errors import BundleError, DataNotFoundError
from ..heads import HEADS, create_head, head_name
from ..jsontext import json_text
from .integrity import DIGESTS_KEY, check_file_digests, file_digests

FORMAT_VERSION = 1
MODEL_JSON = "model.json"
HEAD_FILE = "head.safetensors"
# every command that writes a model folder (and Python's Classifier.save): the hint names them all
MODEL_WRITERS = "`handful train`, `handful finetune` or `handful protonet train` (Classifier.save in Python)"


def chmod_like_new(path: Path) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would (0666/0777 less the umask):
    ``mkstemp``/``mkdtemp`` (0600/0700) and some writers keep other users out of a model."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~current_umask())


_umask_lock = threading.Lock()
_umask_read: list[int] = []  # the umask read by setting it, once: where /proc cannot tell


def current_umask() -> int:
    """The process's umask, without changing it: ``os.umask`` reads it only by setting it, for the
    whole process, so two threads at once (the server saves models on worker threads) could leave
    the temporary value behind. Linux tells it in /proc; elsewhere it is read once, under a lock."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _umask_lock:
        if not _umask_read:
            mask = os.umask(0o022)
            os.umask(mask)
            _umask_read.append(mask)
        return _umask_read[0]


def check_out_free(out: str | Path, force: bool = False, data: str | Path | None = None) -> Path:
    """``out`` as a Path, if a model may be written there: it does not exist or is an empty folder,
    or ``force`` is set and it is a handful model; and it is not inside the ``data`` folder (the
    next scan would read the model as a class). A folder that is not a model is refused first: the
    "pass --force" advice would lead nowhere. Commands call this before long work, so a refusal
    costs nothing."""
    out = Path(out)
    existing = next((p for p in (out, *out.parents) if p.exists()), None)  # "." or "/" at the latest
    if existing is not None and existing != out and not existing.is_dir():
        raise BundleError(f"Output '{out}' cannot be created: '{existing}' is a file, not a folder. "
                          "Choose another --out.")
    if data is not None and Path(data).is_dir() and is_inside(out, data):
        raise BundleError(f"Output '{out}' is inside the data folder '{data}'; its files would be "
                          "read as examples next time. Choose an --out outside it.")
    if out.is_dir() and not any(out.iterdir()):  # an empty folder made for the model: nothing to lose
        return out
    if out.exists() and not (out / MODEL_JSON).is_file():  # said first: --force would not replace it
        what = "a file" if not out.is_dir() else "a folder that is not a handful model (no model.json)"
        raise BundleError(f"Output '{out}' exists and is {what}; it is never replaced, even with --force. "
                          "Choose another --out.")
    if out.exists() and not force:
        raise BundleError(f"Output '{out}' already exists. Pass --force (force=True in Python) "
                          "to replace it, or choose another --out.")
    return out


def is_inside(path: str | Path, folder: str | Path) -> bool:
    """True when ``path`` lies in ``folder``, as written or with links resolved: through a class
    folder that is a link, a path leads into the data while its resolved form does not."""
    path, folder = Path(path), Path(folder)
    paths = (Path(os.path.abspath(path)), path.resolve())
    folders = (Path(os.path.abspath(folder)), folder.resolve())
    return any(p.is_relative_to(f) for p in paths for f in folders)


def model_folder_holding(path: str | Path) -> Path | None:
    """The handful model folder that ``path`` is or lies in, as written or with links resolved (its
    ``model.json`` holds a format_version), else None. A model folder is written whole and replaced
    whole by its trainer: another command's files there change the model, and go with the next
    ``--force``."""
    for form in dict.fromkeys((Path(os.path.abspath(path)), Path(path).resolve())):
        for folder in (form, *form.parents):
            try:
                doc = json.loads((folder / MODEL_JSON).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and "format_version" in doc:  # not another tool's model.json
                return folder
    return None


def check_not_in_model(out: str | Path) -> Path:
    """``out`` as a Path, if it is not a model folder nor inside one (see ``model_folder_holding``)."""
    model = model_folder_holding(out)
    if model is None:
        return Path(out)
    where = ("is a handful model folder" if model in (Path(os.path.abspath(out)), Path(out).resolve())
             else f"is inside the handful model folder '{model}'")
    raise BundleError(f"Output '{out}' {where}; files written there would alter the model. Pick another "
                      "--out, outside the model folder.")


def beside_models(out: str | Path) -> Path:
    """A default output folder ``out``, moved beside the model folder it would land in (a command run
    inside a model folder): ``model/suggestions`` becomes ``suggestions`` beside ``model``."""
    out = Path(out)
    while (model := model_folder_holding(out)) is not None and model.parent != model:
        out = model.parent / out.name
    return out


def write_dir_atomically(out: str | Path, write: Callable[[Path], None], force: bool = False) -> Path:
    """Call ``write(tmp_dir)``, then move the finished directory to ``out`` in one rename.

    An existing ``out`` is replaced only when ``force`` is set and it is a handful model
    (has ``model.json``); it is kept until the new one is in place.
    """
    out = check_out_free(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name[:40]}.tmp-", dir=out.parent))  # fits a 255-byte name
    try:
        write(tmp)
        for path in [tmp, *tmp.rglob("*")]:
            chmod_like_new(path)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}-{time.time_ns()}")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def save_bundle(out: str | Path, head, meta: dict, force: bool = False,
                extra: Callable[[Path], None] | None = None) -> Path:
    """Write ``head`` and ``meta`` (classes, backbone, training summary, metrics) to ``out``."""

    def write(tmp: Path) -> None:
        arrays = {k: np.ascontiguousarray(v) for k, v in head.state_arrays().items()}
        save_file(arrays, str(tmp / HEAD_FILE))
        doc = {
            "format_version": FORMAT_VERSION,
            "handful_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **meta,
            "classes": [str(c) for c in head.classes_],
            "head": {"type": head_name(head), "params": head.get_params(),
                     **({"calibration": head.calibration_} if head.calibration_ != 1.0 else {})},
        }
        if extra:
            extra(tmp)
        doc[DIGESTS_KEY] = file_digests(tmp)  # of every array file, the extras' included: checked at load
        (tmp / MODEL_JSON).write_text(json_text(doc, indent=2, default=_json_default))

    return write_dir_atomically(out, write, force=force)


def read_model_json(path: str | Path) -> dict:
    """Parse and validate ``model.json`` of a model directory."""
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"Model '{path}' does not exist. Give a model folder written by {MODEL_WRITERS}.")
    file = path / MODEL_JSON
    if not file.is_file():
        raise BundleError(f"'{path}' is not a handful model: it has no {MODEL_JSON}. "
                          f"Give a folder written by {MODEL_WRITERS}.")
    try:
        doc = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"{file} is damaged ({err}). Re-train the model.") from err
    version = doc.get("format_version") if isinstance(doc, dict) else None
    if version is None:
        raise BundleError(f"{file} has no format_version: not a handful model.")
    if version > FORMAT_VERSION:
        raise BundleError(f"{file} has format_version {version}, newer than this handful "
                          f"supports ({FORMAT_VERSION}). Upgrade handful.")
    for key in ("classes", "head", "backbone"):
        if key not in doc:
            raise BundleError(f"{file} is missing '{key}': damaged or foreign. Re-train the model.")
    classes = doc["classes"]
    if not isinstance(classes, list) or len(set(map(str, classes))) != len(classes):
        repeated = sorted({str(c) for c in classes if list(classes).count(c) > 1}) if isinstance(classes, list) else []
        raise BundleError(f"{file} is damaged: 'classes' must list distinct names; got "
                          f"{f'{repeated} more than once' if repeated else repr(classes)[:80]}. Re-train the model.")
    return doc


def load_bundle(path: str | Path) -> tuple[object, dict]:
    """The fitted head and the parsed ``model.json`` of a model directory."""
    path = Path(path)
    doc = read_model_json(path)
    head_type = doc["head"].get("type")
    if head_type not in HEADS:
        raise BundleError(f"{path / MODEL_JSON} names head type '{head_type}', unknown to this "
                          f"handful (known: {', '.join(HEADS)}). Upgrade handful or re-train.")
    try:
        arrays = load_file(str(path / HEAD_FILE))
    except (OSError, ValueError, Exception) as err:  # safetensors raises its own error type
        raise BundleError(f"{path / HEAD_FILE} is missing or damaged ({err}). Re-train.") from err
    check_file_digests(path, doc)  # a head (or backbone) file swapped in from another model
    head = create_head(head_type, **doc["head"].get("params", {}))
    missing = [a for a in head._state_attrs if a not in arrays]
    if missing:
        raise BundleError(f"{path / HEAD_FILE} lacks {missing}: damaged. Re-train the model.")
    for name in head._state_attrs:
        setattr(head, name, arrays[name])
    head.classes_ = np.array(doc["classes"], dtype=object)
    head.n_features_in_ = int(np.asarray(arrays[head._state_attrs[0]]).shape[-1])
    _restore_calibration(head, doc["head"].get("calibration", 1.0), path)
    _check_head_answers(head, path)
    return head, doc


def _restore_calibration(head, temperature, path: Path) -> None:
    """The temperature saved with the head (models saved before calibration have none: 1)."""
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not temperature > 0:
        raise BundleError(f"{path / MODEL_JSON} is damaged: head.calibration must be a number > 0; "
                          f"got {temperature!r}. Re-train the model.")
    head.calibrate(float(temperature))


def _check_head_answers(head, path: Path) -> None:
    """One probability per class listed in model.json, or the model was edited or mixed up."""
    try:
        columns = head.predict_proba(np.zeros((1, head.n_features_in_), dtype=np.float32)).shape[1]
    except Exception as err:  # noqa: BLE001  (any failure means the arrays and the JSON disagree)
        raise BundleError(f"Model {path} is damaged: its head cannot score ({type(err).__name__}: "
                          f"{err}). Re-train the model.") from None
    if columns != len(head.classes_):
        raise BundleError(f"Model {path} is damaged: model.json lists {len(head.classes_)} classes but "
                          f"{HEAD_FILE} scores {columns}. Re-train the model.")


def _json_default(value):
    """Paths as text; numpy values are turned into Python ones by ``json_text`` itself."""
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
