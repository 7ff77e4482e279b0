"""`handful train` and `handful augment`: held-out skips on screen, --fill/--config for training
views, and augmented WebP copies that keep their original's pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import make_color_image, make_color_tree, one_error_line, run_json
from handful.cli import main

TRAIN = ["--backbone", "test_tiny_image", "--head", "logistic", "--no-advise"]


def test_train_lists_files_skipped_in_the_held_out_split_on_screen(capsys, color_splits, tmp_path):
    # report.json had them but the screen listed only the training set's skips, so a broken
    # validation image silently shrank the held-out n
    (color_splits / "train" / "red" / "broken_train.jpg").write_bytes(b"not an image")
    (color_splits / "val" / "red" / "broken_val.jpg").write_bytes(b"not an image")
    assert main(["train", str(color_splits), "--out", str(tmp_path / "m"), *TRAIN]) == 0
    screen = capsys.readouterr().out
    assert "broken_train.jpg" in screen  # as before
    assert f"Skipped 1 bad input(s) in the held-out split {color_splits / 'val'}:" in screen
    assert "broken_val.jpg: not an image" in screen
    result = run_json(capsys, ["train", str(color_splits), "--out", str(tmp_path / "m"), *TRAIN, "--force"])
    assert [s["path"] for s in result["heldout_skipped"]] == [str(color_splits / "val" / "red" / "broken_val.jpg")]


def _views(tmp_path, capsys, *options: str) -> tuple[dict, np.ndarray]:
    """Train with 2 augmented views and the given options; the --json result and the head's
    training rows from the views (read back from the embedding the test backbone gives)."""
    data = make_color_tree(tmp_path / "colors", 3)
    result = run_json(capsys, ["train", str(data), "--out", str(tmp_path / "m"), *TRAIN,
                               "--augment-views", "2", *options])
    return result, json.loads((tmp_path / "m" / "model.json").read_text())["training"]


@pytest.mark.parametrize("fill", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_train_fill_option_sets_the_fill_mode_of_the_training_views(capsys, tmp_path, fill):
    # --fill existed only on `handful augment`: training views always used the preset's reflect
    _, training = _views(tmp_path, capsys, "--fill", fill)
    assert training["augmented_views"]["augment"]["fill"] == fill


def test_train_config_file_sets_the_transforms_of_the_training_views(capsys, tmp_path):
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"vflip": 1.0, "rotate": 0, "zoom": 0, "crop": 0, "translate": 0,
                                  "hflip": 0, "brightness": 0, "contrast": 0, "fill": "wrap"}))
    _, training = _views(tmp_path, capsys, "--config", str(config), "--augment", "light")
    recorded = training["augmented_views"]
    assert recorded["augment"]["vflip"] == 1.0 and recorded["augment"]["rotate"] == 0
    assert recorded["augment"]["fill"] == "wrap"  # the file's fill, as `handful augment` reads it
    assert recorded["preset"] == "light" and recorded["config_file"] == str(config)


def test_train_views_follow_the_fill_mode_and_the_config(tmp_path, monkeypatch):
    # the option must reach the views themselves, not only the record: capture what is embedded
    import handful.augment.views as views

    seen = []
    real = views._add_views

    def spy(backbone, item, i, content, todo, augment, seed, batch, failures):
        seen.append(augment)
        return real(backbone, item, i, content, todo, augment, seed, batch, failures)

    monkeypatch.setattr(views, "_add_views", spy)
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"translate": 0.5, "rotate": 0, "zoom": 0, "crop": 0}))
    data = make_color_tree(tmp_path / "colors", 3)
    assert main(["train", str(data), "--out", str(tmp_path / "m"), *TRAIN, "--augment-views", "2",
                 "--config", str(config), "--fill", "constant"]) == 0
    assert seen and all(a.config.fill == "constant" and a.config.translate == 0.5 for a in seen)
    # and the fill shows: a view of a flat grey image shifted that far has black where nothing was
    image = np.full((16, 16, 3), 200, dtype=np.uint8)
    assert any((seen[0](image, np.random.default_rng(s)) == 0).any() for s in range(4))


@pytest.mark.parametrize("settings, phrase", [
    ('{"rotat": 20}', "Unknown augmentation setting 'rotat'"),
    ('{"rotate": 500}', "'rotate' augmentation setting must be a number in [0, 180"),
    ('{"fill": "wrapp"}', "Unknown fill mode 'wrapp'. Did you mean 'wrap'?"),
    ("[1]", "must hold a JSON object"),
    ("{not json", "cannot be read as JSON"),
])
@pytest.mark.parametrize("command", ["train", "augment"])
def test_a_bad_augmentation_config_is_refused_in_one_line_naming_the_file(capsys, tmp_path, command,
                                                                         settings, phrase):
    data = make_color_tree(tmp_path / "colors", 3)
    config = tmp_path / "policy.json"
    config.write_text(settings)
    extra = [*TRAIN, "--augment-views", "2"] if command == "train" else []
    line = one_error_line(capsys, [command, str(data), "--out", str(tmp_path / "out"), *extra,
                                   "--config", str(config)])
    assert str(config) in line and phrase in line, line  # which file, and what is wrong in it
    assert not (tmp_path / "out").exists()


def test_train_refuses_fill_or_config_without_augmented_views(capsys, tmp_path):
    # they would change nothing: the user asked for a fill mode and silently got none
    data = make_color_tree(tmp_path / "colors", 3)
    line = one_error_line(capsys, ["train", str(data), "--out", str(tmp_path / "m"), *TRAIN, "--fill", "wrap"])
    assert "--augment-views is 0" in line and "Add --augment-views" in line
    line = one_error_line(capsys, ["train", str(data), "--out", str(tmp_path / "m"), *TRAIN,
                                   "--augment-views", "1", "--fill", "bogus"])
    assert "Unknown fill mode 'bogus'" in line


def _webp_tree(root, n=3):
    for c_idx, name in enumerate(("red", "blue")):
        for i in range(n):
            make_color_image(root / name / f"{name}_{i}.webp", (220, 30, 30) if name == "red" else (40, 60, 220),
                             c_idx * 10 + i, size=(64, 48), fmt="WEBP")  # PIL's default: lossy
    return root


def test_augmented_webp_copies_keep_the_original_pixels(capsys, tmp_path):
    # PIL writes WebP lossy (quality 80) unless told otherwise: with no transform at all a copy
    # still differed from its original by up to ~40 levels, a loss on top of every transform
    data = _webp_tree(tmp_path / "webp")
    out = tmp_path / "aug"
    run_json(capsys, ["augment", str(data), "--out", str(out), "--factor", "1", "--preset", "none"])
    for original in sorted(data.rglob("*.webp")):
        copy = out / original.relative_to(data).with_name(f"{original.stem}.aug1.webp")
        assert np.array_equal(np.asarray(Image.open(copy).convert("RGB")),
                              np.asarray(Image.open(original).convert("RGB"))), copy


def test_augment_counts_lossless_webp_copies_at_their_pixels_when_checking_free_space(
        capsys, tmp_path, monkeypatch):
    # a lossless copy of a lossy WebP photo is ~5-15x its original's size: estimated from the
    # originals' file sizes alone, the copy passed the free-space check and filled the disk
    import shutil
    from collections import namedtuple

    data = _webp_tree(tmp_path / "webp")
    files = sum(p.stat().st_size for p in data.rglob("*.webp"))
    pixels = 6 * 64 * 48 * 3  # raw RGB: more than a lossless WebP of any of them takes
    assert files * 3 < pixels  # room for the old estimate (factor 2 + originals), not for the new
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - files * 3, files * 3))
    line = one_error_line(capsys, ["augment", str(data), "--out", str(tmp_path / "aug"), "--factor", "2"])
    assert "needs about" in line and "WebP ones lossless" in line and "Lower --factor" in line
