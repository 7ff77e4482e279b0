"""Session 23 fixes to the data-need advice beyond the audit's tests: augmented copies counted as
originals, a class of copies of one picture, the plot's error bars, the curve table, README."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import COLORS, make_color_image, make_color_tree, one_error_line, run_json
from handful.cli import main


def test_advise_on_an_augmented_folder_counts_originals_not_copies(capsys, tmp_path):
    # `handful augment --factor 3` turns 4 originals per class into 16 files per class; the
    # copies give their original away, so the curve counted 16 "per class" and "N more per
    # class" asked for copies. Its augment.json names the original of each: 4 per class.
    data = make_color_tree(tmp_path / "colors", 4, classes=("red", "green"))
    assert main(["augment", str(data), "--out", str(tmp_path / "aug"), "--factor", "3"]) == 0
    n_files = len(list((tmp_path / "aug" / "red").glob("*.*")))
    assert n_files == 16, n_files  # the premise: 4 originals and 12 augmented copies
    capsys.readouterr()
    out = run_json(capsys, ["advise", str(tmp_path / "aug"), "--backbone", "test_tiny_image",
                            "--repeats", "2", "--out", str(tmp_path / "adv")])
    assert out["n_per_class"] == pytest.approx(4.0), out["n_per_class"]
    # no sub-sample holds more originals than a class has
    assert max(p["n"] for p in out["curve"]["points"]) <= 4, out["curve"]["points"]


def test_advise_refuses_a_class_that_is_copies_of_one_picture_among_good_classes(capsys, tmp_path):
    # green/ is 3 copies of one picture: it was never held out, and the curve was measured on
    # red and blue alone without a word. It cannot be measured, so the command says which class.
    data = make_color_tree(tmp_path / "colors", 4, classes=("red", "blue"))
    first = make_color_image(data / "green" / "g0.png", COLORS["green"], 1)
    for i in (1, 2):
        shutil.copy(first, data / "green" / f"g{i}.png")
    line = one_error_line(capsys, ["advise", str(data), "--backbone", "test_tiny_image",
                                   "--repeats", "2", "--out", str(tmp_path / "adv")])
    assert "'green'" in line and "copies of one" in line and "Add different examples" in line, line


def test_learning_curve_refuses_a_class_of_copies_in_the_python_api():
    from handful.errors import DataError
    from handful.evaluate.learning_curve import measure_learning_curve

    X = np.arange(12, dtype=float).reshape(6, 2)
    y = np.array(["a", "a", "a", "b", "b", "b"], dtype=object)
    groups = np.array([0, 1, 2, 3, 3, 3])  # every "b" is one example's copies
    with pytest.raises(DataError, match="Class 'b'.*copies of one"):
        measure_learning_curve(X, y, lambda X_train, y_train, X_eval: y_train[:len(X_eval)],
                               groups=groups)


def test_imbalanced_advice_names_its_metric_and_that_per_class_is_a_mean(capsys, tmp_path):
    # 20 red "a" against 3 green "b": "with 12 per class" is no class's count
    for i in range(20):
        make_color_image(tmp_path / "imb" / "a" / f"a{i}.png", COLORS["red"], i)
    for i in range(3):
        make_color_image(tmp_path / "imb" / "b" / f"b{i}.png", COLORS["green"], 100 + i)
    code = main(["advise", str(tmp_path / "imb"), "--backbone", "test_tiny_image", "--repeats", "2",
                 "--out", str(tmp_path / "adv")])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    out = json.loads((tmp_path / "adv" / "advice.json").read_text())
    assert out["metric"] == "balanced_accuracy" and out["curve"]["metric"] == "balanced_accuracy"
    assert "balanced accuracy" in out["sentence"], out["sentence"]
    assert out["class_sizes"] == [3, 20], out["class_sizes"]
    printed = printed.out  # the table's column and the forecast lines say the count is a mean
    assert "balanced accuracy" in printed, printed
    assert "per class (mean)" in printed, printed


def test_a_level_quoted_on_imbalanced_classes_says_per_class_is_a_mean():
    from handful.evaluate.advice import AveragedFit, advise
    from handful.evaluate.curve_fit import CurveFit

    fit = AveragedFit(np.array([0.02]), np.array([0.5]), np.array([0.7]), np.array([1.0]))
    curve = {"n_per_class": 11.5, "metric": "balanced_accuracy", "class_sizes": [3, 20]}
    advice = advise(curve, fit, [CurveFit("power", (0.02, 0.5, 0.7), 0.0)] * 5, head="logistic head")
    assert "12 per class on average (the smallest class has 3)" in advice["sentence"], advice["sentence"]
    assert "(balanced accuracy" in advice["sentence"], advice["sentence"]


def test_learning_curve_plot_error_bars_stay_between_0_and_100_percent(monkeypatch, tmp_path):
    # a point at 98% with sd 5 drew a bar up to 103%: no accuracy goes there
    import matplotlib.axes

    from handful.evaluate.advice import advise, posterior_fits
    from handful.evaluate.advice_plot import plot_learning_curve

    runs = {1: [0.5, 0.7, 0.9], 2: [0.9, 1.0, 1.0], 4: [0.92, 1.0, 1.0]}
    points = [{"size": s, "n": float(s), "mean": float(np.mean(r)), "std": float(np.std(r)), "runs": r}
              for s, r in runs.items()]
    curve = {"points": points, "repeats": 3, "n_per_class": 4.0, "n_classes": 2}
    assert max(100 * (p["mean"] + p["std"]) for p in points) > 100  # the premise
    main_fit, draws = posterior_fits(curve)
    seen = []
    original = matplotlib.axes.Axes.errorbar

    def recording(self, x, y, yerr=None, **kwargs):
        seen.append((np.asarray(y, dtype=float), np.asarray(yerr, dtype=float)))
        return original(self, x, y, yerr=yerr, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "errorbar", recording)
    plot_learning_curve(curve, main_fit, draws, advise(curve, main_fit, draws), tmp_path / "c.png")
    (y, yerr), = seen
    lower, upper = (yerr, yerr) if yerr.ndim == 1 else yerr
    assert np.all(y + upper <= 100 + 1e-9) and np.all(y - lower >= -1e-9), (y, yerr)


def test_curve_table_sizes_that_round_alike_are_told_apart():
    # a class that runs out makes mean sizes 2.0 and 2.5: the table printed "2" twice
    from handful.cli.advise import per_class_sizes

    shown = per_class_sizes([1.0, 2.0, 2.5, 3.0])
    assert len(set(shown)) == 4, shown
    assert per_class_sizes([1.0, 2.0, 3.0]) == ["1", "2", "3"]  # whole numbers stay whole


def test_readme_quotes_the_advice_sentence_as_it_is_printed():
    # README promised "the curve: X% now, Y% then"; the sentence says "~X% with N per class, ~Y% at M"
    from handful.evaluate.advice import AveragedFit, advise
    from handful.evaluate.curve_fit import CurveFit

    fit = AveragedFit(np.array([0.02]), np.array([0.5]), np.array([0.7]), np.array([1.0]))
    advice = advise({"n_per_class": 10.0}, fit, [CurveFit("power", (0.02, 0.5, 0.7), 0.0)] * 5,
                    head="logistic head")
    assert re.search(r"the curve: ~[\d.]+% with \d+ per class, ~[\d.]+% at \d+\)", advice["sentence"])
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "the curve: ~X% with N per class, ~Y% at M)" in readme
    assert "X% now, Y% then" not in readme
