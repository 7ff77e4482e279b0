"""Measure the learning curves behind the data-need prior and write
``src/handful/evaluate/curve_prior.json`` (the fitted whole curves) and
``benchmarks/results/curve_prior.json`` (the measured points, and how well the estimator
does on each of these tasks when that task is left out of the prior).

Tasks: SentEval CR, MPQA, MR, SUBJ (folds 0-1 test), SST-5, SST-2 (dev as test), the three
UCI sentiment sets and Debian package descriptions by section (a topic task) with MiniLM and
e5-small; Omniglot alphabets (which of 8 alphabets a drawing is), scikit-learn digits (8x8
scaled to 64 px), Fashion-MNIST (Debian's dataset-fashion-mnist) and the simulated textile
defects of the conformal-clip-data wheel with EfficientNet-Lite0 and -Lite2. Each with the
logistic and prototype heads: curves at 1-30 per class and the full pool (up to 600 per
class), 10 repeats on a fixed test set (up to 1,500). Hymenoptera, flowers5 and TREC are left
out: they are the back-test's (`advise_backtest.py`).
Run: `HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/curve_prior.py` (about 30 minutes on 2 cores
with the embeddings cached); `... curve_prior.py --from-results` refits the prior and re-runs the
evaluation on the curves of the last run (seconds); `... --add-missing` measures only the tasks the
last run lacks.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from common import RESULTS, datasets_dir, require, write_result
from handful.classifier import Classifier
from handful.evaluate.advice import TEMPER, posterior_fits
from handful.evaluate.curve_fit import fit_curve
from handful.evaluate.curve_prior import BANDWIDTH, PRIOR_FILE, UNIFORM_SHARE, prior_density
from handful.evaluate.learning_curve import measure_learning_curve
from handful.heads import create_head

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")  # apt-get install dataset-fashion-mnist
SIZES = (1, 2, 3, 5, 8, 10, 15, 20, 30)
POOL_CAP, TEST_CAP = 600, 1500
HEADS = (("logistic", {"C": 1.0}), ("prototype", {}))


def _rows(path: Path, text: str = "sentence", label: str = "label") -> list[tuple]:
    with open(path, newline="", encoding="utf-8") as f:
        return [(r[text], r[label], r.get("fold"))
                for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def _split(train: list, test: list, rng: np.random.Generator) -> tuple[list, list]:
    """A pool of up to POOL_CAP per class and a test set of up to TEST_CAP, both shuffled."""
    pool, per = [], {}
    for item, label, *_ in (train[i] for i in rng.permutation(len(train))):
        if per.get(label, 0) < POOL_CAP:
            per[label] = per.get(label, 0) + 1
            pool.append((item, label))
    return pool, [(item, label) for item, label, *_ in (test[i] for i in rng.permutation(len(test))[:TEST_CAP])]


def text_tasks(root: Path):
    senteval = root / "text" / "senteval_text"
    for name in ("cr", "mpqa", "mr", "subj"):
        rows = _rows(require(senteval / f"{name}.tsv"))
        yield name, [r for r in rows if int(r[2]) >= 2], [r for r in rows if int(r[2]) < 2]
    yield "sst5", _rows(senteval / "sst5" / "train.tsv"), _rows(senteval / "sst5" / "test.tsv")
    yield "sst2", _rows(root / "text" / "sst2" / "train.tsv"), _rows(root / "text" / "sst2" / "dev.tsv")
    for name in ("amazon_cells", "imdb", "yelp"):
        rows = _rows(root / "text" / "uci_sentiment_sentences" / f"{name}_labelled.tsv")
        rows = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
        yield f"uci_{name}", rows[250:], rows[:250]
    yield "debian_sections", *_debian_sections()


DEBIAN_SECTIONS = ("admin", "games", "graphics", "net", "science", "sound", "text", "utils")


def _debian_sections() -> tuple[list, list]:
    """Which Debian section a package is in, from its one-line description ("Real-time strategy
    game of ancient warfare" -> games): a topic task, unlike the sentiment ones, read from this
    machine's apt lists (Debian bookworm main; `apt-get update` first). Descriptions found in two
    sections are dropped; 1,500 held out as the test set."""
    import subprocess

    try:
        dump = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("debian_sections: needs apt-cache and the apt lists (apt-get update)") from None
    sections: dict[str, set] = {}
    for stanza in dump.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        if fields.get("Section") in DEBIAN_SECTIONS and fields.get("Description"):
            sections.setdefault(fields["Description"].strip(), set()).add(fields["Section"])
    items = sorted((text, next(iter(found))) for text, found in sections.items() if len(found) == 1)
    items = [items[i] for i in np.random.default_rng(0).permutation(len(items))]
    return items[1500:], items[:1500]


def image_tasks(root: Path, scratch: Path):
    alphabets = {}
    for background in ("images_background_small1", "images_background_small2"):
        for folder in sorted((require(root / "omniglot" / background)).iterdir()):
            if folder.is_dir() and folder.name not in alphabets:  # Greek and Latin are in both
                alphabets[folder.name] = sorted(str(p) for p in folder.rglob("*.png"))
    items = [(p, name) for name, paths in alphabets.items() for p in paths]
    items = [items[i] for i in np.random.default_rng(0).permutation(len(items))]
    yield "omniglot_alphabets", items[1500:], items[:1500]
    yield "digits", *_digits(scratch / "digits64")
    yield "fashion_mnist", *_fashion_mnist(scratch / "fashion_mnist")
    yield "textiles", *_textiles()


def _fashion_mnist(scratch: Path) -> tuple[list, list]:
    """Debian's dataset-fashion-mnist: up to POOL_CAP training images per class and TEST_CAP
    test images, written once as 28 px PNGs."""
    import gzip

    from PIL import Image

    def read(stem: str) -> tuple[np.ndarray, np.ndarray]:
        with gzip.open(require(FASHION_MNIST / f"{stem}-images-idx3-ubyte.gz")) as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(FASHION_MNIST / f"{stem}-labels-idx1-ubyte.gz") as f:
            return images, np.frombuffer(f.read(), np.uint8, offset=8)

    def items(images: np.ndarray, labels: np.ndarray, split: str, cap: int, per_class: bool) -> list:
        out, per = [], {}
        for i in np.random.default_rng(0).permutation(len(labels)):
            label = str(labels[i])
            if per_class and per.get(label, 0) >= cap or not per_class and len(out) >= cap:
                continue
            per[label] = per.get(label, 0) + 1
            path = scratch / split / f"{i}.png"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(images[i]).save(path)
            out.append((str(path), label))
        return out

    return items(*read("train"), "train", POOL_CAP, True), items(*read("t10k"), "test", TEST_CAP, False)


def _textiles() -> tuple[list, list]:
    """The simulated textile images of the conformal-clip-data wheel (nominal, local and global
    defects; 250 px): 600 of the 2,000 held out as the test set."""
    try:
        import conformal_clip_data
    except ImportError:
        raise SystemExit("textiles: .venv/bin/pip install conformal-clip-data") from None
    root = Path(conformal_clip_data.__file__).parent / "data" / "textile_images" / "simulated"
    items = [(str(p), folder.name) for folder in sorted(root.iterdir()) for p in sorted(folder.glob("*.jpg"))]
    items = [items[i] for i in np.random.default_rng(0).permutation(len(items))]
    return items[600:], items[:600]


def _digits(scratch: Path) -> tuple[list, list]:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    scratch.mkdir(parents=True, exist_ok=True)
    items = []
    for i, (pixels, label) in enumerate(zip(digits.images, digits.target)):
        path = scratch / f"{i}.png"
        if not path.exists():
            Image.fromarray((pixels * 255 / 16).astype(np.uint8)).resize((64, 64)).save(path)
        items.append((str(path), str(label)))
    items = [items[i] for i in np.random.default_rng(0).permutation(len(items))]
    return items[500:], items[:500]


def measure(X, y, X_test, y_test, head: str, params: dict) -> list[dict]:
    def fit_predict(X_train, y_train, X_eval):
        return create_head(head, **params).fit(X_train, y_train).predict(X_eval)

    full = int(np.unique(y, return_counts=True)[1].max())
    curve = measure_learning_curve(X, y, fit_predict, [*SIZES, full], repeats=10,
                                   X_test=X_test, y_test=y_test)
    return [{"size": p["size"], "n": round(p["n"], 2), "mean": round(p["mean"], 4),
             "runs": [round(r, 4) for r in p["runs"]]} for p in curve["points"]]


def whole_fit(points: list[dict]):
    runs = np.array([p["runs"] for p in points])
    return fit_curve(np.array([p["n"] for p in points]), runs.mean(axis=1),
                     runs.std(axis=1) / math.sqrt(runs.shape[1]))


# (kernel widths, uniform share, temper) tried; shipped (curve_prior.BANDWIDTH, UNIFORM_SHARE,
# advice.TEMPER): the lowest error from <= 10 per class among those whose range holds the truth
# most often
SETTINGS = tuple((b, u, t) for t in (4.0, 16.0, 32.0, 64.0) for u in (0.2, 0.5) for b in ((0.35, 0.6), (0.7, 1.5)))


def leave_one_task_out(curves: list[dict], fits: list, up_to: int, bandwidth=BANDWIDTH,
                       uniform: float = UNIFORM_SHARE, temper: float = TEMPER) -> dict:
    """Each curve's full-size accuracy predicted from sizes <= up_to, its task out of the prior."""
    rows = []
    for curve in curves:
        others = tuple(f for c, f in zip(curves, fits) if c["task"] != curve["task"])
        small = [p for p in curve["points"] if p["size"] <= up_to]
        n_ref = small[-1]["n"]
        main, draws = posterior_fits({"points": curve["points"]}, max_size=up_to,
                                     prior=prior_density(n_ref, others, bandwidth, uniform), temper=temper)
        full = curve["points"][-1]
        lo, hi = np.percentile([d.accuracy(full["n"]) for d in draws], [10, 90])
        predicted = float(main.accuracy(full["n"]))
        rows.append({"curve": curve["name"], "error_points": round(100 * (predicted - full["mean"]), 2),
                     "inside_10_90": bool(lo <= full["mean"] <= hi)})
    errors = np.array([r["error_points"] for r in rows])
    return {"mean_abs_error": round(float(np.abs(errors).mean()), 2),
            "mean_error": round(float(errors.mean()), 2), "max_abs_error": round(float(np.abs(errors).max()), 2),
            "coverage_10_90": round(float(np.mean([r["inside_10_90"] for r in rows])), 2), "rows": rows}


def measure_all(done: frozenset = frozenset()) -> list[dict]:
    """The curves of every task and backbone, except the (task, backbone) pairs in ``done``."""
    root = datasets_dir()
    jobs = [(b, "text", t) for b in ("minilm", "e5_small") for t in text_tasks(root)]
    scratch = Path(__file__).resolve().parent / "out"
    jobs += [(b, "image", t) for b in ("efficientnet_lite0", "efficientnet_lite2")
             for t in image_tasks(root, scratch)]
    curves = []
    for backbone, modality, (task, train, test) in jobs:
        if (task, backbone) in done:
            continue
        pool, held = _split(train, test, np.random.default_rng(0))
        clf = Classifier(backbone)
        X, bad = clf.embed([item for item, _ in pool], modality)
        X_test, bad_test = clf.embed([item for item, _ in held], modality)
        assert not bad and not bad_test, (bad, bad_test)
        y = np.array([label for _, label in pool], dtype=object)
        y_test = np.array([label for _, label in held], dtype=object)
        for head, params in HEADS:
            points = measure(X, y, X_test, y_test, head, params)
            curves.append({"name": f"{task}/{backbone}/{head}", "task": task, "backbone": backbone,
                           "head": head, "n_classes": len(set(y)), "n_test": len(y_test), "points": points})
            print(f"{curves[-1]['name']:45s} " + " ".join(f"{100 * p['mean']:.1f}" for p in points),
                  file=sys.stderr)
    return curves


def main() -> None:
    """Measure the curves (or, with ``--from-results``, take those of the last run), write the
    prior, and evaluate the estimator on them with each setting."""
    start = time.perf_counter()
    if "--from-results" in sys.argv:
        saved = json.loads((RESULTS / "curve_prior.json").read_text())
        curves, seconds = saved["curves"], saved["seconds_measuring"]
    elif "--add-missing" in sys.argv:  # measure only the tasks the last run lacks
        saved = json.loads((RESULTS / "curve_prior.json").read_text())
        curves = saved["curves"] + measure_all(frozenset((c["task"], c["backbone"]) for c in saved["curves"]))
        seconds = round(saved["seconds_measuring"] + time.perf_counter() - start, 1)
    else:
        curves = measure_all()
        seconds = round(time.perf_counter() - start, 1)
    fits = [whole_fit(c["points"]) for c in curves]
    PRIOR_FILE.write_text(json.dumps({
        "about": "Whole learning curves (error = f + b n^-c, or piecewise (f, b, c1, c2, n0)) of the "
                 "tasks listed; written by benchmarks/curve_prior.py",
        "curves": [{"curve": c["name"], "n_full": c["points"][-1]["n"], "kind": f.kind,
                    "params": [round(v, 5) for v in f.params]} for c, f in zip(curves, fits)]},
        indent=1) + "\n")
    settings = []
    for bandwidth, uniform, temper in SETTINGS:
        row = {"bandwidth": list(bandwidth), "uniform": uniform, "temper": temper}
        for k in (10, 30):
            result = leave_one_task_out(curves, fits, k, bandwidth, uniform, temper)
            row[f"fit_up_to_{k}"] = {key: v for key, v in result.items() if key != "rows"}
        settings.append(row)
        print(f"{bandwidth} {uniform} {temper}: " + "; ".join(
            f"<={k}: |error| {row[f'fit_up_to_{k}']['mean_abs_error']} pts (mean "
            f"{row[f'fit_up_to_{k}']['mean_error']:+}), 10-90% holds {row[f'fit_up_to_{k}']['coverage_10_90']:.0%}"
            for k in (10, 30)), file=sys.stderr)
    evaluation = {f"fit_up_to_{k}": leave_one_task_out(curves, fits, k) for k in (10, 30)}
    write_result("curve_prior", {"sizes_per_class": list(SIZES), "repeats": 10, "seconds_measuring": seconds,
                                 "shipped": {"bandwidth": list(BANDWIDTH), "uniform": UNIFORM_SHARE,
                                             "temper": TEMPER},
                                 "leave_one_task_out": evaluation, "settings_tried": settings,
                                 "curves": curves})


if __name__ == "__main__":
    main()
