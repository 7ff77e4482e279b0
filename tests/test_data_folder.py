"""Scanning class folders: good files kept, bad files skipped with a reason, clear errors."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_color_image, make_color_tree
from handful.data import load_image, scan_folder, scan_splits
from handful.data.images import ImageDecodeError
from handful.errors import DataError, DataNotFoundError


def test_scan_folder_lists_classes_sorted_with_counts(color_tree):
    examples = scan_folder(color_tree)
    assert examples.classes == ("blue", "green", "red")
    assert examples.counts() == {"blue": 6, "green": 6, "red": 6}
    assert examples.skipped == ()


def test_scan_folder_skips_zero_byte_and_non_image_and_lists_them(color_tree):
    (color_tree / "red" / "empty.jpg").write_bytes(b"")
    (color_tree / "red" / "fake.png").write_text("this is not a png")
    (color_tree / "red" / "notes.bin").write_bytes(b"\x00\x01")
    examples = scan_folder(color_tree)
    reasons = {Path(p).name: r for p, r in examples.skipped}
    assert "0 bytes" in reasons["empty.jpg"]
    assert "not an image" in reasons["fake.png"]
    assert "not an image file" in reasons["notes.bin"]
    assert examples.counts()["red"] == 6  # the good ones are all still there


def test_scan_folder_ignores_hidden_files_folders_and_root_clutter(color_tree):
    (color_tree / ".DS_Store").write_bytes(b"junk")
    (color_tree / "README.txt").write_text("about this data")
    (color_tree / "red" / ".hidden.jpg").write_bytes(b"junk")
    make_color_image(color_tree / ".thumbnails" / "x.png", (1, 2, 3), 0)
    make_color_image(color_tree / "__MACOSX" / "x.png", (1, 2, 3), 0)
    examples = scan_folder(color_tree)
    assert examples.classes == ("blue", "green", "red")
    assert examples.skipped == ()


def test_a_class_folder_named_with_a_leading_underscore_is_a_class(color_tree, tmp_path):
    # '_other' is a common class name; only hidden folders and __MACOSX-style clutter are skipped
    # (the server's zip upload reads the same tree the same way).
    make_color_image(color_tree / "_other" / "x.png", (9, 9, 9), 0)
    assert scan_folder(color_tree).counts()["_other"] == 1
    make_color_image(tmp_path / "nested" / "Greek" / "_alpha" / "1.png", (9, 9, 9), 0)
    make_color_image(tmp_path / "nested" / "Greek" / "beta" / "1.png", (9, 9, 9), 1)
    make_color_image(tmp_path / "nested" / "Greek" / "__pycache__" / "1.png", (9, 9, 9), 2)
    assert scan_folder(tmp_path / "nested", nested=True).classes == ("Greek/_alpha", "Greek/beta")


def test_scan_folder_refuses_a_single_class_and_names_the_fix(tmp_path):
    make_color_tree(tmp_path / "one", classes=("red",))
    with pytest.raises(DataError, match="at least 2 class sub-folders.*own sub-folder"):
        scan_folder(tmp_path / "one")


def test_scan_folder_refuses_a_class_with_no_readable_image(color_tree):
    (color_tree / "empty_class").mkdir()
    (color_tree / "empty_class" / "broken.jpg").write_bytes(b"")
    with pytest.raises(DataError, match="'empty_class'.*no readable images.*Add at least 1"):
        scan_folder(color_tree)


def test_a_class_folder_that_cannot_be_read_says_so_rather_than_empty(color_tree, monkeypatch):
    import os

    import handful.data.folder as folder

    for f in (color_tree / "red").iterdir():  # what os.walk sees in a folder it may not list
        f.unlink()
    (color_tree / "red" / "note.txt").write_text("x")  # keeps it a class folder for the scan
    real_access = os.access
    monkeypatch.setattr(folder.os, "access", lambda p, mode: Path(p).name != "red" and real_access(p, mode))
    with pytest.raises(DataError, match="'red' .* cannot be read \\(permission denied\\)"):
        scan_folder(color_tree)


def test_scan_folder_missing_root_is_a_not_found_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        scan_folder(tmp_path / "nope")


def test_scan_splits_recognizes_train_val_test(color_splits):
    splits = scan_splits(color_splits)
    assert set(splits) == {"train", "val"}
    assert len(splits["train"]) == 18 and len(splits["val"]) == 12


def test_nested_scan_makes_every_leaf_folder_a_class(tmp_path):
    for alphabet in ("greek", "latin"):
        for char in ("c01", "c02"):
            for i in range(2):
                make_color_image(tmp_path / alphabet / char / f"{i}.png", (9, 9, 9), i)
    examples = scan_folder(tmp_path, nested=True)
    assert examples.classes == ("greek/c01", "greek/c02", "latin/c01", "latin/c02")


def test_load_image_applies_exif_orientation(tmp_path):
    # A 40x20 image stored with EXIF orientation 6 (rotate 90 CW) must come out 20x40.
    img = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif)
    assert load_image(path).size == (20, 40)


@pytest.mark.parametrize("mode", ["CMYK", "L", "LA", "P", "RGBA", "I;16", "1"])
def test_load_image_converts_every_mode_to_rgb(tmp_path, mode):
    img = Image.new(mode, (16, 12))
    path = tmp_path / f"img_{mode.replace(';', '')}.{'jpg' if mode == 'CMYK' else 'png'}"
    img.save(path)
    out = load_image(path)
    assert out.mode == "RGB" and out.size == (16, 12)


def test_load_image_reports_a_truncated_jpeg(tmp_path):
    path = make_color_image(tmp_path / "full.jpg", (10, 200, 10), 0, size=(256, 256))
    data = path.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match="truncated"):
        load_image(cut)


def test_load_image_draft_mode_decodes_big_jpegs_smaller_but_not_below_request(tmp_path):
    path = make_color_image(tmp_path / "big.jpg", (10, 10, 200), 0, size=(1600, 1200))
    img = load_image(path, draft_size=256)
    assert 256 <= min(img.size) < 1200


def test_gif_and_webp_and_bmp_and_tiff_are_read(tmp_path):
    for ext in ("gif", "webp", "bmp", "tiff"):
        Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(tmp_path / f"x.{ext}")
        assert load_image(tmp_path / f"x.{ext}").size == (8, 8)


def test_class_folders_of_text_files_point_to_a_csv_of_texts(tmp_path):
    for label in ("pos", "neg"):
        (tmp_path / "reviews" / label).mkdir(parents=True)
        (tmp_path / "reviews" / label / "1.txt").write_text(f"a {label} review")
    with pytest.raises(DataError, match=r"only \.txt files.*CSV/TSV"):
        scan_folder(tmp_path / "reviews")
