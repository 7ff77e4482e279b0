"""``predict --ray``: the workers compute each input's familiarity, as the local run does."""

import csv

import pytest

pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")

from conftest import make_color_tree, run_json  # noqa: E402
from handful import Classifier  # noqa: E402
from test_familiar_predict import odd_image  # noqa: E402
from test_ray_scale import local_ray  # noqa: E402, F401 (the module's one local Ray)


def test_ray_workers_mark_the_same_inputs_unfamiliar_as_a_local_run(local_ray, capsys, tmp_path):  # noqa: F811
    color_tree = make_color_tree(tmp_path / "colors", 7)  # 21: 20+ to judge familiarity by (MIN_JUDGED)
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    odd_image(color_tree / "odd" / "checker.png", "checker")
    argv = ["predict", str(tmp_path / "m"), str(color_tree), "--no-cache"]
    local = run_json(capsys, argv)
    remote = run_json(capsys, argv + ["--ray"])

    def marks(result):
        return sorted((p["input"], p["label"], p["familiar"], p["familiarity"]) for p in result["predictions"])

    assert remote["ray"] and marks(remote) == marks(local)
    assert remote["n_unfamiliar"] == local["n_unfamiliar"] >= 1  # the checkerboard at least
    run_json(capsys, argv + ["--ray", "--out", str(tmp_path / "p.csv")])
    with open(tmp_path / "p.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][-1] == "familiar"
    assert {r[0]: r[-1] == "true" for r in rows[1:]} == {p["input"]: p["familiar"] for p in local["predictions"]}
