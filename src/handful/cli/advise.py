"""``handful advise``: how much more labeled data per class, from a learning curve."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from ..data import Examples, load_examples
from ..errors import DataError
from ..jsontext import json_text
from .main import app
from .options import (
    BackboneOpt,
    JsonOpt,
    LabelColOpt,
    NestedOpt,
    NoCacheOpt,
    SeedOpt,
    TextColOpt,
    check_columns_apply,
)
from .output import Output, check_folder_replaceable, json_with, pct, write_folder_files

if TYPE_CHECKING:
    from ..classifier import Classifier

ADVICE_JSON, CURVE_PNG = "advice.json", "learning_curve.png"

AdviseOpt = Annotated[bool, typer.Option(
    "--advise/--no-advise", help="Estimate how many more examples per class would help "
    "(a learning curve: about a second for hundreds of images, half a minute for 3,000; "
    "saved in report.json and learning_curve.png).")]


def advice_for(out: Output, clf: Classifier, X: np.ndarray, examples: Examples,
               plot: Path | None, repeats: int = 10, groups: np.ndarray | None = None) -> dict | None:
    """The data-need estimate on ``clf``'s embeddings with its head (its base head under a prior);
    None, with a warning line, when a class has fewer than 2 different examples (copies of one
    picture are one: none can be held out), so train still saves its model.
    ``groups``: ``duplicate_groups(examples)``, when already computed."""
    from ..data.duplicates import duplicate_groups
    from ..evaluate.data_need import estimate_data_need, n_curve_fits
    from ..evaluate.learning_curve import holdout_problem
    y = np.asarray(examples.labels, dtype=object)
    groups = duplicate_groups(examples) if groups is None else groups
    problem = holdout_problem(y, groups)
    if problem:
        out.print(f"Data-need estimate skipped: {problem}", style="yellow")
        return None
    head = getattr(clf, "head_", None)
    name, params = _head_of(head)
    # no warnings.catch_warnings() around it: its fits say nothing routine, what they do say (a fit
    # that did not converge) bears on the estimate, and swapping the process-wide filters is not
    # thread-safe (a filter another thread set meanwhile was lost)
    with out.progress("Learning curve", n_curve_fits(y, repeats, groups=groups)) as advance:
        return estimate_data_need(X, y, name, params, repeats=repeats, seed=clf.random_state,
                                  plot=plot, title=f"Learning curve ({clf._backbone.name})",
                                  on_fit=lambda: advance(1), groups=groups)


def _head_of(head) -> tuple[str | None, dict | None]:
    if head is None:
        return None, None
    from ..heads import head_name

    name = head_name(head)
    if name == "zeroshot_prior":  # the curve is of its base head; the sentence says so
        return name, {"base": head.base, "base_params": head.base_params}
    return name, head.get_params()


def print_advice(out: Output, advice: dict | None) -> None:
    if not advice:
        return
    out.print(f"Data need: {advice['sentence']}")
    from ..evaluate.advice import gain_points, imbalanced
    mean = " (mean)" if imbalanced(advice.get("class_sizes")) else ""  # no class has that count
    for f in advice["forecast"]:  # the gain first: the levels are the curve's, not the model's
        lo, hi = f["range"]
        gain = f["accuracy"] - advice["accuracy_now"]  # as the flat-curve sentence measures it
        out.print(f"  at {f['n_per_class']:.0f} per class{mean}: +{gain_points(gain)} pt (curve ~{pct(f['accuracy'])}, "
                  f"range {pct(lo)}-{pct(hi)})")


@app.command()
def advise(
    data: Annotated[Path, typer.Argument(help="Labeled folder (a sub-folder per class) or CSV/TSV.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder for advice.json and learning_curve.png (default: ./advice-DATA; beside "
        "DATA, or the model folder, when run inside it); never a model folder.")] = None,
    backbone: BackboneOpt = "auto",
    repeats: Annotated[int, typer.Option(help="Hold-out splits per size (2 or more).")] = 10,
    seed: SeedOpt = 0,
    no_cache: NoCacheOpt = False,
    nested: NestedOpt = False,
    text_column: TextColOpt = None,
    label_column: LabelColOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure accuracy at sub-sample sizes per class, fit the learning curve, and say how many
    more examples per class should reach the next accuracy level (with a range)."""
    from ..bundle.store import check_not_in_model
    from ..classifier import Classifier
    from ..data.duplicates import duplicate_groups
    from ..evaluate.learning_curve import holdout_problem
    from .predict import report_skipped
    out = Output(as_json)
    if repeats < 2:
        raise DataError(f"--repeats must be >= 2 (the range comes from repeats). Got {repeats}.")
    check_columns_apply([data], text_column, label_column, nested)
    kwargs = {"nested": nested} if data.is_dir() else {"text_column": text_column,
                                                        "label_column": label_column}
    out_dir = check_not_in_model(out_dir or default_out(data))  # a model folder is its trainer's
    check_folder_replaceable(out_dir, ADVICE_JSON, json_with("sentence"), {CURVE_PNG: "png"}, inputs=(data,))
    examples = load_examples(data, **kwargs)
    clf = Classifier(backbone=backbone, head="logistic", cache=False if no_cache else None,
                     random_state=seed)
    with out.progress("Embedding", len(examples)) as advance:
        X, examples = clf.embed_examples(examples, advance)
    report_skipped(out, list(examples.skipped), None)  # named here, not only in advice.json
    groups = duplicate_groups(examples)
    problem = holdout_problem(np.asarray(examples.labels, dtype=object), groups)
    if problem:
        raise DataError(f"{data}: {problem}")
    advice: dict = {}

    def write(tmp: Path) -> None:  # measuring the curve draws its picture, so it runs in here
        advice.update(advice_for(out, clf, X, examples, tmp / CURVE_PNG, repeats, groups))  # 2+ per class
        if advice.get("plot"):  # where it will be, not the temporary folder
            advice["plot"] = str(out_dir / CURVE_PNG)
        advice.update(backbone=clf._backbone.name, data=str(data), counts=examples.counts(),
                      skipped=[{"path": p, "reason": r} for p, r in examples.skipped])
        (tmp / ADVICE_JSON).write_text(json_text(advice, indent=2))

    # through a temporary folder beside it: Ctrl-C midway leaves the previous advice as it was
    write_folder_files(out_dir, write, main=ADVICE_JSON, stale=(CURVE_PNG,))
    points = advice["curve"]["points"]
    out.table("Learning curve", [per_class_column(advice), metric_column(advice), "sd"],
              [[n, pct(p["mean"]), f"{100 * p['std']:.1f}"]
               for n, p in zip(per_class_sizes([p["n"] for p in points]), points)])
    print_advice(out, advice)
    out.print(f"Plot: {advice['plot']}; details: {out_dir / ADVICE_JSON}")
    out.result(advice)


def per_class_sizes(sizes: list[float]) -> list[str]:
    """The table's "per class" column: whole numbers, or one decimal when two would read the same
    (a class that runs out makes sizes 2.0 and 2.5, both "2")."""
    whole = [f"{n:.0f}" for n in sizes]
    return whole if len(set(whole)) == len(whole) else [f"{n:.1f}" for n in sizes]


def per_class_column(advice: dict) -> str:
    """"per class", or "per class (mean)" with imbalanced classes: a small class runs out first."""
    from ..evaluate.advice import imbalanced
    return "per class (mean)" if imbalanced(advice.get("class_sizes")) else "per class"


def metric_column(advice: dict) -> str:
    return "balanced accuracy" if advice.get("metric") == "balanced_accuracy" else "accuracy"


def default_out(data: Path) -> Path:
    """``./advice-NAME``, NAME the data's own name ("advise ." in photos/ gives advice-photos); beside
    the data instead when the working folder is inside it (the advice would be read as a class), and
    beside the model folder the working folder is in, if any (files there would alter the model)."""
    from ..bundle.store import beside_models
    name = f"advice-{data.resolve().stem or 'data'}"
    if data.is_dir() and Path.cwd().resolve().is_relative_to(data.resolve()):
        return beside_models(data.resolve().parent / name)
    return beside_models(Path(name))
