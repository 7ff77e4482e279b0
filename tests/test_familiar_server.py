"""The HTTP predict routes mark each prediction ``familiar`` (false: unlike the training examples),
as ``handful predict`` does; null where the model keeps none (ONNX runtime)."""

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from handful.server import Catalog, ServerSettings, create_app
from server_utils import color_png, upload_colors, wait_job

# 20 texts: a model trained on fewer keeps no familiarity (evaluate.familiarity.MIN_JUDGED)
SPORTS = ["the team scored a goal in the match", "the team won the match", "a goal in the final match",
          "the player scored a goal", "the team lost the final", "the match ended with a late goal",
          "the team played the match at home", "a late goal won the final", "the player missed a goal",
          "the team scored twice in the match"]
COOKING = ["stir the soup in the pot", "add salt to the soup", "the soup needs fresh basil",
           "bake the bread in the oven", "the bread needs salt", "simmer the soup in a pot",
           "add basil to the sauce", "bake the bread with salt", "stir the sauce in the pot",
           "the soup needs more salt"]


def checker_png() -> bytes:
    """A black-and-white checkerboard: no solid-colour training image is like it."""
    rows, cols = np.indices((32, 40))
    bits = ((rows // 8 + cols // 8) % 2 * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(np.repeat(bits[..., None], 3, axis=2)).save(buf, format="PNG")
    return buf.getvalue()


def trained(client, modality: str) -> int:
    pid = client.post("/api/projects", json={"name": modality, "modality": modality}).json()["id"]
    if modality == "image":
        upload_colors(client, pid, n=7)  # 21 images: 20+ to judge familiarity by
        options = {"backbone": "test_tiny_image", "head": "logistic"}
    else:
        items = [{"text": t, "label": "sports"} for t in SPORTS] + [{"text": t, "label": "cooking"} for t in COOKING]
        client.post(f"/api/projects/{pid}/examples/texts", json={"items": items})
        options = {"backbone": "test_tiny_text", "head": "prototype"}
    job = client.post(f"/api/projects/{pid}/jobs", json=options).json()
    assert wait_job(client, job["id"])["status"] == "succeeded"
    return pid


@pytest.fixture(scope="module", params=["torch", "onnx"])
def server(request, tmp_path_factory):
    if request.param == "onnx":
        pytest.importorskip("onnxruntime")
    home = tmp_path_factory.mktemp(f"familiar-{request.param}") / "home"
    settings = ServerSettings(preload=False, runtime=request.param)
    with TestClient(create_app(Catalog(home), settings)) as client:
        yield client, request.param, trained(client, "image"), trained(client, "text")


def test_image_predictions_mark_an_image_unlike_the_training_examples(server):
    client, runtime, pid, _ = server
    files = [("files", ("red.png", color_png("red", 901), "image/png")),
             ("files", ("checker.png", checker_png(), "image/png"))]
    res = client.post(f"/api/projects/{pid}/predict", files=files)
    assert res.status_code == 200, res.text
    marks = {p["input"]: (p["familiar"], p["familiarity"]) for p in res.json()["predictions"]}
    if runtime == "onnx":  # ONNX Runtime answers from pixels: no embedding to compare
        assert marks == {"red.png": (None, None), "checker.png": (None, None)}
    else:
        assert marks["red.png"][0] is True and marks["checker.png"][0] is False
        assert marks["red.png"][1] > marks["checker.png"][1]


def test_text_predictions_mark_a_text_about_something_else(server):
    client, _, _, pid = server  # text models predict with torch under either runtime
    texts = ["the team scored a late goal", "rain and wind tomorrow morning"]
    res = client.post(f"/api/projects/{pid}/predict/texts", json={"texts": texts})
    assert res.status_code == 200, res.text
    assert [p["familiar"] for p in res.json()["predictions"]] == [True, False]
