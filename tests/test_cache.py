"""FeatureCache: hits skip the backbone, content (not name) is the key, entries are atomic."""

import shutil

import numpy as np

from conftest import make_color_image
from handful.backbones import create_backbone
from handful.backbones.testing import TinyImageBackbone
from handful.cache import FeatureCache


def _paths(root, n=4):
    return [str(make_color_image(root / f"{i}.png", (30 * i, 90, 200), i)) for i in range(n)]


def test_second_call_is_all_hits_and_never_calls_embed(tmp_path):
    cache, backbone, paths = FeatureCache(tmp_path / "c"), create_backbone("test_tiny_image"), _paths(tmp_path)
    first, _ = cache.get_or_compute(backbone, paths)
    calls = TinyImageBackbone.n_embed_calls
    second, failures = cache.get_or_compute(backbone, paths)
    assert TinyImageBackbone.n_embed_calls == calls  # no forward pass at all
    assert failures == {} and cache.stats.hits == 4
    np.testing.assert_array_equal(first, second)


def test_renamed_file_is_a_hit_and_changed_file_is_a_miss(tmp_path):
    cache, backbone, paths = FeatureCache(tmp_path / "c"), create_backbone("test_tiny_image"), _paths(tmp_path)
    cache.get_or_compute(backbone, paths)
    renamed = tmp_path / "renamed.png"
    shutil.copy(paths[0], renamed)
    make_color_image(tmp_path / "1.png", (250, 250, 0), 99)  # overwrite with other content
    cache.stats.hits = cache.stats.misses = 0
    cache.get_or_compute(backbone, [str(renamed), paths[1]])
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


def test_a_different_backbone_config_does_not_reuse_entries(tmp_path):
    cache, paths = FeatureCache(tmp_path / "c"), _paths(tmp_path)
    cache.get_or_compute(create_backbone("test_tiny_image"), paths)
    out, _ = cache.get_or_compute(create_backbone("test_tiny_image", dim=8), paths)
    assert out.shape == (4, 8) and cache.stats.misses == 8


def test_unusable_items_are_reported_not_cached_and_rows_are_nan(tmp_path):
    cache, backbone, paths = FeatureCache(tmp_path / "c"), create_backbone("test_tiny_image"), _paths(tmp_path)
    data = open(paths[2], "rb").read()
    open(paths[2], "wb").write(data[: len(data) // 3])  # truncated PNG
    out, failures = cache.get_or_compute(backbone, paths)
    assert list(failures) == [2] and "decoded" in failures[2] or "truncated" in failures[2]
    assert np.isnan(out[2]).all() and np.isfinite(out[[0, 1, 3]]).all()


def test_half_written_and_foreign_entries_are_ignored_and_recomputed(tmp_path):
    cache, backbone, paths = FeatureCache(tmp_path / "c"), create_backbone("test_tiny_image"), _paths(tmp_path, 1)
    good, _ = cache.get_or_compute(backbone, paths)
    entry = next((tmp_path / "c").rglob("*.npy"))
    entry.write_bytes(entry.read_bytes()[:20])  # as if a crash cut the write short
    again, _ = cache.get_or_compute(backbone, paths)
    np.testing.assert_allclose(again, good)
    assert not list((tmp_path / "c").rglob(".tmp-*"))  # no temp files left behind


def test_disabled_cache_writes_nothing(tmp_path):
    cache = FeatureCache(tmp_path / "c", enabled=False)
    cache.get_or_compute(create_backbone("test_tiny_image"), _paths(tmp_path))
    assert not (tmp_path / "c").exists()


def test_a_cache_that_cannot_be_written_warns_once_and_the_embeddings_still_come(tmp_path, recwarn):
    # a read-only or full disk under ~/.cache stopped every command: the cache only saves time
    (tmp_path / "file").write_text("not a folder")
    cache, backbone, paths = FeatureCache(tmp_path / "file" / "c"), create_backbone("test_tiny_image"), _paths(tmp_path)
    out, failures = cache.get_or_compute(backbone, paths)
    again, _ = cache.get_or_compute(backbone, paths)
    assert failures == {} and np.isfinite(out).all()
    np.testing.assert_array_equal(out, again)
    said = [str(w.message) for w in recwarn if "cache" in str(w.message)]
    assert len(said) == 1 and str(tmp_path / "file" / "c") in said[0] and "HANDFUL_CACHE" in said[0]
    assert "Classifier(cache=False)" in said[0]  # the fix for a Python caller too, not only --no-cache


def test_train_goes_on_when_the_cache_folder_is_read_only(tmp_path, monkeypatch, capsys):
    from conftest import make_color_tree
    from handful.cli import main

    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("HANDFUL_CACHE", str(tmp_path / "file" / "cache"))
    data = make_color_tree(tmp_path / "data")
    assert main(["train", str(data), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_image",
                 "--head", "prototype", "--no-advise"]) == 0
    assert (tmp_path / "m" / "model.json").is_file()
