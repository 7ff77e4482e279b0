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
               plot: Path | None, repeats: int = 10) -> dict | None:
    """The data-need estimate on ``clf``'s embeddings with its head (its base head under a prior);
    None, with a note, when some class has a single example."""
    from ..data.duplicates import duplicate_groups
    from ..evaluate.data_need import estimate_data_need, n_curve_fits
    y = np.asarray(examples.labels, dtype=object)
    if np.unique(y, return_counts=True)[1].min() < 2:
        out.print("Data-need estimate skipped: a class has a single example.")
        return None
    head = getattr(clf, "head_", None)
    name, params = _head_of(head)
    # no warnings.catch_warnings() around it: its fits say nothing routine, what they do say (a fit
    # that did not converge) bears on the estimate, and swapping the process-wide filters is not
    # thread-safe (a filter another thread set meanwhile was lost)
    with out.progress("Learning curve", n_curve_fits(y, repeats)) as advance:
        return estimate_data_need(X, y, name, params, repeats=repeats, seed=clf.random_state,
                                  plot=plot, title=f"Learning curve ({clf._backbone.name})",
                                  on_fit=lambda: advance(1), groups=duplicate_groups(examples))


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
    for f in advice["forecast"]:  # the gain first: the levels are the curve's, not the model's
        lo, hi = f["range"]
        gain = f["accuracy"] - advice["accuracy_now"]
        out.print(f"  at {f['n_per_class']:.0f} per class: +{100 * gain:.1f} pt (curve ~{pct(f['accuracy'])}, "
                  f"range {pct(lo)}-{pct(hi)})")


@app.command()
def advise(
    data: Annotated[Path, typer.Argument(help="Labeled folder (a sub-folder per class) or CSV/TSV.")],
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder for advice.json and learning_curve.png (default: ./advice-DATA).")] = None,
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
    from ..classifier import Classifier
    out = Output(as_json)
    if repeats < 2:
        raise DataError(f"--repeats must be >= 2 (the range comes from repeats). Got {repeats}.")
    check_columns_apply([data], text_column, label_column, nested)
    kwargs = {"nested": nested} if data.is_dir() else {"text_column": text_column,
                                                        "label_column": label_column}
    out_dir = out_dir or Path(f"advice-{data.stem or 'data'}")
    check_folder_replaceable(out_dir, ADVICE_JSON, json_with("sentence"), {CURVE_PNG: "png"}, inputs=(data,))
    examples = load_examples(data, **kwargs)
    clf = Classifier(backbone=backbone, head="logistic", cache=False if no_cache else None,
                     random_state=seed)
    with out.progress("Embedding", len(examples)) as advance:
        X, examples = clf.embed_examples(examples, advance)
    if min(examples.counts().values()) < 2:
        raise DataError(f"{data}: a class has a single example; a learning curve needs at least "
                        "2 per class. Add examples.")
    advice: dict = {}

    def write(tmp: Path) -> None:  # measuring the curve draws its picture, so it runs in here
        advice.update(advice_for(out, clf, X, examples, tmp / CURVE_PNG, repeats))  # 2+ per class
        if advice.get("plot"):  # where it will be, not the temporary folder
            advice["plot"] = str(out_dir / CURVE_PNG)
        advice.update(backbone=clf._backbone.name, data=str(data), counts=examples.counts(),
                      skipped=[{"path": p, "reason": r} for p, r in examples.skipped])
        (tmp / ADVICE_JSON).write_text(json_text(advice, indent=2))

    # through a temporary folder beside it: Ctrl-C midway leaves the previous advice as it was
    write_folder_files(out_dir, write, main=ADVICE_JSON, stale=(CURVE_PNG,))
    out.table("Learning curve", ["per class", "accuracy", "sd"],
              [[f"{p['n']:.0f}", pct(p["mean"]), f"{100 * p['std']:.1f}"]
               for p in advice["curve"]["points"]])
    print_advice(out, advice)
    out.print(f"Plot: {advice['plot']}; details: {out_dir / ADVICE_JSON}")
    out.result(advice)
