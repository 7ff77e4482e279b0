"""``export_onnx``: a trained model as one ONNX graph (uint8 pixels in, probabilities out).

The file carries everything needed to use it without handful: class names, the backbone's
preprocessing (resize, crop; normalization is inside the graph) and the head, as JSON in the
ONNX ``metadata_props`` under ``handful.*`` keys. A parity check runs at export: the ONNX
probabilities must match PyTorch/handful (float32) on sample inputs within ``tolerance``.

Example:
    >>> report = export_onnx("models/pets", "pets.onnx")
    >>> report.max_abs_diff < 1e-4
    True
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import re
import tempfile
import threading
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .._version import __version__
from ..backbones.base import Backbone
from ..bundle.store import HEAD_FILE, chmod_like_new, is_inside
from ..data.images import ImageDecodeError
from ..errors import BundleError, DataError
from ..jsontext import json_text
from .graph import ClassifierGraph, backbone_parts, input_names, model_preprocessing

MIN_OPSET, MAX_OPSET = 13, 20  # the TorchScript exporter's upper end; 13 for the ops used here
OPSET = 17  # onnxruntime >= 1.14 runs all of opset 17; the TorchScript exporter emits it well
INPUT_NAME, OUTPUT_NAMES = "image", ("probabilities", "embeddings")
N_SYNTHETIC = 8
# torch's notes on its own exporter, which the user cannot act on: the TorchScript exporter is the
# choice here (see _export_graph), and a Slice left unfolded is computed in the graph all the same.
# (category, text, module it is attributed to)
EXPORTER_NOTES = (
    (DeprecationWarning, "You are using the legacy TorchScript-based ONNX export", r"handful\.export\.onnx\Z"),
    (DeprecationWarning, "The feature will be removed", r"torch\.onnx\."),
    (UserWarning, "Constant folding - Only steps=1 can be constant folded", r"torch\.onnx\."),
)


@dataclass
class ExportReport:
    """What ``export_onnx`` wrote and how close ONNX Runtime is to PyTorch."""

    path: str
    opset: int
    n_samples: int
    max_abs_diff: float  # probabilities, ONNX Runtime vs PyTorch/handful in float32
    max_abs_diff_embeddings: float
    max_abs_diff_vs_default: float | None  # vs handful's default precision (bf16 on some CPUs)
    samples: str
    metadata: dict = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)  # --sample files left out: {"path", "reason"}

    def to_json(self) -> dict:
        return asdict(self)


def head_digest(model_dir: str | Path) -> str:
    """Hash of the head file: an ONNX export records it, so a re-trained model is noticed."""
    return hashlib.sha256((Path(model_dir) / HEAD_FILE).read_bytes()).hexdigest()[:16]


@contextlib.contextmanager
def _float32(backbone: Backbone):
    """Run ``backbone.embed`` in float32 for the reference (bf16 autocast is a CPU speed-up);
    each part of a concatenation."""
    infos = [(part, part.info) for part in backbone_parts(backbone)]
    for part, info in infos:
        if getattr(info, "precision", "float32") != "float32":
            part.info = replace(info, precision="float32")
    try:
        yield backbone
    finally:
        for part, info in infos:
            part.info = info


def _reduced_precision(backbone: Backbone) -> bool:
    return any(getattr(p.info, "precision", "float32") != "float32" for p in backbone_parts(backbone))


def input_feeds(names: Sequence[str], batch: Sequence) -> dict[str, np.ndarray]:
    """The graph's inputs for ``batch``: arrays, or a tuple per item (one per input) for a
    concatenated backbone's."""
    if len(names) == 1:
        return {names[0]: np.stack(batch)}
    return {name: np.stack([x[i] for x in batch]) for i, name in enumerate(names)}


def sample_inputs(backbone: Backbone, samples: Sequence[str] = ()
                  ) -> tuple[list[np.ndarray], str, list[tuple[str, str]]]:
    """Preprocessed uint8 images for the parity check: the given files (the first 32 usable), else
    synthetic ones; with the ``(path, reason)`` of each given file left out."""
    if samples:
        from ..data import list_images

        paths, skipped = list_images(samples)
        batch = []
        for path in paths:
            if len(batch) == 32:
                break
            try:
                batch.append(backbone.preprocess(path))
            except ImageDecodeError as err:
                skipped.append((path, err.reason))
            except OSError as err:
                skipped.append((path, f"cannot be read ({err})"))
        if not batch:
            first = f" ({len(skipped)} skipped, e.g. '{skipped[0][0]}': {skipped[0][1]})" if skipped else ""
            raise DataError(f"No readable sample image in {list(samples)[:3]}{first}. Give image files "
                            "or a folder for --sample, or leave it out for synthetic samples.")
        return batch, f"{len(batch)} images from {', '.join(map(str, samples))[:200]}", skipped
    parts = backbone_parts(backbone)
    per_part = [_synthetic(p.info.input_size, getattr(p, "channels", 3)) for p in parts]
    batch = per_part[0] if len(parts) == 1 else list(zip(*per_part))
    return batch, f"{N_SYNTHETIC} synthetic images (noise and gradients)", []


def _synthetic(size: int, channels: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, size)
    batch = []
    for i in range(N_SYNTHETIC):  # gradients, noise and flat colors: varied activations
        img = rng.integers(0, 256, (size, size, 3)).astype(np.float64)
        if i % 2:
            img = 0.3 * img + 0.7 * np.stack([ramp[None, :].repeat(size, 0),
                                              ramp[:, None].repeat(size, 1),
                                              np.full((size, size), 40.0 * i)], axis=2)
        img = img.mean(axis=2) if channels == 1 else img
        batch.append(np.clip(img, 0, 255).astype(np.uint8))
    return batch


def _export_graph(graph: torch.nn.Module, example: torch.Tensor | tuple[torch.Tensor, ...], path: Path,
                  opset: int, input_names: Sequence[str] = (INPUT_NAME,)) -> None:
    """Write ``graph`` traced on ``example`` (one tensor per input: a concatenation has several)."""
    kwargs = dict(input_names=list(input_names), output_names=list(OUTPUT_NAMES), opset_version=opset,
                  dynamic_axes={**{i: {0: "batch"} for i in input_names}, **{o: {0: "batch"} for o in OUTPUT_NAMES}})
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # TorchScript exporter: ~1 s instead of ~15 s, same graph quality
    if threading.current_thread() is threading.main_thread():
        ignore_exporter_notes()  # again: a command's start (cli.main) put its own filters in front
    with torch.no_grad():
        torch.onnx.export(graph, example if isinstance(example, tuple) else (example,), str(path), **kwargs)


def ignore_exporter_notes() -> None:
    """Hide torch's ``EXPORTER_NOTES`` in this process: one filter for each text, nothing else.

    Set once at import (under the import lock) and again by exports on the main thread, not by
    exports on other threads; and not with ``warnings.catch_warnings()`` around the export: that
    swaps the process-wide filter list, so two exports at once (the server runs them on worker
    threads) could leave "ignore every warning" behind for the whole process, or drop a filter
    another thread set meanwhile."""
    for category, text, module in EXPORTER_NOTES:
        warnings.filterwarnings("ignore", message=re.escape(text), category=category, module=module)


ignore_exporter_notes()


def _metadata(clf, model_dir: Path | None, report_fields: dict, support: str | None = None) -> dict[str, str]:
    info = clf._backbone.info
    doc = getattr(clf, "model_json_", {})
    meta = {
        "handful.version": __version__,
        "handful.classes": json.dumps([str(c) for c in clf.classes_]),
        "handful.preprocessing": json.dumps(model_preprocessing(clf._backbone)),
        "handful.backbone": json.dumps({"name": info.name, "fingerprint": clf._backbone.fingerprint,
                                        "info": info.to_json(), **_parts_json(clf._backbone)}),
        "handful.head": json.dumps({"type": type(clf.head_).__name__,
                                    "params": clf.head_.get_params()}, default=str),
        "handful.outputs": json.dumps({"probabilities": "(batch, n_classes) float32, classes order",
                                       "embeddings": f"(batch, {info.dim}) float32"}),
        "handful.parity": json_text(report_fields),
    }
    if model_dir is not None and support is None:
        meta["handful.model"] = json.dumps({"path": str(model_dir), "head_sha256": head_digest(model_dir),
                                            "created": doc.get("created")})
    if support is not None:  # the head is the support set's prototypes, not the model's head file
        meta["handful.support"] = json.dumps({"model": str(model_dir), "created": doc.get("created"),
                                              "support": str(support), **clf.training_})
    return meta


def _parts_json(backbone: Backbone) -> dict:
    """A concatenation's parts, each as the backbone entry of its own export would be."""
    parts = backbone_parts(backbone)
    if len(parts) == 1:
        return {}
    return {"parts": [{"name": p.name, "fingerprint": p.fingerprint, "info": p.info.to_json()} for p in parts]}


def _write_metadata(path: Path, meta: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    model.producer_name, model.producer_version = "handful", __version__
    model.doc_string = ("handful classifier: input 'image' uint8 (batch, H, W, 3) RGB, or (batch, H, W) "
                        "grayscale where metadata 'handful.preprocessing' says channels 'L', resized and "
                        "center-cropped as in that metadata (a concatenated backbone: one input per part, "
                        "'image_<part>', each as its entry in that metadata's 'inputs'); output "
                        "'probabilities' in the order of 'handful.classes'.")
    del model.metadata_props[:]
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def _parity(path: Path, graph: ClassifierGraph, clf, batch: list[np.ndarray]) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    backbone = clf._backbone
    proba_ort, emb_ort = session.run(list(OUTPUT_NAMES), input_feeds(input_names(backbone), batch))
    with _float32(backbone):
        emb_ref = np.asarray(backbone.embed(batch), dtype=np.float32)
    proba_ref = clf.head_.predict_proba(emb_ref)  # handful's own numpy head, float64
    vs_default = None
    if _reduced_precision(backbone):
        default = clf.head_.predict_proba(np.asarray(backbone.embed(batch), dtype=np.float32))
        vs_default = float(np.abs(proba_ort - default).max())
    return {"n_samples": len(batch), "max_abs_diff": float(np.abs(proba_ort - proba_ref).max()),
            "max_abs_diff_embeddings": float(np.abs(emb_ort - emb_ref).max()),
            "max_abs_diff_vs_default": vs_default}


def export_onnx(model, out: str | Path | None = None, samples: Sequence[str] = (),
                opset: int = OPSET, tolerance: float = 1e-4, support: str | Path | None = None,
                nested: bool = False) -> ExportReport:
    """Export a model directory (or a fitted image ``Classifier``) to one ONNX file.

    Args:
        model: a model directory written by ``handful train``, or a fitted Classifier.
        out: the ``.onnx`` file to write (default ``MODEL/model.onnx``; required with ``support``).
        samples: image files/folders for the parity check (default: synthetic images).
        tolerance: largest allowed max abs difference of probabilities vs PyTorch.
        support: a support folder (a sub-folder per class, 1+ image each): the graph's head is
            the nearest prototype over its classes (``Classifier.fit_support``), e.g. new
            characters for a meta-trained ProtoNet.
        nested: read ``support`` as a nested tree: every leaf folder is a class
            (``alphabet/character/``), named by its path in the tree.

    Raises:
        BundleError: text model, unsupported head, or parity worse than ``tolerance``.
    """
    from ..classifier import Classifier, load
    from ..optional import require_extra

    # torch.onnx needs onnx and onnxscript, the parity check onnxruntime: say so before any work
    require_extra("onnx", ("onnx", "onnxscript", "onnxruntime"), "ONNX export")
    model_dir = None if isinstance(model, Classifier) else Path(model)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise DataError(f"--opset must be from {MIN_OPSET} to {MAX_OPSET} (what the exporter writes and "
                        f"handful's graphs need; {OPSET} is the default). Got {opset}.")
    if out is not None and Path(out).suffix != ".onnx":  # predict tells an export by it
        raise DataError(f"--out must name a .onnx file (`handful predict` takes a path ending in .onnx for "
                        f"an export, anything else for a model folder). Got '{out}'; use e.g. "
                        f"'{Path(out).with_suffix('.onnx').name}'.")
    if support is not None and out is None:
        raise DataError(f"--support needs --out FILE.onnx: the support set's graph is a file of its own "
                        f"({model_dir or 'the model'}/model.onnx stays the model's own export).")
    if support is not None and model_dir is not None and Path(out).resolve() == (model_dir / "model.onnx").resolve():
        raise DataError(f"--out '{out}' is the model's own export ({model_dir / 'model.onnx'}, which `predict "
                        "--runtime onnx` runs), and the support set's graph would replace it. Choose another "
                        f"--out, e.g. '{model_dir / 'support.onnx'}'.")
    if support is not None and Path(support).is_dir() and is_inside(out, support):
        raise DataError(f"Output '{out}' is inside the support folder '{support}'; the next read of the "
                        "support set would take it for one of its files. Choose an --out outside it.")
    clf = model if model_dir is None else load(model_dir, cache=False)
    if support is not None:
        clf.fit_support(support, nested=nested)
    clf._check_fitted()
    if out is None:
        if model_dir is None:
            raise DataError("export_onnx needs `out` when given a Classifier object.")
        out = model_dir / "model.onnx"
    out = Path(out)
    graph = ClassifierGraph(clf._backbone, clf.head_).eval()
    batch, samples_text, skipped = sample_inputs(clf._backbone, samples)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name[:40]}.tmp-", suffix=".onnx")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        example = input_feeds(input_names(clf._backbone), batch[:2])
        _export_graph(graph, tuple(torch.from_numpy(x) for x in example.values()), tmp, opset, list(example))
        parity = _parity(tmp, graph, clf, batch)
        if not parity["max_abs_diff"] <= tolerance:
            raise BundleError(f"ONNX export of {model_dir or 'the model'} failed its parity check: "
                              f"max abs difference of probabilities {parity['max_abs_diff']:.3g} > "
                              f"tolerance {tolerance:g}. Report this as a bug, or raise --tolerance.")
        meta = _metadata(clf, model_dir, {**parity, "samples": samples_text, "opset": opset},
                         None if support is None else str(support))
        _write_metadata(tmp, meta)
        chmod_like_new(tmp)  # mkstemp made it private; a model file is not secret
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportReport(path=str(out), opset=opset, samples=samples_text,
                        metadata={k: json.loads(v) for k, v in meta.items()
                                  if k != "handful.version"},
                        skipped=[{"path": p, "reason": r} for p, r in skipped], **parity)
