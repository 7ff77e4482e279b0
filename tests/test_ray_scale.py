"""Ray scale-out gives the same results as the local path (a local 2-CPU Ray, started here)."""

import csv
import json

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")

from handful import Classifier  # noqa: E402
from handful.cli import main  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module (start-up takes seconds); the CLI reuses it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.fixture
def images(color_tree):
    (color_tree / "red" / "junk.jpg").write_bytes(b"not a jpeg")
    return color_tree


def test_ray_embed_equals_local_embed(local_ray, capsys, images, tmp_path):
    base = ["embed", str(images), "--backbone", "test_tiny_image", "--no-cache"]
    local = run_json(capsys, base + ["--out", str(tmp_path / "local.npy")])
    remote = run_json(capsys, base + ["--out", str(tmp_path / "ray.npy"), "--ray"])
    a, b = np.load(tmp_path / "local.npy"), np.load(tmp_path / "ray.npy")
    assert a.shape == b.shape == (19, 32)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a, b, atol=1e-6, equal_nan=True)
    assert rows(tmp_path / "local.index.csv") == rows(tmp_path / "ray.index.csv")
    assert remote["skipped"] == local["skipped"] and remote["ray"] is True


def test_ray_predict_equals_local_predict(local_ray, capsys, images, tmp_path):
    Classifier("test_tiny_image", head="logistic").fit(images).save(tmp_path / "m")
    base = ["predict", str(tmp_path / "m"), str(images), "--top", "3"]
    run_json(capsys, base + ["--out", str(tmp_path / "local.csv")])
    remote = run_json(capsys, base + ["--out", str(tmp_path / "ray.csv"), "--ray"])
    local_rows, ray_rows = rows(tmp_path / "local.csv"), rows(tmp_path / "ray.csv")
    assert ray_rows[0] == local_rows[0] and len(ray_rows) == 19  # header + 18 good images
    assert sorted(ray_rows[1:]) == sorted(local_rows[1:])  # Ray may finish batches in any order
    assert [s["path"].rsplit("/", 1)[-1] for s in remote["skipped"]] == ["junk.jpg"]
