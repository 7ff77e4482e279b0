"""``handful omniglot-runs``: Lake's 20-way one-shot runs, error per run and overall."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..fewshot.sources import preprocess_items
from .episodes import (
    AsIsBackboneOpt,
    FinetuneLrOpt,
    FinetuneStepsOpt,
    MetricOpt,
    ModelOpt,
    TransductiveOpt,
    TtaShiftOpt,
    open_encoder,
)
from .main import app
from .options import JsonOpt, SeedOpt
from .output import Output, pct, plural


@app.command("omniglot-runs")
def omniglot_runs(
    runs_dir: Annotated[Path, typer.Argument(help="Folder with run01..run20 (Lake's one-shot runs).")],
    model: ModelOpt = None,
    backbone: AsIsBackboneOpt = None,
    metric: MetricOpt = "auto",
    finetune_steps: FinetuneStepsOpt = 0,
    finetune_lr: FinetuneLrOpt = 1e-4,
    tta_shift: TtaShiftOpt = None,
    transductive: TransductiveOpt = False,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Classify each run's 20 test drawings among its 20 one-shot classes; report the error rates."""
    from ..fewshot.omniglot_runs import evaluate_runs, format_reference, read_runs
    out = Output(as_json)
    started = time.perf_counter()
    encoder = open_encoder(model, backbone, finetune_steps, tta_shift, finetune_lr)
    runs, unreadable = read_runs(runs_dir)
    metric_name, scorer = encoder.scorer(metric, transductive)
    outputs = None
    if finetune_steps:
        def outputs(support, support_y, test):
            s_arr, _, _ = preprocess_items(encoder.backbone, support)
            t_arr, _, _ = preprocess_items(encoder.backbone, test)
            return encoder.finetuned_embeddings(s_arr, support_y, t_arr, len(support), finetune_steps,
                                                finetune_lr, seed)

    with out.progress("Runs", len(runs)) as advance:
        result = evaluate_runs(runs, lambda paths: encoder.embed_items(paths), scorer, outputs, advance,
                               unreadable)
    out.table(f"One-shot runs ({encoder.source}, metric {metric_name})", ["run", "errors", "error"],
              [[r["run"], f"{r['errors']}/{r['n']}", pct(r["error"])] for r in result["runs"]])
    n_runs, n_off = result["n_runs"], result["n_runs_skipped"]
    out.print(f"Overall error {pct(result['error'])} ({result['errors']}/{result['n']}, "
              f"{n_runs} run{'s' * (n_runs != 1)}); accuracy {pct(result['accuracy'])}")
    if n_off:  # the published errors are over all 20 runs: a subset's error is not the same measure
        out.print(f"{n_off} run{'s were' if n_off != 1 else ' was'} skipped (listed below), so this error "
                  f"is over {n_runs} of {n_runs + n_off} runs; the published errors are over all 20.",
                  style="yellow")
    n_unanswered = result["n_unanswered"]
    if n_unanswered:  # a test drawing with no answer line cannot be scored; its run still is, N-way
        out.print(f"{plural(n_unanswered, 'test drawing')} had no answer line in class_labels.txt and "
                  f"{'was' if n_unanswered == 1 else 'were'} not scored (listed below); each run is still "
                  "scored among all its training/ drawings.", style="yellow")
    out.print("Published error: " + "; ".join(format_reference(r) for r in result["references"]))
    for item in result["skipped"][:10]:
        out.print(f"  skipped {item['path']}: {item['reason']}")
    if len(result["skipped"]) > 10:
        out.print(f"  ... and {len(result['skipped']) - 10} more skipped (see --json)")
    out.result({**result, "encoder": encoder.source, "metric": metric_name,
                "finetune_steps": finetune_steps, "tta_shift": encoder.tta_shift,
                "transductive": transductive,
                "mean_run_error": float(np.mean([r["error"] for r in result["runs"]])),
                "seconds": round(time.perf_counter() - started, 2)})
