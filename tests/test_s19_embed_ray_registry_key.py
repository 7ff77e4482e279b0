"""``handful embed --ray`` has its workers rebuild the backbone from the name the user gave, not
from the backbone's own ``name`` (a registered alias or plugin name need not be it), and a worker
whose backbone is not the driver's says so instead of writing other embeddings into the file."""

import numpy as np
import pytest

from handful.backbones import registry
from handful.backbones.testing import TinyImageBackbone
from handful.cli import main
from handful.errors import BackboneUnavailableError
from handful.scale import ray_data


def _in_process_ray(requests: list):
    """``iter_ray_results`` without a cluster: the same ``_Worker`` a Ray actor runs, built here
    from the request's keyword arguments (a Ray worker's process would lack a backbone registered
    by this test, so a real one could not show which name it was sent)."""

    def iter_results(items, task, *, batch_size=32, **request):
        requests.append(request)
        kwargs = {k: v for k, v in request.items() if k in ("backbone", "files", "fingerprint")}
        worker = ray_data._Worker(task, batch_size=batch_size, **kwargs)
        out = worker({"row": np.arange(len(items)), "item": np.asarray(items, dtype=object)})
        ok = [j for j, error in enumerate(out["error"]) if not error]
        yield ok, out["values"][ok], {j: str(e) for j, e in enumerate(out["error"]) if e}

    return iter_results


@pytest.fixture
def alias_registered(monkeypatch):
    """'test_s19_alias': a 16-d thumbnail backbone whose own name is that of another registered
    backbone (test_tiny_image, 32-d), as an alias registered by a plugin would be."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # registered for this test only
    registry.register_backbone("test_s19_alias", "image", hidden=True)(lambda: TinyImageBackbone(dim=16))
    assert registry.create_backbone("test_s19_alias").name == "test_tiny_image"


def test_embed_ray_sends_the_name_given_and_writes_what_embed_without_ray_writes(
        alias_registered, monkeypatch, color_tree, tmp_path):
    requests = []
    monkeypatch.setattr(ray_data, "init_ray", lambda address=None, quiet=False: {})
    monkeypatch.setattr(ray_data, "iter_ray_results", _in_process_ray(requests))
    local, spread = tmp_path / "local.npy", tmp_path / "ray.npy"
    common = [str(color_tree), "--backbone", "test_s19_alias", "--no-cache", "--json"]
    assert main(["embed", *common, "--out", str(local)]) == 0
    # before: the request named 'test_tiny_image', whose 32-d rows did not fit the 16-d file
    assert main(["embed", *common, "--out", str(spread), "--ray"]) == 0
    assert [r["backbone"] for r in requests] == ["test_s19_alias"]
    np.testing.assert_array_equal(np.load(spread), np.load(local))  # the same backbone, row for row


def test_a_worker_whose_backbone_is_not_the_drivers_raises_on_its_first_call():
    driver = TinyImageBackbone(dim=16)  # what the command built; the worker builds the 32-d default
    worker = ray_data._Worker("embed", backbone="test_tiny_image", fingerprint=driver.fingerprint)
    with pytest.raises(BackboneUnavailableError, match="not the one the command built") as err:
        worker({"row": np.arange(1), "item": np.asarray(["x.png"], dtype=object)})
    assert "Install the same handful and backbone plugins on every node" in str(err.value)


def test_a_worker_whose_backbone_matches_the_drivers_embeds():
    driver = TinyImageBackbone()
    worker = ray_data._Worker("embed", backbone="test_tiny_image", fingerprint=driver.fingerprint)
    out = worker({"row": np.arange(1), "item": np.asarray(["missing.png"], dtype=object)})
    assert out["values"].shape == (1, driver.dim) and out["error"][0]  # a per-row error, not a failure
