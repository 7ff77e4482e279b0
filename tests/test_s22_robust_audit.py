"""s22 robustness audit: caches, model folders and concurrent use. Each test names a bug found
in the audit (all fixed; tests/test_s22_robust_fixes.py has the follow-ups)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import make_color_image, make_color_tree
from handful.backbones import create_backbone
from handful.cache import FeatureCache


def _paths(root, n=3):
    return [str(make_color_image(root / f"{i}.png", (60 * i, 90, 200), i)) for i in range(n)]


def test_a_zero_byte_cache_entry_is_ignored_and_recomputed(tmp_path):
    cache, backbone, paths = FeatureCache(tmp_path / "c"), create_backbone("test_tiny_image"), _paths(tmp_path)
    good, _ = cache.get_or_compute(backbone, paths)
    entry = next((tmp_path / "c").rglob("*.npy"))
    entry.write_bytes(b"")  # what a power loss after create-before-data-flush can leave
    again, failures = cache.get_or_compute(backbone, paths)  # a damaged entry is a miss, like a truncated one
    assert failures == {}
    np.testing.assert_allclose(again, good)


def test_train_with_a_zero_byte_cache_entry_succeeds(tmp_path, monkeypatch, capsys):
    from handful.cli import main

    monkeypatch.setenv("HANDFUL_CACHE", str(tmp_path / "cache"))
    data = make_color_tree(tmp_path / "data", 3)
    argv = ["train", str(data), "--backbone", "test_tiny_image", "--head", "prototype", "--no-advise"]
    assert main([*argv, "--out", str(tmp_path / "m1")]) == 0
    next((tmp_path / "cache").rglob("*.npy")).write_bytes(b"")
    capsys.readouterr()
    code = main([*argv, "--out", str(tmp_path / "m2")])
    err = capsys.readouterr().err
    # click turns the EOFError from np.load into Abort: the user is told "aborted", exit 130,
    # on every run until they find and delete the empty file themselves
    assert code == 0, err
    assert (tmp_path / "m2" / "model.json").is_file()


def test_a_head_file_swapped_in_from_another_model_is_refused(tmp_path):
    import shutil

    import handful
    from handful import Classifier
    from handful.errors import BundleError

    # two models of the same backbone and head, each with two classes, but different class names
    Classifier("test_tiny_image", head="prototype").fit(
        make_color_tree(tmp_path / "rg", 3, classes=("red", "green"))).save(tmp_path / "a")
    Classifier("test_tiny_image", head="prototype").fit(
        make_color_tree(tmp_path / "gb", 3, classes=("green", "blue"))).save(tmp_path / "b")
    shutil.copyfile(tmp_path / "b" / "head.safetensors", tmp_path / "a" / "head.safetensors")
    # model a now scores with b's prototypes: its 'green' column answers for blue and 'red' for
    # green, silently; model.json should record what head file it was written with
    with pytest.raises(BundleError, match="head.safetensors"):
        handful.load(tmp_path / "a")


def test_serve_on_a_damaged_catalog_gives_one_error_line(tmp_path, capsys):
    from conftest import one_error_line

    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog.sqlite").write_bytes(b"not a database, " * 512)  # a disk error, a bad copy
    # today: sqlite3.DatabaseError 'file is not a database' escapes main() (a traceback, exit 1)
    line = one_error_line(capsys, ["serve", "--home", str(home), "--port", "0"])
    assert "catalog.sqlite" in line, line  # names the file, so the user knows what to restore


def test_recover_removes_half_written_onnx_exports(tmp_path):
    from handful.server.catalog import Catalog
    from handful.server.runner import recover

    catalog = Catalog(tmp_path)
    # what export_onnx's mkstemp leaves when the server is killed mid-export: --runtime onnx
    # (predictor.py: home/onnx/) and the ONNX download route (routes/versions.py: home/exports/1/)
    half_written = [tmp_path / "onnx" / ".project-1-v1-abc.onnx.tmp-x1y2.onnx",
                    tmp_path / "exports" / "1" / ".v1-abc.onnx.tmp-x1y2.onnx"]
    for file in half_written:
        file.parent.mkdir(parents=True)
        file.write_bytes(b"partial graph" * 1000)  # real ones are tens of MB each
    recover(catalog)
    # README: "After a crash or `kill -9`, the next start ... removes anything half-written"
    assert [f for f in half_written if f.exists()] == []


@pytest.mark.parametrize("damage", [b"", b"\x12garbage, not an .npy header" * 3], ids=["empty", "garbage"])
def test_embed_resuming_onto_a_damaged_npy_gives_one_error_line(tmp_path, capsys, damage):
    from conftest import one_error_line
    from handful.cli import main

    data = make_color_tree(tmp_path / "data", 2)
    out = tmp_path / "e" / "emb.npy"
    argv = ["embed", str(data), "--backbone", "test_tiny_image", "--out", str(out)]
    assert main(argv) == 0
    out.write_bytes(damage)  # a disk error or a bad copy; meta.json still says it is ours
    capsys.readouterr()
    # today: _npy_layout's np.lib.format.read_magic raises ValueError past main() (exit 1)
    line = one_error_line(capsys, argv)
    assert "emb.npy" in line and "--overwrite" in line, line  # names the file and the fix
