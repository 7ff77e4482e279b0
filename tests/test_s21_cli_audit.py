"""s21 acceptance audit of the image CLI: each test is a bug a careful user met (fixed since)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import make_color_tree
from handful.cli import main


def _truncated_jpeg(path: Path) -> Path:
    """A JPEG cut to a third: its header reads (the folder scan keeps it), its pixels do not."""
    full = path.with_name("full_" + path.name)
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(full, quality=95)
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 3])
    return path


def test_evaluate_of_the_parent_folder_keeps_its_report_under_the_models_evaluations(
        capsys, tmp_path, monkeypatch):
    data = make_color_tree(tmp_path / "colors", 3)
    model = tmp_path / "m"
    assert main(["train", str(data), "--out", str(model), "--backbone", "test_tiny_image",
                 "--head", "prototype", "--no-advise"]) == 0
    training_report = json.loads((model / "report.json").read_text())
    monkeypatch.chdir(data / "red")  # a user inside one class folder evaluates the whole set: ".."
    capsys.readouterr()
    code = main(["evaluate", str(model), "..", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = Path(json.loads(captured.out.strip().splitlines()[-1])["report"]).resolve()
    # The default is MODEL/evaluations/DATA-NAME: ".." named the folder 'evaluations/..', which
    # is the model itself, so the training report was refused or (without one) replaced.
    assert (model / "evaluations").resolve() in report.parents, report
    assert json.loads((model / "report.json").read_text()) == training_report


def test_ladder_lists_a_truncated_jpeg_as_skipped_and_does_not_count_it(capsys, tmp_path):
    train = make_color_tree(tmp_path / "train", 4)
    test = make_color_tree(tmp_path / "test", 2, seed=5)
    _truncated_jpeg(train / "red" / "cut.jpg")
    out = tmp_path / "ladder"
    code = main(["ladder", str(train), "--test", str(test), "--out", str(out), "--rungs", "features",
                 "--backbone", "test_tiny_image", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    saved = json.loads((out / "ladder.json").read_text())
    # 12 readable images: train and the other commands skip cut.jpg as "truncated image" and
    # list it; the ladder said "13 training images" and listed nothing.
    assert result["n_train"] == 12, result["n_train"]
    assert any(s["path"].endswith("cut.jpg") for s in saved["train"]["skipped"]), saved["train"]
    assert "cut.jpg" in captured.err


def _random_block_tree(root: Path, n: int = 12) -> Path:
    """n images of random 4x4 colour blocks with labels that have nothing to do with them."""
    rng = np.random.default_rng(11)
    for i in range(n):
        blocks = rng.integers(0, 255, (4, 4, 3), dtype=np.uint8)
        image = Image.fromarray(blocks).resize((64, 64), Image.NEAREST)
        folder = root / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        image.save(folder / f"img_{i}.png")
    return root


def test_train_on_an_augmented_copy_keeps_each_original_with_its_copies_in_cross_validation(
        capsys, tmp_path):
    data = _random_block_tree(tmp_path / "random")
    config = tmp_path / "aug.json"  # brightness only: each copy looks like its original
    config.write_text(json.dumps({"hflip": 0, "vflip": 0, "rotate": 0, "zoom": 0, "crop": 0,
                                  "translate": 0, "brightness": 0.1, "contrast": 0.1}))
    augmented = tmp_path / "augmented"
    assert main(["augment", str(data), "--out", str(augmented), "--factor", "3",
                 "--config", str(config)]) == 0
    capsys.readouterr()
    code = main(["train", str(augmented), "--out", str(tmp_path / "m"), "--backbone",
                 "test_tiny_image", "--head", "knn", "--no-advise", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out.strip().splitlines()[-1])
    cv = result["leaderboard"]["rows"][0]["mean"]
    # The labels are random, so honest CV is near chance (50%); with an original in the training
    # folds and its copies in the validation fold, the nearest neighbours give the label away.
    assert cv < 0.8, f"CV {cv:.0%} on random labels: augmented copies leak across folds"
