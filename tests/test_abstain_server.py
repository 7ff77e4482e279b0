"""The HTTP predict routes take ``min_confidence`` as ``handful predict --min-confidence`` does."""

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from handful.server import Catalog, ServerSettings, create_app
from server_utils import color_png, upload_colors, wait_job


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """A server with an image project (three colours) and a text project (sports vs cooking)."""
    home = tmp_path_factory.mktemp("abstain-server") / "home"
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as client:
        images = client.post("/api/projects", json={"name": "colors"}).json()["id"]
        upload_colors(client, images, n=4)
        texts = client.post("/api/projects", json={"name": "t", "modality": "text"}).json()["id"]
        items = [{"text": t, "label": "sports"} for t in ("the team won the match", "a great goal")]
        items += [{"text": t, "label": "cooking"} for t in ("add salt to the soup", "bake the bread")]
        client.post(f"/api/projects/{texts}/examples/texts", json={"items": items})
        for pid, options in ((images, {"backbone": "test_tiny_image", "head": "logistic"}),
                             (texts, {"backbone": "test_tiny_text", "head": "prototype"})):
            job = client.post(f"/api/projects/{pid}/jobs", json=options).json()
            assert wait_job(client, job["id"])["status"] == "succeeded"
        yield client, images, texts


def between(predictions: list[dict]) -> float:
    """A threshold between the least and the most sure prediction of an answer without one."""
    tops = sorted(p["top"][0]["probability"] for p in predictions)
    assert tops[0] < tops[-1], tops
    return (tops[0] + tops[-1]) / 2


def check_unsure(predictions: list[dict], threshold: float) -> None:
    for p in predictions:
        top = p["top"][0]
        assert p["unsure"] == (top["probability"] < threshold), p
        assert p["label"] == (None if p["unsure"] else top["label"]), p
    assert {p["unsure"] for p in predictions} == {True, False}  # the threshold splits them


def test_text_predictions_under_min_confidence_are_unsure(servers):
    client, _, pid = servers
    texts = ["the team won the match", "a goal in the soup", "weather report"]
    plain = client.post(f"/api/projects/{pid}/predict/texts", json={"texts": texts}).json()["predictions"]
    assert not any(p["unsure"] for p in plain)  # without a threshold every prediction is answered
    t = between(plain)
    res = client.post(f"/api/projects/{pid}/predict/texts", json={"texts": texts, "min_confidence": t})
    check_unsure(res.json()["predictions"], t)


def blend_png() -> bytes:
    """A flat purple-grey image, between the colours of the classes."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 32), (125, 115, 140)).save(buf, format="PNG")
    return buf.getvalue()


def test_image_predictions_take_min_confidence_as_a_query_parameter(servers):
    client, pid, _ = servers
    # a solid colour, and a blend of two that neither class owns
    files = [("files", ("red.png", color_png("red", 901), "image/png")),
             ("files", ("mix.png", blend_png(), "image/png"))]
    plain = client.post(f"/api/projects/{pid}/predict", files=files).json()["predictions"]
    t = between(plain)
    res = client.post(f"/api/projects/{pid}/predict", params={"min_confidence": t}, files=files)
    check_unsure(res.json()["predictions"], t)


@pytest.mark.parametrize("value", [0, 1, 1.5, -0.2])
def test_a_min_confidence_outside_zero_to_one_is_a_422_naming_it(servers, value):
    client, _, pid = servers
    res = client.post(f"/api/projects/{pid}/predict/texts", json={"texts": ["a goal"], "min_confidence": value})
    assert res.status_code == 422 and "min_confidence" in res.json()["detail"]
