"""Bucket inputs: a ``scheme://prefix`` is listed and read through pyarrow.fs.

``file://`` URIs go through exactly the code a bucket does (``FileSystem.from_uri``, a
recursive ``FileSelector``, ``open_input_file``), so these tests need no network.
"""

import csv
import json

import numpy as np
import pytest

from handful import Classifier
from handful.cli import main
from handful.data import list_images
from handful.data.images import ImageDecodeError, load_image
from handful.data.remote import is_uri, list_uri_files

pytest.importorskip("pyarrow.fs")


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def test_is_uri_tells_buckets_from_local_paths():
    assert is_uri("s3://bucket/photos") and is_uri("gs://b/x.jpg") and is_uri("file:///tmp/a")
    assert not is_uri("/tmp/photos") and not is_uri("photos/cat.jpg") and not is_uri("C:\\photos")


def test_a_prefix_lists_its_images_recursively_and_ignores_the_rest(color_tree):
    (color_tree / "notes.txt").write_text("clutter")
    listed, skipped = list_images([color_tree.as_uri()], check=False)
    local, _ = list_images([color_tree], check=False)
    assert [u.removeprefix("file://") for u in listed] == sorted(local) and not skipped
    assert all(u.startswith("file:///") for u in listed)
    assert len(list_uri_files(color_tree.as_uri())) == len(local) + 1  # the .txt is a file, not an image


def test_an_object_decodes_like_the_local_file(color_tree):
    path = sorted(color_tree.rglob("*.png"))[0]
    assert np.array_equal(np.asarray(load_image(path.as_uri())), np.asarray(load_image(path)))
    with pytest.raises(ImageDecodeError, match="cannot be read"):
        load_image((color_tree / "missing.png").as_uri())


def test_bucket_objects_are_cached_by_version_and_read_once_per_embedding(color_tree, tmp_path, monkeypatch):
    from handful.backbones import create_backbone
    from handful.cache import FeatureCache
    from handful.cache import store as store_module
    from handful.data import images as images_module
    from handful.data import remote

    reads = []
    counted = lambda uri: reads.append(uri) or remote.read_uri(uri)  # noqa: E731
    for module in (images_module, store_module):  # every module that could download an object
        monkeypatch.setattr(module, "read_uri", counted, raising=False)
    uris, _ = list_images([color_tree.as_uri()], check=False)
    cache, backbone = FeatureCache(tmp_path / "cache"), create_backbone("test_tiny_image")
    first, _ = cache.get_or_compute(backbone, uris)
    assert sorted(reads) == sorted(uris)  # each object downloaded once: to decode, not to hash
    again, _ = cache.get_or_compute(backbone, uris)
    assert len(reads) == len(uris) and np.array_equal(first, again)  # all hits, no download
    (color_tree / "red" / "red_1.png").write_bytes((color_tree / "blue" / "blue_1.png").read_bytes())
    cache.get_or_compute(backbone, uris)
    assert len(reads) == len(uris) + 1  # the changed object is a miss


def test_embed_and_predict_from_a_prefix_match_the_local_folder(capsys, color_tree, tmp_path):
    args = ["--backbone", "test_tiny_image", "--no-cache"]
    run_json(capsys, ["embed", str(color_tree), "--out", str(tmp_path / "local.npy"), *args])
    remote = run_json(capsys, ["embed", color_tree.as_uri(), "--out", str(tmp_path / "remote.npy"), *args])
    assert remote["n"] == 18
    assert np.array_equal(np.load(tmp_path / "local.npy"), np.load(tmp_path / "remote.npy"))

    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    run_json(capsys, ["predict", str(tmp_path / "m"), color_tree.as_uri(), "--out", str(tmp_path / "p.csv")])
    with open(tmp_path / "p.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 18
    # every image is predicted as its own folder's color (the classes are separable)
    assert all(row["input"].startswith("file:///") and f"/{row['label_1']}/" in row["input"] for row in rows)
