"""POST /projects/{id}/suggest ranks typical images of the groups no label covers while the model has
under 2 labels per class, as ``handful suggest`` does (``select.active.rank_unlabeled``, TypiClust).

The route passed only the embeddings a model keeps, and a model keeps them from 20 examples
(``familiarity_``), so a web-UI project with one example per class, the Teachable-Machine user, still
got the images its 3-example model was least sure of: the odd ones, one of each.
"""

import io
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from handful.backbones.testing import TinyImageBackbone
from handful.server import Catalog, ServerSettings, create_app, extras
from server_utils import train_colors, upload_colors, wait_job

pytestmark = pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")

JOB = {"backbone": "test_tiny_image", "head": "logistic"}
N_GROUP = 10  # yellow and cyan photos: two groups that no red, green or blue label covers
N_ODD = 6  # one photo each of a random colour: the ones a 3-example model is least sure of


def rgb_png(rgb: tuple[int, int, int], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(rgb) + rng.normal(0, 12, (32, 40, 3)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def inbox() -> list[tuple]:
    """10 yellow, 10 cyan and 6 odd photos, as multipart ``files``."""
    files = [(f"yellow{i}.png", rgb_png((220, 210, 40), 100 + i)) for i in range(N_GROUP)]
    files += [(f"cyan{i}.png", rgb_png((30, 200, 210), 200 + i)) for i in range(N_GROUP)]
    rng = np.random.default_rng(5)
    files += [(f"odd{i}.png", rgb_png(tuple(int(x) for x in rng.integers(0, 255, 3)), 300 + i))
              for i in range(N_ODD)]
    return [("files", (name, data, "image/png")) for name, data in files]


def train(client, n_per_class: int) -> int:
    return train_colors(client, n_per_class, JOB, f"colors {n_per_class}")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = tmp_path_factory.mktemp("typical") / "home"
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as client:
        yield client


def suggest(client, pid: int, n: int = 2) -> dict:
    res = client.post(f"/api/projects/{pid}/suggest", params={"n": n}, files=inbox())
    assert res.status_code == 200, res.text
    return res.json()


def groups(body: dict) -> list[str]:
    """The group of each pick: yellow, cyan or odd."""
    return [re.sub(r"\d+\.png$", "", r["input"]) for r in body["suggestions"]]


def test_one_example_per_class_suggests_one_typical_photo_of_each_uncovered_group(client):
    pid = train(client, n_per_class=1)
    client.app.state.pool.get(pid)  # loaded now: its warm-up pass is not counted below
    calls = TinyImageBackbone.n_embed_calls
    body = suggest(client, pid)
    assert body["ranked_by"] == "typical", body
    # the model's 3 examples cover red, green and blue: yellow and cyan are what it lacks most,
    # and an odd photo of its own is typical of nothing (the uncertainty ranking takes two of those)
    assert sorted(groups(body)) == ["cyan", "yellow"], body["suggestions"]
    # the 3 examples' embeddings came from the cache their training filled: one pass, the inbox's
    assert TinyImageBackbone.n_embed_calls - calls == 1


def test_examples_added_after_training_do_not_count_as_labels_of_the_version(client):
    pid = train(client, n_per_class=1)
    # a second example of each class, labeled since the version was trained: counted, the version would
    # have 2 labels per class and rank by the doubts of a model that learned only 1 per class
    upload_colors(client, pid, n=1, seed=7)
    body = suggest(client, pid)
    assert body["ranked_by"] == "typical" and sorted(groups(body)) == ["cyan", "yellow"], body


def ranked_as_before(client, pid: int, n: int, tmp_path) -> list[int]:
    """The inbox's ranking by the version's uncertainty, with no labeled embeddings (the old route)."""
    files = inbox()
    paths = [tmp_path / name for _, (name, _, _) in files]
    for path, (_, (_, data, _)) in zip(paths, files, strict=True):
        path.write_bytes(data)
    X, proba, ok, _ = client.app.state.pool.get(pid).embed_and_predict([str(p) for p in paths])
    assert len(ok) == len(paths)
    return extras.suggest(X, proba, n, [str(p) for p in paths])[0]


def test_two_examples_per_class_rank_by_uncertainty_as_before(client, tmp_path):
    pid = train(client, n_per_class=2)
    body = suggest(client, pid, n=4)
    # 2 per class: the model's doubts mean something again, and the ranking is the old one
    assert body["ranked_by"] == "uncertain", body
    assert [r["index"] for r in body["suggestions"]] == ranked_as_before(client, pid, 4, tmp_path)
    assert groups(body)[0] == "odd", "the photo the model is least sure of is an odd one"


def test_without_its_training_examples_a_one_per_class_model_ranks_by_uncertainty(client, tmp_path):
    # photos no other project of this module has: deleting the examples deletes their files (the
    # version still records them, and would use files another project keeps)
    pid = client.post("/api/projects", json={"name": "own photos"}).json()["id"]
    upload_colors(client, pid, n=1, seed=3)
    assert wait_job(client, client.post(f"/api/projects/{pid}/jobs", json=JOB).json()["id"])["status"] == "succeeded"
    ids = [e["id"] for e in client.get(f"/api/projects/{pid}/examples").json()["items"]]
    res = client.post(f"/api/projects/{pid}/examples/delete", json={"ids": ids})
    assert res.status_code == 200, res.text
    body = suggest(client, pid)
    # none of what it was taught is at hand: no group counts as covered, so uncertainty decides
    assert body["ranked_by"] == "uncertain", body
    assert [r["index"] for r in body["suggestions"]] == ranked_as_before(client, pid, 2, tmp_path)


def test_the_api_docs_describe_ranked_by(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SuggestResult"]
    assert schema["properties"]["ranked_by"]["enum"] == ["typical", "uncertain"]
    assert "no label covers" in schema["properties"]["ranked_by"]["description"]
