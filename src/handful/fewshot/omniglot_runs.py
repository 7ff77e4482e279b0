"""Lake et al.'s 20-way one-shot Omniglot benchmark: 20 runs of 20 support and 20 test images.

Layout of each run folder: ``training/classNN.png`` (one drawing per class),
``test/itemNN.png`` and ``class_labels.txt`` with lines ``runNN/test/itemNN.png
runNN/training/classNN.png`` giving each test item's true class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, DataNotFoundError
from .episodes import Scorer

# Published error rates on these 20 runs (Lake, Salakhutdinov & Tenenbaum, Science 2015),
# and the usual range of metric-learning convnets.
REFERENCES = [
    {"method": "People", "error": 0.045, "source": "Lake et al. 2015"},
    {"method": "Bayesian Program Learning (BPL)", "error": 0.033, "source": "Lake et al. 2015"},
    {"method": "Siamese / ProtoNet-style convnets", "error": None, "error_range": [0.05, 0.08],
     "source": "typical on these runs"},
]


@dataclass(frozen=True)
class OneShotRun:
    """One run: ``support`` paths (one per class), ``test`` paths, ``answer[i]`` = class of test i."""

    name: str
    support: tuple[str, ...]
    test: tuple[str, ...]
    answer: tuple[int, ...]


def read_run(folder: Path) -> OneShotRun:
    """Parse ``class_labels.txt`` of one run folder (paths resolved inside the folder)."""
    labels_file = folder / "class_labels.txt"
    if not labels_file.is_file():
        raise DataError(f"Run folder {folder} has no class_labels.txt. Expected Lake's layout: "
                        "training/classNN.png, test/itemNN.png, class_labels.txt.")
    try:
        text = labels_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{labels_file} is not UTF-8 text (byte {err.start}); it must hold lines "
                        "'runNN/test/itemNN.png runNN/training/classNN.png'.") from None
    pairs = [line.split() for line in text.splitlines() if line.strip()]
    if not pairs or any(len(p) != 2 for p in pairs):
        raise DataError(f"{labels_file} must hold lines 'runNN/test/itemNN.png runNN/training/classNN.png'"
                        + (" (it is empty)." if not pairs else "."))
    support = sorted({str(folder.joinpath(*Path(s).parts[-2:])) for _, s in pairs})
    test = [str(folder.joinpath(*Path(t).parts[-2:])) for t, _ in pairs]
    answer = [support.index(str(folder.joinpath(*Path(s).parts[-2:]))) for _, s in pairs]
    return OneShotRun(folder.name, tuple(support), tuple(test), tuple(answer))


def read_runs(root: str | Path) -> tuple[list[OneShotRun], list[tuple[str, str]]]:
    """Every run under ``root`` (``run01`` ... ``run20``), or ``root`` itself if it is one run,
    and ``(folder, reason)`` for each sub-folder that looks like a run (a ``training`` or ``test``
    folder inside) but cannot be read: it is skipped, the others are scored."""
    root = Path(root)
    if not root.is_dir():
        raise DataNotFoundError(f"Runs folder '{root}' does not exist. Give the folder holding run01..run20.")
    if (root / "class_labels.txt").is_file():
        return [read_run(root)], []
    runs, skipped = [], []
    for folder in sorted(d for d in root.iterdir() if d.is_dir()):
        if not (folder / "class_labels.txt").is_file():
            if (folder / "training").is_dir() or (folder / "test").is_dir():
                skipped.append((folder.name, "run skipped: no class_labels.txt"))
            continue
        try:
            runs.append(read_run(folder))
        except DataError as err:
            skipped.append((folder.name, f"run skipped: {err}"))
    if not runs:
        reason = f" ({skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise DataError(f"No readable runs in {root}{reason}: expected sub-folders with training/, test/ "
                        "and class_labels.txt (run01, ...).")
    return runs, skipped


# embed(paths) -> (embeddings (n, d), {index: reason})
Embed = Callable[[list[str]], tuple[np.ndarray, dict[int, str]]]
# episode_outputs(support_paths, support_y, test_paths) -> (support emb, test emb), for fine-tuning
EpisodeOutputs = Callable[[list[str], np.ndarray, list[str]], tuple[np.ndarray, np.ndarray]]


def evaluate_runs(runs: list[OneShotRun], embed: Embed, scorer: Scorer,
                  episode_outputs: EpisodeOutputs | None = None,
                  on_run: Callable[[int], None] | None = None,
                  skipped: list[tuple[str, str]] | None = None) -> dict:
    """Error rate per run and overall (mean over runs = errors / test items).

    A run whose support image is unreadable, or that has no readable test item, is skipped (it
    cannot be scored fairly); an unreadable test item is left out of its run. ``skipped``: runs
    already skipped while reading (``read_runs``), listed first in the report.
    """
    per_run, skipped, n_wrong, n_total = [], list(skipped or []), 0, 0
    for run in runs:
        paths = list(run.support) + list(run.test)
        emb, failures = embed(paths)
        bad_support = [paths[i] for i in failures if i < len(run.support)]
        skipped += [(paths[i], reason) for i, reason in failures.items()]
        if bad_support:
            skipped.append((run.name, f"run skipped: support image {bad_support[0]} unreadable"))
            continue
        ok = [j for j in range(len(run.test)) if len(run.support) + j not in failures]
        if not ok:
            skipped.append((run.name, "run skipped: no readable test item"))
            continue
        support_y = np.arange(len(run.support))
        if episode_outputs is not None:
            s_emb, q_emb = episode_outputs(list(run.support), support_y, [run.test[j] for j in ok])
        else:
            s_emb, q_emb = emb[:len(run.support)], emb[[len(run.support) + j for j in ok]]
        pred = scorer(s_emb, support_y, q_emb, len(run.support))
        wrong = int(np.sum(pred != np.asarray(run.answer)[ok]))
        per_run.append({"run": run.name, "errors": wrong, "n": len(ok), "error": wrong / max(1, len(ok))})
        n_wrong, n_total = n_wrong + wrong, n_total + len(ok)
        if on_run:
            on_run(1)
    if not per_run:
        raise DataError(f"No run could be scored: {skipped[-1][0]}: {skipped[-1][1]}"
                        + (f" (and {len(skipped) - 1} more skipped)." if len(skipped) > 1 else "."))
    n_runs_skipped = sum(reason.startswith("run skipped") for _, reason in skipped)
    return {"error": n_wrong / n_total, "accuracy": 1 - n_wrong / n_total, "errors": n_wrong,
            "n": n_total, "n_runs": len(per_run), "n_runs_skipped": n_runs_skipped, "runs": per_run,
            "references": REFERENCES,
            "skipped": [{"path": p, "reason": r} for p, r in skipped]}


def format_reference(ref: dict) -> str:
    """``People 4.5%`` or ``Siamese ... 5-8%``."""
    if ref["error"] is not None:
        return f"{ref['method']} {100 * ref['error']:.1f}%"
    lo, hi = ref["error_range"]
    return f"{ref['method']} {100 * lo:.0f}-{100 * hi:.0f}%"
