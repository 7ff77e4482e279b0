"""SHA-256 digests of a model directory's array files, recorded in ``model.json`` when it is saved
and checked when it is loaded.

A ``head.safetensors`` copied in from another model with the same shapes would otherwise load and
score with that model's arrays under this one's class names, silently. Models saved before
digests were recorded (no ``sha256`` entry) load as before.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..errors import BundleError

DIGESTS_KEY = "sha256"  # model.json: {"sha256": {"head.safetensors": "<64 hex digits>", ...}}


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits, read in chunks (weights can be large)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def file_digests(folder: str | Path) -> dict[str, str]:
    """``{name: sha256}`` of the ``*.safetensors`` files directly in ``folder`` (the head, and the
    backbone and familiarity files when there are any).

    Example:
        >>> file_digests("model")  # {"head.safetensors": "9f2c...", ...}
    """
    return {path.name: file_digest(path) for path in sorted(Path(folder).glob("*.safetensors"))}


def check_file_digests(folder: str | Path, doc: dict) -> None:
    """Raise a BundleError when a file ``doc`` (the parsed model.json) records a digest for is not
    the file the model was saved with. A recorded file that is missing is left to its reader,
    which says what it lacks."""
    folder = Path(folder)
    recorded = doc.get(DIGESTS_KEY)
    if recorded is None:  # saved before digests were recorded
        return
    if not isinstance(recorded, dict) or not all(
            isinstance(name, str) and Path(name).name == name and isinstance(digest, str)
            for name, digest in recorded.items()):
        raise BundleError(f"{folder / 'model.json'} is damaged: '{DIGESTS_KEY}' must map file names to "
                          f"SHA-256 digests; got {str(recorded)[:80]}. Re-train the model.")
    for name, digest in recorded.items():
        path = folder / name
        if path.is_file() and file_digest(path) != digest:
            raise BundleError(f"{path} is not the file this model was saved with (its SHA-256 differs "
                              "from the one model.json records: copied from another model, or "
                              "damaged). Restore the model folder from its original or a backup, or "
                              "re-train the model.")
