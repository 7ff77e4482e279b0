"""POST /projects/{id}/suggest marks images unlike the training examples and ranks them after the
familiar ones, as ``handful suggest`` does (``select.active.rank_unlabeled``).

Uncertainty sampling favours an input of no class: a checkerboard sent to a red/green/blue model is
the image it is least sure of, so the old ranking put it first (with a hymenoptera model, 12 of the
20 picks from its val photos mixed with 20 flower photos were flowers).
"""

import json

import pytest
from fastapi.testclient import TestClient

from handful.server import Catalog, ServerSettings, create_app, extras
from server_utils import color_png, train_colors
from test_familiar_server import checker_png

pytestmark = pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")

JOB = {"backbone": "test_tiny_image", "head": "logistic"}


def inbox() -> list[tuple]:
    """Two photos of each training colour and a checkerboard, as multipart ``files``."""
    files = [(f"{c}{i}.png", color_png(c, 3000 + 10 * i + k)) for k, c in enumerate(["red", "green", "blue"])
             for i in range(2)]
    files.append(("checker.png", checker_png()))
    return [("files", (name, data, "image/png")) for name, data in files]


def train(client) -> int:
    return train_colors(client, 7, JOB)  # 21 images: 20+ to judge familiarity by (MIN_JUDGED)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("suggest") / "home"
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as client:
        yield client, train(client)


def suggest(client, pid: int, **params) -> dict:
    res = client.post(f"/api/projects/{pid}/suggest", params=params, files=inbox())
    assert res.status_code == 200, res.text
    return res.json()


def test_the_checkerboard_is_marked_and_ranked_after_the_familiar_images(server):
    client, pid = server
    body = suggest(client, pid, n=20)
    rows = body["suggestions"]
    assert rows[-1]["input"] == "checker.png" and rows[-1]["familiar"] is False, rows
    # near-duplicate photos of one colour may be left out; the ones listed are like the training ones
    assert len(rows) >= 3 and all(r["familiar"] for r in rows[:-1]), rows
    assert rows[-1]["familiarity"] < min(r["familiarity"] for r in rows[:-1])
    assert body["n_unfamiliar"] == 1 and body["unfamiliar_ranked"] == "last"


def test_the_places_go_to_familiar_images_first_and_the_held_back_one_is_counted(server):
    client, pid = server
    body = suggest(client, pid, n=2)
    assert [r["familiar"] for r in body["suggestions"]] == [True, True], body["suggestions"]
    # not in the list, but the answer says one unfamiliar image came after these
    assert body["n_unfamiliar"] == 1 and body["unfamiliar_ranked"] == "last"


def test_mix_unfamiliar_ranks_the_checkerboard_by_uncertainty_alone(server):
    client, pid = server
    body = suggest(client, pid, n=2, mix_unfamiliar=True)
    # the model is least sure of it: ranked with the rest it comes first, still marked
    first = body["suggestions"][0]
    assert first["input"] == "checker.png" and first["familiar"] is False, body["suggestions"]
    assert body["n_unfamiliar"] == 1 and body["unfamiliar_ranked"] == "mixed"


def test_the_api_docs_describe_the_mark_and_the_option(server):
    client, _ = server
    spec = client.get("/openapi.json").json()
    params = {p["name"] for p in spec["paths"]["/api/projects/{project_id}/suggest"]["post"]["parameters"]}
    assert "mix_unfamiliar" in params
    schemas = spec["components"]["schemas"]
    assert {"familiar", "familiarity"} <= set(schemas["Suggestion"]["properties"])
    assert {"n_unfamiliar", "unfamiliar_ranked"} <= set(schemas["SuggestResult"]["properties"])


def test_a_model_saved_without_familiarity_data_still_suggests_unmarked(tmp_path):
    home = tmp_path / "home"
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as client:
        pid = train(client)
    # models saved before handful kept their training examples have no "familiarity" in model.json
    model_dir = Catalog(home).home / Catalog(home).get_version(pid, 1)["path"]
    doc = json.loads((model_dir / "model.json").read_text())
    (model_dir / doc.pop("familiarity")["file"]).unlink()
    (model_dir / "model.json").write_text(json.dumps(doc))
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as client:
        body = suggest(client, pid, n=2)
    rows = body["suggestions"]
    assert rows[0]["input"] == "checker.png", "ranked as before: by uncertainty alone"
    # unknown is not "unlike": null, as /predict answers for a model that keeps no examples
    assert all(r["familiar"] is None and r["familiarity"] is None for r in rows)
    assert body["n_unfamiliar"] is None and body["unfamiliar_ranked"] is None
