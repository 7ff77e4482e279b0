"""What ``handful train`` prints about its data and its model search: the skipped inputs, the
leaderboard and the cross-validated accuracy (also used by ``ladder`` and ``finetune``)."""

from __future__ import annotations

from ..data import Examples
from .output import Output, pct
from .zeroshot import prior_cv


def print_skipped(out: Output, examples: Examples, where: str = "") -> None:
    """The first 20 inputs left out of ``examples`` and why; ``where`` names the set when it is not
    the training set (e.g. "the held-out split data/val")."""
    if examples.skipped:
        out.print(f"Skipped {len(examples.skipped)} bad input(s){f' in {where}' if where else ''}:",
                  style="yellow")
        for path, reason in examples.skipped[:20]:
            out.print(f"  {path}: {reason}")
        if len(examples.skipped) > 20:
            out.print(f"  ... and {len(examples.skipped) - 20} more (see report.json)")


def print_leaderboard(out: Output, leaderboard, top: int = 12) -> None:
    if leaderboard is None:
        return
    # a concatenation breaks after its "+" when the column is narrow, not inside a name
    rows = [[i + 1, r.get("backbone", "").replace("+", "+\n"), r["label"], pct(r["mean"]),
             "-" if r["std"] is None else f"±{100 * r['std']:.1f}"]
            for i, r in enumerate(leaderboard.rows[:top])]
    if len(leaderboard.rows) > top:
        rows.append(["", "", f"... {len(leaderboard.rows) - top} more in report.json", "", ""])
    base = getattr(leaderboard, "baseline", None)
    if base:
        rows.append(["", "-", base["label"], pct(base["mean"]), f"±{100 * base['std']:.1f}"])
    score = "CV bal. acc" if getattr(leaderboard, "metric", "accuracy") == "balanced_accuracy" else "CV acc"
    out.table(f"Leaderboard ({leaderboard.scheme})", ["#", "backbone", "head", score, "spread"], rows)


def print_cv_accuracy(out: Output, selection: dict | None, prior: dict | None = None) -> None:
    """The winner's CV accuracy (balanced accuracy, with the class sizes that made the search
    use it, on imbalanced classes); with a zero-shot prior of weight > 0 (``prior``: its selection
    note), also the saved model's own figure: the winner's is the head's without the prior."""
    if selection is None:
        return
    metric = selection.get("metric", "accuracy")
    line = f"Cross-validated accuracy: {pct(selection['cv_accuracy'])}" if metric == "accuracy" else (
        f"Cross-validated balanced accuracy (classes range from {selection['class_sizes'][0]} to "
        f"{selection['class_sizes'][1]} examples): {pct(selection[f'cv_{metric}'])}")
    if selection["candidates"] > 1 and selection["selection_bias"] < 5e-4:
        line += (f" (the best of {selection['candidates']} candidates; none beat it on any fold, so "
                 "picking it flatters nothing)")
    elif selection["candidates"] > 1:
        line += (f" (the best of {selection['candidates']} candidates on these folds; allowing for that "
                 f"choice, about {pct(selection[f'adjusted_{metric}'])} on new data)")
    cv = prior_cv(prior)
    if cv and prior["weight"] > 0:  # in the search's metric unless an older note says otherwise
        named = "" if cv["metric"] == metric else f" {cv['metric'].replace('_', ' ')}"
        line += (f"; that is the head alone: the saved model adds the zero-shot prior, {pct(cv['with_prior'])} "
                 f"cross-validated{named} (its weight chosen on those folds)")
    out.print(line)
