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

from ..data.images import is_image_path
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
    """One run: ``support`` paths (one per class: every training/ drawing, answer or not), ``test``
    paths, ``answer[i]`` = class of test i; ``unanswered``: test/ drawings class_labels.txt gives no
    answer for (not scored, listed as skipped)."""

    name: str
    support: tuple[str, ...]
    test: tuple[str, ...]
    answer: tuple[int, ...]
    unanswered: tuple[str, ...] = ()


LINE = "'runNN/test/itemNN.png runNN/training/classNN.png'"
LAYOUT = "training/classNN.png, test/itemNN.png and class_labels.txt"
UNANSWERED = "not scored: class_labels.txt has no answer line for this test drawing"


def read_run(folder: Path) -> OneShotRun:
    """Parse ``class_labels.txt`` of one run folder (paths resolved inside the folder)."""
    labels_file = folder / "class_labels.txt"
    if not labels_file.is_file():
        raise DataError(f"Run folder {folder} has no class_labels.txt (each test drawing's answer); expected "
                        f"Lake's layout: {LAYOUT}. Restore the run's class_labels.txt, with lines {LINE}.")
    try:
        text = labels_file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{labels_file} is not UTF-8 text (byte {err.start}); it must hold lines {LINE}.") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    bad = next(((n, line) for n, line in lines if len(line.split()) != 2), None)
    if not lines or bad:
        got = " (it is empty)" if not lines else f"; line {bad[0]} is '{bad[1].strip()[:60]}'"
        raise DataError(f"{labels_file} must hold lines {LINE}{got}. Restore the run's class_labels.txt "
                        "from Lake's one-shot runs.")
    pairs = [line.split() for _, line in lines]
    # every training/ drawing is a choice, named by an answer line or not: a run is N-way among all
    # of them (Lake's protocol), not among the classes class_labels.txt happens to name
    support = sorted({str(folder.joinpath(*Path(s).parts[-2:])) for _, s in pairs} | _drawings(folder / "training"))
    missing = [p for p in support if not Path(p).is_file()]
    if missing:  # an answer that names no drawing cannot be scored: not an "unreadable image"
        raise DataError(f"{labels_file} names {len(missing)} training drawing{'s' * (len(missing) > 1)} not in "
                        f"{folder} (e.g. {Path(missing[0]).relative_to(folder)}). Restore the drawing, or the "
                        "run's class_labels.txt.")
    test = [str(folder.joinpath(*Path(t).parts[-2:])) for t, _ in pairs]
    answer = [support.index(str(folder.joinpath(*Path(s).parts[-2:]))) for _, s in pairs]
    unanswered = sorted(_drawings(folder / "test") - set(test))
    return OneShotRun(folder.name, tuple(support), tuple(test), tuple(answer), tuple(unanswered))


def _drawings(folder: Path) -> set[str]:
    """The image files directly in ``folder`` (none when it is missing)."""
    if not folder.is_dir():
        return set()
    return {str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and is_image_path(p)}


def read_runs(root: str | Path) -> tuple[list[OneShotRun], list[tuple[str, str]]]:
    """Every run under ``root`` (``run01`` ... ``run20``), or ``root`` itself if it is one run,
    and ``(folder, reason)`` for each sub-folder that looks like a run (a ``training`` or ``test``
    folder inside) but cannot be read: it is skipped, the others are scored."""
    root = Path(root)
    if not root.is_dir():
        error = DataError if root.exists() else DataNotFoundError
        raise error(f"Runs folder '{root}' {'is a file' if root.exists() else 'does not exist'}; expected a "
                    f"folder of runs (run01..run20), each with {LAYOUT}. Give the folder holding run01..run20.")
    if (root / "class_labels.txt").is_file() or _looks_like_run(root):
        return [read_run(root)], []
    runs, skipped, folders = [], [], sorted(d for d in root.iterdir() if d.is_dir())
    for folder in folders:
        if not (folder / "class_labels.txt").is_file():
            if _looks_like_run(folder):
                skipped.append((folder.name, "run skipped: no class_labels.txt"))
            continue
        try:
            runs.append(read_run(folder))
        except DataError as err:
            skipped.append((folder.name, f"run skipped: {err}"))
    if not runs:
        raise DataError(_no_runs(root, folders, skipped))
    return runs, skipped


def _looks_like_run(folder: Path) -> bool:
    """A ``training/`` or ``test/`` folder inside (``test/`` beside ``train/`` is a data set's split)."""
    return (folder / "training").is_dir() or ((folder / "test").is_dir() and not (folder / "train").is_dir())


def _no_runs(root: Path, folders: list[Path], skipped: list[tuple[str, str]]) -> str:
    """Why ``root`` gave no run: run folders that could not be read, or none at all (and where they are)."""
    expected = f"expected sub-folders run01..run20, each with {LAYOUT}"
    if skipped:
        (name, reason), n = skipped[0], len(skipped)
        reason = reason.removeprefix("run skipped: ")
        head = (f"None of the {n} run folders in {root} could be read" if n > 1
                else f"The one run folder in {root} could not be read")
        if reason.endswith("."):  # read_run's error: it names what is wrong and the fix
            return f"{head}; {name}: {reason}"
        more = f"; and {n - 1} more" if n > 1 else ""
        return (f"{head} ({name}: {reason}{more}); each run needs {LAYOUT}. Restore the missing files, or "
                "give Lake's one-shot runs.")
    inner = next((d for d in folders if any(_looks_like_run(r) for r in d.iterdir() if r.is_dir())), None)
    if inner is not None:  # the parent of the runs folder (Lake's all_runs/ inside its download)
        return f"Runs folder '{root}' holds no runs itself, but '{inner.name}/' does: give {inner}."
    got = (f"found {len(folders)} sub-folder{'s' * (len(folders) != 1)} ({', '.join(d.name for d in folders[:3])}"
           f"{', ...' if len(folders) > 3 else ''}), none with training/ or test/" if folders else "it is empty")
    return (f"Runs folder '{root}' holds no one-shot runs; {expected}; {got}. Give the folder of Lake's one-shot "
            "runs (a class-per-folder tree is scored with `handful episodes`).")


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
    cannot be scored fairly); an unreadable test item, or one class_labels.txt gives no answer
    for, is left out of its run and listed. ``skipped``: runs already skipped while reading
    (``read_runs``), listed first in the report.
    """
    per_run, skipped, n_wrong, n_total = [], list(skipped or []), 0, 0
    for run in runs:
        skipped += [(path, UNANSWERED) for path in run.unanswered]
        paths = list(run.support) + list(run.test)
        emb, failures = embed(paths)
        bad_support = [paths[i] for i in failures if i < len(run.support)]
        skipped += [(paths[i], reason) for i, reason in failures.items()]
        if bad_support:  # its reason is listed just before, with its path
            skipped.append((run.name, f"run skipped: support image {bad_support[0]} unreadable: "
                                      f"{failures[paths.index(bad_support[0])]}"))
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
        per_run.append({"run": run.name, "errors": wrong, "n": len(ok), "error": wrong / max(1, len(ok)),
                        "n_ways": len(run.support), "n_unanswered": len(run.unanswered)})
        n_wrong, n_total = n_wrong + wrong, n_total + len(ok)
        if on_run:
            on_run(1)
    if not per_run:
        name, reason = skipped[-1]
        more = f" (and {len(skipped) - 1} more skipped)" if len(skipped) > 1 else ""
        raise DataError(f"No run could be scored: {name}: {reason.removeprefix('run skipped: ')}{more}. "
                        "Each run needs all its training/ drawings readable and 1+ readable test/ "
                        "drawing: replace the broken files.")
    n_runs_skipped = sum(reason.startswith("run skipped") for _, reason in skipped)
    return {"error": n_wrong / n_total, "accuracy": 1 - n_wrong / n_total, "errors": n_wrong,
            "n": n_total, "n_runs": len(per_run), "n_runs_skipped": n_runs_skipped, "runs": per_run,
            "references": REFERENCES, "n_unanswered": sum(reason == UNANSWERED for _, reason in skipped),
            "skipped": [{"path": p, "reason": r} for p, r in skipped]}


def format_reference(ref: dict) -> str:
    """``People 4.5%`` or ``Siamese ... 5-8%``."""
    if ref["error"] is not None:
        return f"{ref['method']} {100 * ref['error']:.1f}%"
    lo, hi = ref["error_range"]
    return f"{ref['method']} {100 * lo:.0f}-{100 * hi:.0f}%"
