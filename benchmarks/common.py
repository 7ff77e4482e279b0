"""Shared helpers for benchmark scripts: where the data sets are, and writing results."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def datasets_dir() -> Path:
    """``$HANDFUL_DATASETS`` or ``../shared/datasets`` beside the repo."""
    env = os.environ.get("HANDFUL_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"


def require(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(f"benchmark data {path} not found (set HANDFUL_DATASETS); skipping")
    return path


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}


def write_result(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def run_handful(argv: list[str]) -> tuple[dict, list[str], float]:
    """Run ``handful ARGV --json`` in this process: (its JSON result, the argv, wall seconds)."""
    import contextlib
    import io

    from handful.cli import main as handful

    argv = [*argv, "--json"]
    buffer = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(buffer):
        code = handful(argv)
    if code:
        raise SystemExit(f"handful {' '.join(argv)} failed with exit code {code}")
    return json.loads(buffer.getvalue().strip().splitlines()[-1]), argv, time.perf_counter() - start


def kshot(pool: Path, test: Path, shots: str, flags: list[str], repeats: int = 10) -> tuple[dict, list[str], float]:
    """``handful kshot POOL --test TEST --shots SHOTS --repeats 10 --seed 0 FLAGS --json``."""
    return run_handful(["kshot", str(pool), "--test", str(test), "--shots", shots, "--repeats", str(repeats),
                        "--seed", "0", *flags])


def run_tasks(result_name: str, tasks: dict, run, summary, names=None, **extra) -> Path:
    """``run(name, *tasks[name]())`` for the tasks named on the command line (default: ``names``,
    else all), each summarized by ``summary(rows)``, written as ``results/RESULT_NAME.json``."""
    import sys

    names = list(names or tasks)
    chosen = [a for a in sys.argv[1:] if a in names] or names
    results = {}
    for name in chosen:
        rows = run(name, *tasks[name]())
        results[name] = {"summary": summary(rows), "rows": rows}
        print(name, results[name]["summary"], file=sys.stderr)
    return write_result(result_name, {**extra, "results": results})
