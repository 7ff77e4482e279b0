"""ONNX export of a meta-trained Conv-4 with a support set: parity, agreement and speed.

The `pyramid_full` model of `omniglot_fewshot.py` (32-64-128-256, 3 px test-time shifts = 49 views
per image, all inside the graph) is exported with a support folder of the held-out Greek + Latin
characters, the first drawing of each (50 classes), as `handful export MODEL --support DIR --out
FILE` does. The other 950 held-out drawings are then classified end to end (decode + 49 views +
nearest prototype) by the torch path (bf16 where the CPU has it, handful's default; and float32)
and by ONNX Runtime (float32): images/s, accuracy, and how often the labels agree.
Run: `flock /tmp/handful-cpu.lock .venv/bin/python benchmarks/onnx_fewshot.py` → results/onnx_fewshot.json
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from common import datasets_dir, require, write_result
from handful import load
from handful.export import OnnxClassifier, export_onnx
from handful.fewshot.sources import restrict, scan_many

MODEL = Path(__file__).resolve().parent / "out" / "omniglot" / "protonet_pyramid_full"


def timed(predictor, paths: list[str]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    proba, ok, _ = predictor.predict_proba_items(paths)
    assert len(ok) == len(paths)
    return len(paths) / (time.perf_counter() - start), proba


def main() -> None:
    torch.set_num_threads(2)
    root = require(datasets_dir() / "omniglot")
    clf = load(require(MODEL), cache=False)
    held = clf.model_json_["fewshot"]["heldout_classes"]
    examples, _ = scan_many([root / "images_background_small1", root / "images_background_small2"], nested=True)
    examples = restrict(examples, held)
    with tempfile.TemporaryDirectory() as tmp:
        support, queries, labels = Path(tmp) / "support", [], []
        for cls in held:
            items = sorted(i for i, c in zip(examples.items, examples.labels) if c == cls)
            (support / cls.replace("/", "_")).mkdir(parents=True)
            shutil.copy(items[0], support / cls.replace("/", "_") / Path(items[0]).name)
            queries += items[1:]
            labels += [cls.replace("/", "_")] * (len(items) - 1)
        onnx_file = Path(tmp) / "greek_latin.onnx"
        started = time.perf_counter()
        report = export_onnx(MODEL, onnx_file, samples=[str(support)], support=support)
        export_seconds = time.perf_counter() - started
        size_mb = onnx_file.stat().st_size / 1e6
        runtime = OnnxClassifier(onnx_file)
        torch_clf = load(MODEL, cache=False).fit_support(support)
        rows, predictions = {}, {}
        for name, predictor in (("torch (default precision)", torch_clf), ("onnxruntime fp32", runtime)):
            timed(predictor, queries[:64])  # warm-up
            speed, proba = timed(predictor, queries)
            predictions[name] = np.asarray(predictor.classes_)[proba.argmax(1)]
            rows[name] = {"images_per_second": round(speed, 1),
                          "accuracy": round(float(np.mean(predictions[name] == np.asarray(labels))), 4)}
            print(name, rows[name], flush=True)
        backbone = torch_clf.backbone_for("image")
        precision = backbone.info.precision
        backbone.info = replace(backbone.info, precision="float32")
        speed, proba = timed(torch_clf, queries)
        predictions["torch fp32"] = np.asarray(torch_clf.classes_)[proba.argmax(1)]
        rows["torch fp32"] = {"images_per_second": round(speed, 1),
                              "accuracy": round(float(np.mean(predictions["torch fp32"] == np.asarray(labels))), 4)}
        print("torch fp32", rows["torch fp32"], flush=True)
    agree = {f"onnx vs {k}": round(float(np.mean(predictions["onnxruntime fp32"] == predictions[k])), 4)
             for k in ("torch (default precision)", "torch fp32")}
    write_result("onnx_fewshot", {
        "model": "benchmarks/out/omniglot/protonet_pyramid_full", "torch_default_precision": precision,
        "support": "first drawing of each held-out Greek + Latin character (50 classes)",
        "queries": len(queries), "tta_views": 49, "export_seconds": round(export_seconds, 1),
        "onnx_megabytes": round(size_mb, 2), "parity": {
            "max_abs_diff_proba_vs_torch_fp32": report.max_abs_diff,
            "max_abs_diff_embeddings": report.max_abs_diff_embeddings,
            "max_abs_diff_proba_vs_torch_default": report.max_abs_diff_vs_default,
            "n_samples": report.n_samples}, "rows": rows, "label_agreement": agree})


if __name__ == "__main__":
    main()
