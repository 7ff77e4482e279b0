"""Does the temperature fitted on the validation split calibrate a fine-tuned model on held-out data?

`handful finetune` fits one temperature on the kept network's answers on its validation split
(`finetune/calibration.py`). This scores the saved model on a held-out set twice: with that
temperature, and with T = 1 (the network's own confidence, as before session 24): accuracy,
expected calibration error (15 bins) and NLL. Data: hymenoptera train -> val (245 -> 153), and
the first 40 images per class of flowers5 train -> flowers5 test (200 -> 641); each with the
default refit on all images and with --no-refit.

    HANDFUL_CACHE=/tmp/hcache .venv/bin/python benchmarks/finetune_calibration.py  # ~6 min, 2 cores
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from common import datasets_dir, require, write_result
from handful.data import load_examples
from handful.evaluate.calibration import expected_calibration_error, negative_log_likelihood
from handful.finetune.tune import FinetuneConfig, finetune

PER_CLASS = 40  # flowers5: few enough that the validation split (15%: 6 per class) is small


def first_per_class(train: Path, out: Path, k: int) -> Path:
    for cls in sorted(p for p in train.iterdir() if p.is_dir()):
        (out / cls.name).mkdir(parents=True)
        for f in sorted(cls.iterdir())[:k]:
            shutil.copy(f, out / cls.name / f.name)
    return out


def heldout_scores(clf, test) -> dict:
    y = np.array([list(clf.classes_).index(label) for label in test.labels])
    temperature = clf.head_.calibration_
    scaled = clf.predict_proba(list(test.items))
    clf.head_.calibration_ = 1.0
    raw = clf.predict_proba(list(test.items))
    clf.head_.calibration_ = temperature
    return {"temperature": float(temperature), "accuracy": float((scaled.argmax(1) == y).mean()),
            "ece_before": expected_calibration_error(raw, y), "ece_after": expected_calibration_error(scaled, y),
            "nll_before": negative_log_likelihood(raw, y), "nll_after": negative_log_likelihood(scaled, y),
            "confidence_before": float(raw.max(1).mean()), "confidence_after": float(scaled.max(1).mean())}


def main() -> None:
    data = datasets_dir()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"hymenoptera": (require(data / "hymenoptera" / "train"), data / "hymenoptera" / "val", 3),
                f"flowers5 ({PER_CLASS} per class)": (
                    first_per_class(require(data / "flowers5_128px" / "train"), Path(tmp) / "fl", PER_CLASS),
                    data / "flowers5_128px" / "test", 6)}
        for name, (train, test_dir, epochs) in sets.items():
            examples, test = load_examples(train), load_examples(test_dir, min_classes=1)
            for refit in (False, True):
                start = time.perf_counter()
                result = finetune(examples, config=FinetuneConfig(epochs=epochs, refit=refit, seed=0))
                seconds = time.perf_counter() - start
                calibration = result.classifier.calibration_
                row = {"data": name, "epochs": epochs, "refit": refit, "seconds": round(seconds, 1),
                       "n_validation": calibration.get("n"), "val_ece_before": calibration.get("val_ece_before"),
                       "val_ece_after": calibration.get("val_ece_after"),
                       **heldout_scores(result.classifier, test)}
                rows.append(row)
                print(name, "refit" if refit else "no refit", f"T={row['temperature']:.2f}",
                      f"held-out ECE {100 * row['ece_before']:.1f}% -> {100 * row['ece_after']:.1f}%",
                      f"NLL {row['nll_before']:.3f} -> {row['nll_after']:.3f}", f"({seconds:.0f} s)", flush=True)
    write_result("finetune_calibration", {"rows": rows})


if __name__ == "__main__":
    main()
