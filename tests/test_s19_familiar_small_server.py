"""The server's predictions of a model trained on fewer than 20 images answer ``familiar`` null (not
judged: ``evaluate.familiarity.MIN_JUDGED``), and its API docs say so."""

from fastapi.testclient import TestClient

from handful.server import Catalog, ServerSettings, create_app
from server_utils import color_png, upload_colors, wait_job
from test_familiar_server import checker_png


def test_a_project_trained_on_nine_images_answers_familiar_null_and_the_docs_say_why(tmp_path):
    with TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))) as client:
        pid = client.post("/api/projects", json={"name": "colors"}).json()["id"]
        upload_colors(client, pid, n=3)  # 9 images: too few to set a 5% threshold
        job = client.post(f"/api/projects/{pid}/jobs", json={"backbone": "test_tiny_image"}).json()
        assert wait_job(client, job["id"])["status"] == "succeeded"
        files = [("files", ("red.png", color_png("red", 901), "image/png")),
                 ("files", ("checker.png", checker_png(), "image/png"))]
        res = client.post(f"/api/projects/{pid}/predict", files=files)
        assert res.status_code == 200, res.text
        # unknown is not "unlike": null for both, where 9 numbers would have flagged at random
        assert [(p["familiar"], p["familiarity"]) for p in res.json()["predictions"]] == [(None, None)] * 2
        said = client.get("/openapi.json").json()["components"]["schemas"]["Prediction"]["properties"]["familiar"]
    assert "fewer than 20" in said["description"] and "fewer than 3" not in said["description"]
