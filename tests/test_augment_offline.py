"""``handful augment``: an augmented copy beside untouched originals, named after its sources."""

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from handful.augment import create_augment
from handful.augment.offline import augment_folder, augmented_name
from handful.cli import main
from handful.data import scan_folder, scan_splits


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def tree_hashes(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_augment_writes_factor_copies_named_after_their_source_and_leaves_originals(capsys, color_tree,
                                                                                     tmp_path):
    before = tree_hashes(color_tree)
    out = tmp_path / "aug"
    result = run_json(capsys, ["augment", str(color_tree), "--out", str(out), "--factor", "3",
                               "--fill", "wrap", "--preset", "strong"])
    assert tree_hashes(color_tree) == before  # originals untouched
    assert result["n_originals"] == 18 and result["n_augmented"] == 54
    assert result["augment"]["fill"] == "wrap"
    assert (out / "red" / "red_1.png").is_file()  # the original copied beside its variants
    for k in (1, 2, 3):
        assert (out / "red" / f"red_0.aug{k}.jpg").is_file()
        assert (out / "red" / f"red_1.aug{k}.png").is_file()
    with Image.open(out / "preview.png") as preview:
        assert preview.width > 3 * 128 and preview.height > 2 * 128  # 4 columns, 3 class rows
    # The copy is itself a data set: 18 originals + 54 augmented, same classes.
    examples = scan_folder(out)
    assert len(examples) == 72 and examples.classes == ("blue", "green", "red")


def test_augment_refuses_to_overwrite_an_existing_folder(capsys, color_tree, tmp_path):
    out = tmp_path / "aug"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code = main(["augment", str(color_tree), "--out", str(out)])
    assert code == 2
    assert "never overwrites" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_augment_refuses_an_output_inside_the_data(capsys, color_tree):
    code = main(["augment", str(color_tree), "--out", str(color_tree / "more")])
    assert code == 2 and "outside it" in capsys.readouterr().err


def test_augment_only_the_train_split_and_copies_val_unchanged(color_splits, tmp_path):
    out = tmp_path / "aug"
    manifest = augment_folder(color_splits, out, create_augment("default"), factor=2)
    splits = scan_splits(out)
    assert len(splits["train"]) == 18 * 3  # originals + 2 each
    assert len(splits["val"]) == 12  # evaluation images are never augmented
    assert len(manifest["copied"]) == 12
    src = color_splits / "val" / "red" / "red_0.jpg"
    assert (out / "val" / "red" / "red_0.jpg").read_bytes() == src.read_bytes()


def test_augmented_copy_is_reproducible_from_the_seed(color_tree, tmp_path):
    augment = create_augment("strong")
    augment_folder(color_tree, tmp_path / "a", augment, factor=2, seed=7, originals=False)
    augment_folder(color_tree, tmp_path / "b", augment, factor=2, seed=7, originals=False)
    augment_folder(color_tree, tmp_path / "c", augment, factor=2, seed=8, originals=False)
    a, b, c = (tree_hashes(tmp_path / n / "blue") for n in "abc")
    assert a == b and a != c


def test_bad_image_is_skipped_and_listed(capsys, color_tree, tmp_path):
    (color_tree / "red" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = run_json(capsys, ["augment", str(color_tree), "--out", str(tmp_path / "aug"),
                               "--factor", "1"])
    assert result["n_originals"] == 18
    assert any("broken.jpg" in s["path"] for s in result["skipped"])


def test_augmented_name_keeps_the_stem_and_a_writable_format():
    from pathlib import Path

    assert augmented_name(Path("cat_001.jpg"), 3) == "cat_001.aug3.jpg"
    assert augmented_name(Path("scan.tiff"), 1) == "scan.aug1.png"


def test_no_written_image_replaces_another_when_names_would_collide(capsys, color_tree, tmp_path):
    # scan.tiff and scan.png both became scan.aug1.png; red_0.jpg's variant overwrote the copy of
    # an original already named red_0.aug1.jpg (augmenting an augmented copy): images were lost
    # while the count said they were written
    red = color_tree / "red"
    Image.open(red / "red_1.png").save(red / "red_1.tiff")
    (red / "red_0.aug1.jpg").write_bytes((red / "red_2.jpg").read_bytes())
    originals = tree_hashes(color_tree)
    out = tmp_path / "aug"
    result = run_json(capsys, ["augment", str(color_tree), "--out", str(out), "--factor", "2"])
    n_sources = 18 + 2
    assert result["n_originals"] == n_sources and result["n_augmented"] == 2 * n_sources
    written = [p for p in out.rglob("*") if p.is_file() and p.name not in ("preview.png", "augment.json")]
    assert len(written) == 3 * n_sources  # each original's copy + 2 variants, none written over another
    assert tree_hashes(out)["red/red_0.aug1.jpg"] == originals["red/red_0.aug1.jpg"]
    manifest = json.loads((out / "augment.json").read_text())
    names = [a for entry in manifest["files"] for a in entry["augmented"]]
    assert len(set(names)) == len(names) and all((out / a).is_file() for a in names)


def test_config_file_overrides_the_preset(capsys, color_tree, tmp_path):
    config = tmp_path / "aug.json"
    config.write_text(json.dumps({"vflip": 1.0}))
    result = run_json(capsys, ["augment", str(color_tree), "--out", str(tmp_path / "aug"),
                               "--factor", "1", "--preset", "none", "--config", str(config)])
    assert result["augment"]["vflip"] == 1.0 and result["augment"]["rotate"] == 0
    with Image.open(color_tree / "red" / "red_1.png") as img:
        original = np.asarray(img)
    with Image.open(tmp_path / "aug" / "red" / "red_1.aug1.png") as img:
        flipped = np.asarray(img)
    np.testing.assert_array_equal(flipped, original[::-1])  # PNG is lossless: exactly upside down


def test_augment_prints_its_transforms_and_bracketed_paths_as_written(capsys, color_tree, tmp_path):
    # Rich read "[random_crop, affine, ...]" and "[v2]" as markup: the summary said "Augment()"
    # (as if nothing were applied) and "Wrote ... to aug " (a folder that does not exist).
    (color_tree / "blue" / "broken [draft].jpg").write_bytes(b"not an image")
    out = tmp_path / "aug [v2]"
    code = main(["augment", str(color_tree), "--out", str(out), "--factor", "1", "--preset", "light",
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Augment([affine, hflip, brightness_contrast])" in captured.err
    assert f"to {out}" in captured.err and "broken [draft].jpg: not an image" in captured.err
    assert len(captured.out.strip().splitlines()) == 1  # stdout: the JSON line only


@pytest.mark.parametrize("args, message", [
    (["--config", '{"fill": "constant", "fill_value": "red"}'], "'fill_value' augmentation setting"),
    (["--fill", ""], "Unknown fill mode ''"),  # was silently the preset's fill (reflect)
])
def test_bad_fill_settings_are_one_line_errors(capsys, color_tree, tmp_path, args, message):
    if args[0] == "--config":
        config = tmp_path / "aug.json"
        config.write_text(args[1])
        args = ["--config", str(config)]
    code = main(["augment", str(color_tree), "--out", str(tmp_path / "aug"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "aug").exists()


def test_augment_says_how_many_skipped_files_it_did_not_list(capsys, color_tree, tmp_path):
    # the first 20 were listed and the rest dropped without a word
    for i in range(23):
        (color_tree / "red" / f"junk_{i:02d}.jpg").write_bytes(b"not an image")
    code = main(["augment", str(color_tree), "--out", str(tmp_path / "aug"), "--factor", "1", "--json"])
    err = capsys.readouterr().err
    assert code == 0 and err.count("junk_") == 20
    assert "... and 3 more (see" in err and "augment.json" in err


@pytest.mark.parametrize("factor", ["0", "65", "4000"])
def test_augment_refuses_a_factor_outside_its_range_in_one_line(capsys, color_tree, tmp_path, factor):
    # 4000 (a typo for 4) was accepted: 4000 new files per original, until the disk was full
    out = tmp_path / "aug"
    code = main(["augment", str(color_tree), "--out", str(out), "--factor", factor])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--factor must be between 1 and 64 (augmented images per original" in err
    assert f"Got {factor}." in err and not out.exists()


def test_augment_refuses_a_copy_that_does_not_fit_on_the_disk(capsys, color_tree, tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**6, 10**6 - 5000, 5000))
    out = tmp_path / "aug"
    code = main(["augment", str(color_tree), "--out", str(out), "--factor", "2"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "needs about" in err and "5.0 kB free" in err and "Lower --factor" in err
    assert not out.exists()
