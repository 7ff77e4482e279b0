"""How long the CLI takes to answer before any work: help, a command's help, a usage error.

Each case is a fresh interpreter (`python -c` running the `handful` entry point), timed by the
wall clock, median of 7 after one warm-up (files in the page cache). With `--before REV` the same
cases also run on a worktree of git revision REV (its src/ first on PYTHONPATH, the same venv),
to show what a change bought. Run: `.venv/bin/python benchmarks/cli_startup.py --before d39246b`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_result

REPO = Path(__file__).resolve().parents[1]
ENTRY = "import sys; from handful.cli.main import run; sys.argv[0] = 'handful'; run()"
CASES = {
    "handful --help": ["--help"],
    "handful train --help": ["train", "--help"],
    "handful train DATA --no-such-option (usage error)": ["train", "DATA", "--no-such-option"],
    "import handful": None,
}


def seconds(src: Path, argv: list[str] | None, repeats: int = 7) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    code = ["-c", "import handful"] if argv is None else ["-c", ENTRY, *argv]
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run([sys.executable, *code], env=env, capture_output=True, check=False)
        if i:  # the first run warms the page cache
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(src: Path) -> dict[str, float]:
    return {name: round(seconds(src, argv), 3) for name, argv in CASES.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="git revision to compare with")
    args = parser.parse_args()
    result = {"now": {"rev": _rev("HEAD"), "seconds": measure(REPO / "src")}}
    if args.before:
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "before"
            subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), args.before],
                           check=True, capture_output=True)
            try:
                result["before"] = {"rev": _rev(args.before), "seconds": measure(tree / "src")}
            finally:
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                               check=True, capture_output=True)
    for name in CASES:
        before = result.get("before", {}).get("seconds", {}).get(name)
        print(f"{name:52s} {'' if before is None else f'{before:6.2f} s -> '}{result['now']['seconds'][name]:6.2f} s")
    write_result("cli_startup", result)


def _rev(rev: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", rev], capture_output=True,
                          text=True, check=True).stdout.strip()


if __name__ == "__main__":
    main()
