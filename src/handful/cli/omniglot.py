"""``handful omniglot-runs``: Lake's 20-way one-shot runs, error per run and overall."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..errors import DataError
from ..fewshot.encoder import FewShotEncoder
from ..fewshot.omniglot_runs import evaluate_runs, format_reference, read_runs
from ..fewshot.sources import preprocess_items
from .episodes import ModelOpt
from .main import app
from .options import JsonOpt, SeedOpt
from .output import Output, pct


@app.command("omniglot-runs")
def omniglot_runs(
    runs_dir: Annotated[Path, typer.Argument(help="Folder with run01..run20 (Lake's one-shot runs).")],
    model: ModelOpt = None,
    backbone: Annotated[str | None, typer.Option(help="Backbone to evaluate as it is.")] = None,
    metric: Annotated[str, typer.Option(help="auto, euclidean, cosine or gaussian.")] = "auto",
    finetune_steps: Annotated[int, typer.Option(help="Fine-tune a copy of a Conv-4 encoder on each "
                                                "run's 20 support images for this many steps.")] = 0,
    finetune_lr: Annotated[float, typer.Option(help="Learning rate of test-time fine-tuning.")] = 1e-4,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Classify each run's 20 test drawings among its 20 one-shot classes; report the error rates."""
    out = Output(as_json)
    started = time.perf_counter()
    if model is not None and backbone is not None:
        raise DataError("Give --model or --backbone, not both.")
    encoder = FewShotEncoder.from_model(model) if model else FewShotEncoder.from_backbone(backbone or "auto")
    runs = read_runs(runs_dir)
    metric_name, scorer = encoder.scorer(metric)
    outputs = None
    if finetune_steps:
        if not encoder.can_finetune:
            raise DataError(f"--finetune-steps needs a Conv-4 encoder; '{encoder.backbone.name}' is not "
                            "one. Drop --finetune-steps.")

        def outputs(support, support_y, test):
            s_arr, _, _ = preprocess_items(encoder.backbone, support)
            t_arr, _, _ = preprocess_items(encoder.backbone, test)
            return encoder.finetuned_embeddings(s_arr, support_y, t_arr, len(support), finetune_steps,
                                                finetune_lr, seed)

    with out.progress("Runs", len(runs)) as advance:
        result = evaluate_runs(runs, lambda paths: encoder.embed_items(paths), scorer, outputs, advance)
    out.table(f"One-shot runs ({encoder.source}, metric {metric_name})", ["run", "errors", "error"],
              [[r["run"], f"{r['errors']}/{r['n']}", pct(r["error"])] for r in result["runs"]])
    out.print(f"Overall error {pct(result['error'])} ({result['errors']}/{result['n']}, "
              f"{result['n_runs']} runs); accuracy {pct(result['accuracy'])}")
    out.print("Published error: " + "; ".join(format_reference(r) for r in result["references"]))
    out.result({**result, "encoder": encoder.source, "metric": metric_name,
                "finetune_steps": finetune_steps,
                "mean_run_error": float(np.mean([r["error"] for r in result["runs"]])),
                "seconds": round(time.perf_counter() - started, 2)})
