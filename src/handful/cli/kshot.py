"""``handful kshot``: accuracy at K examples per class, over repeated draws (mean, std, CI)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..augment.views import ViewLookup
from ..data import Examples, load_examples, scan_splits
from ..errors import DataError, DataNotFoundError
from ..jsontext import json_text
from .augment import AugmentViewsOpt, ConfigOpt, FillOpt, PresetOpt, check_views, views_augment
from .main import app
from .options import (
    BackboneOpt,
    HeadOpt,
    JsonOpt,
    LabelColOpt,
    MaxPairsOpt,
    NestedOpt,
    NoCacheOpt,
    SeedOpt,
    TextColOpt,
    UnlabeledOpt,
    check_columns_apply,
    check_names,
)
from .output import Output, check_replaceable, json_with, pct, plural, write_text_file
from .zeroshot import ClassesOpt, TemplateOpt, ZeroShotPriorOpt, names_used, prior_options


def parse_shots(text: str) -> list[int]:
    try:
        shots = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError as err:
        raise DataError(f"--shots must be comma-separated integers like 1,5,20. Got '{text}'.") from err
    if not shots or shots[0] < 1:
        raise DataError(f"--shots must be integers >= 1. Got '{text}'.")
    return shots


def warn_shared(pool: Examples, test: Examples) -> None:
    """Test items that are also in the pool (the same text, or the same file) inflate the accuracy."""
    key = (lambda x: x) if pool.modality == "text" else (lambda x: str(Path(x).resolve()))
    in_pool = {key(x) for x in pool.items}
    n_shared = sum(key(x) in in_pool for x in test.items)
    if n_shared:
        warnings.warn(f"{n_shared} of the {len(test)} test items are also in the pool {pool.source}; a draw "
                      "that picks them is scored on what it was fitted on. Give a test set apart from "
                      "the pool.", stacklevel=2)


def pool_and_test(pool: Path, test: Path | None, text_col, label_col,
                  nested: bool = False) -> tuple[Examples, Examples]:
    if test is None:
        if not pool.exists():  # not "needs --test": the pool itself is missing
            raise DataNotFoundError(f"Data '{pool}' does not exist. Give a folder with one sub-folder per "
                                    "class (and --test TEST, unless it has train/ and val/ or test/).")
        if not pool.is_dir():
            raise DataError(f"kshot needs --test TEST unless {pool} has train/ and val/ or test/.")
        splits = scan_splits(pool, nested=nested)
        held = splits.get("test") or splits.get("val")
        if held is None:
            raise DataError(f"{pool} has no val/ or test/ split; pass --test TEST.")
        return splits["train"], held
    kwargs = {} if pool.is_dir() else {"text_column": text_col, "label_column": label_col}
    test_kwargs = {} if test.is_dir() else {"text_column": text_col, "label_column": label_col}
    return load_examples(pool, nested, **kwargs), load_examples(test, nested, **test_kwargs, min_classes=1)


def table_title(result: dict, repeats: int, head: str) -> str:
    """The table's title: what was run, so a table copied from the terminal says which backbone
    and head its numbers are of (they were only in the JSON)."""
    how = "chosen by CV in each draw" if head == "auto" else head
    return (f"K-shot accuracy ({plural(repeats, 'draw')} per K, test n={result['n_test']}; backbone "
            f"{result['backbone']}, head {how})")


def _weights(weights: list[float]) -> str:
    """The zero-shot prior's weight over the draws: median and range (0 = the names did not help)."""
    lo, mid, hi = np.nanpercentile(weights, [0, 50, 100])
    return f"{mid:.3g}" if lo == hi else f"{mid:.3g} ({lo:.3g}-{hi:.3g})"


@app.command()
def kshot(
    pool: Annotated[Path, typer.Argument(help="Labeled pool to draw K examples per class from.")],
    test: Annotated[Path | None, typer.Option(help="Labeled test set (fixed; default: POOL's test/, "
                                                   "else its val/, with its train/ as the pool).")] = None,
    shots: Annotated[str, typer.Option(help="K values, comma-separated.")] = "1,5,20",
    repeats: Annotated[int, typer.Option(help="Draws per K (1 or more).")] = 10,
    backbone: BackboneOpt = "auto",
    head: HeadOpt = "auto",
    seed: SeedOpt = 0,
    nested: NestedOpt = False,
    no_cache: NoCacheOpt = False,
    text_column: TextColOpt = None,
    label_column: LabelColOpt = None,
    zero_shot_prior: ZeroShotPriorOpt = False,
    classes: ClassesOpt = None,
    template: TemplateOpt = None,
    finetune: Annotated[bool, typer.Option(
        "--finetune", help="Texts: tune the sentence encoder on pairs of each draw's examples (SetFit) "
        "before fitting the head (seconds per draw).")] = False,
    max_pairs: MaxPairsOpt = 640,
    unlabeled: UnlabeledOpt = None,
    augment_views: AugmentViewsOpt = 0,
    augment: PresetOpt = "default",
    fill: FillOpt = None,
    config_file: ConfigOpt = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the JSON here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """For each K and repeat: draw K per class from POOL, fit, score on TEST; mean, std, 95% CI (t-interval)."""
    from ..classifier import Classifier
    from ..evaluate.kshot import run_kshot
    from ..text.prepare import finetune_kshot, prepare_for_kshot
    out = Output(as_json)
    if out_file:
        check_replaceable(out_file, json_with("shots"))
    k_values = parse_shots(shots)
    if repeats < 1:
        raise DataError(f"--repeats must be >= 1. Got {repeats}.")
    check_names(backbone, head, zero_shot_prior)
    check_columns_apply([pool, test], text_column, label_column, nested)
    # as `handful train` reads them: checked before any data is read, then what makes the views
    views_from = views_augment(augment, fill, config_file, check_views(augment_views))
    pool_ex, test_ex = pool_and_test(pool, test, text_column, label_column, nested)
    if test_ex.modality != pool_ex.modality:  # else "test classes [...] do not occur in the pool"
        raise DataError(f"The pool {pool} holds {pool_ex.modality}s, but the test set {test_ex.source} holds "
                        f"{test_ex.modality}s. Give a test set of {pool_ex.modality}s.")
    missing = sorted(set(test_ex.classes) - set(pool_ex.classes))
    if missing:
        raise DataError(f"Test classes {missing[:8]}{' ...' if len(missing) > 8 else ''} do not occur in the pool "
                        f"{pool}. Add examples of them to the pool, or remove them from the test set.")
    warn_shared(pool_ex, test_ex)
    clf = Classifier(backbone=backbone, head=head, cache=False if no_cache else None,
                     random_state=seed, augment_views=augment_views, augment=views_from,
                     **prior_options(zero_shot_prior, classes, template, pool_ex.labels))
    setfit, text_report = prepare_for_kshot(clf, pool_ex, finetune, max_pairs, unlabeled, seed)
    if setfit is None:
        with out.progress("Embedding pool", len(pool_ex)) as advance:
            X_pool, pool_ex = clf.embed_examples(pool_ex, advance)
        with out.progress("Embedding test", len(test_ex)) as advance:
            X_test, test_ex = clf.embed_examples(test_ex, advance)
    views = ViewLookup(clf, pool_ex, X_pool) if augment_views and setfit is None else None

    def fit_predict(X_train, y_train, X_eval):
        sub = Examples(tuple(str(i) for i in range(len(y_train))), tuple(y_train), pool_ex.modality)
        extra = views.extra(X_train) if views else None
        # no note on classes of one example: at K=1 that is the point
        predicted = clf.fit_embeddings(X_train, sub, extra, warn_single=False).head_.predict(X_eval)
        prior_weights.append(float(getattr(clf.head_, "weight_", [np.nan])[0]))
        return predicted

    prior_weights: list[float] = []
    with out.progress("K-shot runs", len(k_values) * repeats) as advance:
        if setfit is not None:  # SetFit tuning per draw, from the texts
            result = finetune_kshot(clf, pool_ex, test_ex, k_values, repeats, setfit, fit_predict,
                                    seed=seed, on_repeat=lambda k, r, s: advance(1))
        else:
            result = run_kshot(X_pool, np.asarray(pool_ex.labels, dtype=object), X_test,
                               np.asarray(test_ex.labels, dtype=object), k_values, repeats,
                               fit_predict, seed=seed, on_repeat=lambda k, r, s: advance(1))
    result.update(text_report)
    if zero_shot_prior:  # the weight the prior got in each run, in run order
        for i, k in enumerate(result["shots"]):
            result["shots"][k]["prior_weights"] = prior_weights[i * repeats:(i + 1) * repeats]
        result["zero_shot_prior"] = {"classes": names_used(clf, pool_ex.classes), "template": template}
    if augment_views:
        result["augment"] = {"views_per_image": augment_views, "preset": augment}
        if fill is not None or config_file is not None:  # the settings the views were made with
            result["augment"].update(fill=fill, config_file=None if config_file is None else str(config_file),
                                     settings=views_from.to_json())
    # clf.head: the head used (--finetune fixes "auto" to logistic: no search on tuned-on texts)
    result.update(backbone=clf._backbone.name, head=clf.head, pool=str(pool), test=test_ex.source,
                  skipped=[{"path": p, "reason": r} for p, r in pool_ex.skipped + test_ex.skipped])
    out.table(table_title(result, repeats, clf.head), ["K", "mean", "std", "95% CI (t)"]
              + (["prior weight: median (range)"] if zero_shot_prior else []),
              [[k, pct(v["mean"]), "-" if v["std"] is None else f"{100 * v['std']:.1f}",
                "-" if v["ci95"] is None else f"{pct(v['ci95'][0])}-{pct(v['ci95'][1])}"]
               + ([_weights(v["prior_weights"])] if zero_shot_prior else [])
               for k, v in result["shots"].items()])
    for item in result["skipped"][:10]:
        out.print(f"  skipped {item['path']}: {item['reason']}")
    if out_file:  # through a temporary file: Ctrl-C midway leaves the previous one as it was
        write_text_file(out_file, json_text(result, indent=2))
    out.result(result)
