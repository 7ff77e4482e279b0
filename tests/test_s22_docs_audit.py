"""s22 documentation audit: places where README.md / BENCHMARKS.md and the product disagree.

Each test is xfail (strict) until the lead fixes the docs or the code, whichever is wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from handful.evaluate.curve_prior import PRIOR_FILE, prior_shapes

ROOT = Path(__file__).resolve().parents[1]


def _shipped_prior_tasks() -> set[str]:
    """The tasks of the shipped data-need prior: curves are named 'task/backbone/head'."""
    curves = json.loads(PRIOR_FILE.read_text(encoding="utf-8"))["curves"]
    return {c["curve"].split("/")[0] for c in curves}


def test_readme_counts_the_curves_the_shipped_data_need_prior_holds():
    # README.md "how much more data?" comment: "a prior on how 64 curves of other tasks went on".
    # The estimate reads src/handful/evaluate/curve_prior.json, so that is the number to quote.
    said = re.search(r"a prior on how (\d+) curves", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert said, "README no longer quotes the prior's size; drop this test"
    assert int(said.group(1)) == len(prior_shapes()), (said.group(0), len(prior_shapes()))


def test_benchmarks_counts_the_tasks_and_curves_of_the_shipped_prior():
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    said = re.search(r"(\d+) tasks, (\d+) curves", text)
    assert said, "BENCHMARKS.md no longer quotes the prior's size; drop this test"
    results = json.loads((ROOT / "benchmarks/results/curve_prior.json").read_text(encoding="utf-8"))
    # the shipped prior, the measured curves and the leave-one-task-out rows are the same set
    n_curves = len(prior_shapes())
    assert len(results["curves"]) == n_curves == len(results["leave_one_task_out"]["fit_up_to_10"]["rows"])
    assert (int(said.group(1)), int(said.group(2))) == (len(_shipped_prior_tasks()), n_curves), said.group(0)
