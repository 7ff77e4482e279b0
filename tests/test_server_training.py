"""Training jobs in worker processes, model versions, predict, evaluate, export (TestClient)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import time
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient

import handful
from handful.data import scan_folder
from handful.select.search import Leaderboard
from handful.server import Catalog, ServerSettings, create_app, extras
from handful.server.predictor import MicroBatcher
from handful.server.schemas import TrainOptions
from handful.server.training import _fit_on_embeddings, _metrics, _optimism_note
from server_utils import color_png, upload_colors, wait_job

TINY = {"backbone": "test_tiny_image", "head": "logistic"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A server with an image project trained once on three separable colors."""
    home = tmp_path_factory.mktemp("server") / "home"
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as client:
        pid = client.post("/api/projects", json={"name": "colors"}).json()["id"]
        upload_colors(client, pid, n=5)
        job = client.post(f"/api/projects/{pid}/jobs", json=TINY).json()
        yield client, pid, wait_job(client, job["id"]), home


def predict(client, pid, files, **params):
    return client.post(f"/api/projects/{pid}/predict", params=params,
                       files=[("files", (name, data, "image/png")) for name, data in files])


def test_training_job_produces_current_version_with_report(trained):
    client, pid, job, _ = trained
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["version"] == 1
    assert job["message"] == "saved as version 1"  # not the last stage's "writing the model"
    versions = client.get(f"/api/projects/{pid}/versions").json()
    assert [(v["number"], v["current"]) for v in versions] == [(1, True)]
    detail = client.get(f"/api/projects/{pid}/versions/1").json()
    evaluation = detail["report"]["evaluation"]
    # Solid colors are separable by the tiny backbone: every held-out prediction is right.
    assert evaluation["accuracy"] == 1.0 and detail["metrics"]["accuracy"] == 1.0
    assert evaluation["confusion_matrix"] == [[5, 0, 0], [0, 5, 0], [0, 0, 5]]
    assert detail["report"]["learning_curve"]["sizes"][0] == 1
    assert detail["backbone"] == "test_tiny_image" and detail["head"].startswith("LogisticHead")
    # A head given by the user: nothing was chosen on these folds, so nothing flatters the score.
    assert "no choice among candidates" in evaluation["note"]
    # a named head is cross-validated as `handful train` does it (s21): its CV score and calibration
    assert detail["metrics"]["cv_accuracy"] == detail["metrics"]["cv_accuracy_adjusted"]  # no choice made
    assert "calibration" in detail["report"]


def test_a_head_chosen_on_the_folds_gets_a_note_with_the_adjusted_accuracy():
    rows = [{"mean": 0.75, "fold_scores": [1.0, 0.5]}, {"mean": 0.75, "fold_scores": [0.5, 1.0]}]
    clf = SimpleNamespace(leaderboard_=Leaderboard(rows, "1x2-fold"))
    selection = clf.leaderboard_.selection()
    note = _optimism_note(selection)
    assert "best of 2 candidates" in note and "about 50.0% on new data" in note
    assert _metrics(clf, None, selection) == {"cv_accuracy": 0.75, "cv_accuracy_adjusted": 0.5}


def test_a_choice_no_candidate_ever_beat_is_not_called_optimistic():
    # the note said "optimistic: ... about 86.7% on new data" under an accuracy of 87.5%
    rows = [{"mean": 0.75, "fold_scores": [1.0, 0.5]}, {"mean": 0.5, "fold_scores": [0.5, 0.5]}]
    note = _optimism_note(Leaderboard(rows, "1x2-fold").selection())
    assert "best of 2 candidates" in note and "flatters nothing" in note and "optimistic" not in note


def test_a_version_computes_the_selection_adjustment_once(color_tree, tmp_path, monkeypatch):
    # the note, the metrics and the saved leaderboard each called Leaderboard.selection()
    calls = []
    selection = Leaderboard.selection
    monkeypatch.setattr(Leaderboard, "selection", lambda self: calls.append(1) or selection(self))
    examples = scan_folder(color_tree)
    options = TrainOptions(backbone="test_tiny_image", head="auto")
    _, _, doc, metrics = _fit_on_embeddings(Catalog(tmp_path / "home"), options, examples,
                                            lambda *_: None)
    assert len(calls) == 1
    board = doc["leaderboard"]["selection"]  # head "auto": several heads were compared on the folds
    assert board["candidates"] >= 2 and metrics["cv_accuracy_adjusted"] == board["adjusted_accuracy"]
    assert f"best of {board['candidates']} candidates" in doc["evaluation"]["note"]


def test_predict_one_and_many_files_with_top_k(trained):
    client, pid, _, _ = trained
    res = predict(client, pid, [("q.png", color_png("green", 999))], top_k=2).json()
    assert res["version"] == 1
    (pred,) = res["predictions"]
    assert pred["label"] == "green" and [t["label"] for t in pred["top"]][0] == "green"
    probs = [t["probability"] for t in pred["top"]]
    assert len(probs) == 2 and probs == sorted(probs, reverse=True) and probs[0] > 0.5
    files = [(f"{c}.png", color_png(c, 500 + i)) for i, c in enumerate(["red", "blue", "green"])]
    files.insert(1, ("bad.png", b"\x89PNG\r\n\x1a\n garbage"))
    res = predict(client, pid, files).json()
    assert [p["label"] for p in res["predictions"]] == ["red", "blue", "green"]
    assert [s["name"] for s in res["skipped"]] == ["bad.png"]


def test_predict_says_where_its_time_went_in_server_timing(trained):
    client, pid, _, _ = trained
    res = predict(client, pid, [("q.png", color_png("red", 7))])
    parts = dict(part.strip().split(";dur=") for part in res.headers["server-timing"].split(","))
    # Both phases are measured, and both are non-negative durations in milliseconds.
    assert set(parts) == {"stage", "model"} and all(float(v) >= 0 for v in parts.values())


@pytest.mark.skipif(not extras.has_onnx_export(), reason="the onnx extra is not installed")
def test_the_onnx_runtime_serves_the_same_predictions_as_torch(trained):
    client, pid, _, home = trained
    files = [(f"q{i}.png", color_png(c, 11 + i)) for i, c in enumerate(("red", "green", "blue"))]
    torch_res = predict(client, pid, files, top_k=3).json()
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False, runtime="onnx"))) as onnx_client:
        onnx_res = predict(onnx_client, pid, files, top_k=3).json()
        stats = onnx_client.get("/api/stats").json()["models"]
    assert [s["runtime"] for s in stats] == ["onnx"]  # the version really ran in ONNX Runtime
    assert len(list((home / "onnx").glob(f"project-{pid}-v1-*.onnx"))) == 1  # exported once, outside the version
    for a, b in zip(torch_res["predictions"], onnx_res["predictions"]):
        assert a["label"] == b["label"]
        pa = {t["label"]: t["probability"] for t in a["top"]}
        assert all(abs(pa[t["label"]] - t["probability"]) < 1e-3 for t in b["top"])


def test_predict_with_no_usable_file_is_a_400_with_the_reason(trained):
    client, pid, _, _ = trained
    res = predict(client, pid, [("x.png", b"not an image")])
    assert res.status_code == 400 and "not an image" in res.json()["detail"]


def test_concurrent_predictions_are_all_correct(trained):
    client, pid, _, _ = trained
    colors = ["red", "green", "blue"] * 4
    results: dict[int, str] = {}

    def one(i: int) -> None:
        res = predict(client, pid, [("q.png", color_png(colors[i], 700 + i))])
        results[i] = res.json()["predictions"][0]["label"]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(colors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(colors))] == colors


def test_micro_batcher_merges_requests_that_arrive_while_busy():
    calls = []

    def forward(inputs):
        calls.append(len(inputs))
        time.sleep(0.05)  # while this runs, the other requests queue up
        return np.asarray(inputs, dtype=float)[:, None] * 2

    batcher = MicroBatcher(forward, max_batch=8)
    out: dict[int, float] = {}
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, float(batcher.submit([i])[0, 0])))
               for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batcher.close()
    assert out == {i: 2.0 * i for i in range(12)}  # every caller got its own row
    assert max(calls) > 1 and max(calls) <= 8 and sum(calls) == 12


def test_retrain_roll_back_and_versions_stay_immutable(trained):
    client, pid, _, home = trained
    (v1_dir,) = (home / "models" / str(pid)).iterdir()  # the only version so far
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in v1_dir.iterdir()}
    upload_colors(client, pid, n=2, colors=("red",), seed=7)
    options = {"backbone": "test_tiny_image", "head": "prototype"}
    job = client.post(f"/api/projects/{pid}/jobs", json=options).json()
    assert wait_job(client, job["id"])["version"] == 2
    assert predict(client, pid, [("q.png", color_png("red", 1))]).json()["version"] == 2
    assert client.post(f"/api/projects/{pid}/versions/1/activate").json()["current"] is True
    assert client.get(f"/api/projects/{pid}").json()["current_version"] == 1
    assert predict(client, pid, [("q.png", color_png("red", 1))]).json()["version"] == 1
    assert predict(client, pid, [("q.png", color_png("red", 1))], version=2).json()["version"] == 2
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in v1_dir.iterdir()}
    assert after == before
    assert client.post(f"/api/projects/{pid}/versions/9/activate").status_code == 404


def test_evaluate_on_an_uploaded_zip(trained):
    client, pid, _, _ = trained
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for c in ("red", "green", "blue"):
            for i in range(3):
                zf.writestr(f"{c}/{i}.png", color_png(c, 900 + i))
    res = client.post(f"/api/projects/{pid}/evaluate", files={"file": ("t.zip", buf.getvalue())})
    report = res.json()
    assert res.status_code == 200 and report["accuracy"] == 1.0 and report["n"] == 9


def test_exported_bundle_loads_with_handful_load(trained, tmp_path):
    client, pid, _, _ = trained
    res = client.get(f"/api/projects/{pid}/versions/1/export?format=bundle")
    assert res.status_code == 200
    zipfile.ZipFile(io.BytesIO(res.content)).extractall(tmp_path / "model")
    image = tmp_path / "q.png"
    image.write_bytes(color_png("blue", 4242))
    assert handful.load(tmp_path / "model", cache=False).predict([str(image)]) == ["blue"]


def test_cancelled_job_registers_no_version(tmp_path):
    env = {**os.environ, "HANDFUL_WORKER_STEP_DELAY": "0.5"}
    catalog = Catalog(tmp_path / "home")
    with TestClient(create_app(catalog, ServerSettings(preload=False, worker_env=env))) as client:
        pid = client.post("/api/projects", json={"name": "c"}).json()["id"]
        upload_colors(client, pid, n=3, colors=("red", "blue"))
        job = client.post(f"/api/projects/{pid}/jobs", json=TINY).json()
        deadline = time.monotonic() + 60
        while client.get(f"/api/jobs/{job['id']}").json()["progress"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.post(f"/api/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
        time.sleep(2)  # the worker is terminated; give it time to have done harm if it could
        assert wait_job(client, job["id"])["status"] == "cancelled"
        assert client.get(f"/api/projects/{pid}/versions").json() == []
        assert client.get(f"/api/projects/{pid}").json()["current_version"] is None
    folder = catalog.models_dir / str(pid)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_failing_job_is_marked_failed_with_the_reason(tmp_path):
    catalog = Catalog(tmp_path / "home")
    with TestClient(create_app(catalog, ServerSettings(preload=False))) as client:
        pid = client.post("/api/projects", json={"name": "c"}).json()["id"]
        upload_colors(client, pid, n=2, colors=("red", "blue"))
        for blob in (catalog.home / "blobs").glob("*/*"):
            blob.write_bytes(b"no longer an image")  # the files rot on disk
        job = wait_job(client, client.post(f"/api/projects/{pid}/jobs", json=TINY).json()["id"])
    assert job["status"] == "failed"
    assert "no usable examples" in job["message"]


def test_text_project_trains_and_predicts(tmp_path):
    with TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))) as client:
        pid = client.post("/api/projects", json={"name": "t", "modality": "text"}).json()["id"]
        sports = ["the team won the match", "a great goal in the final", "the player scored twice",
                  "fans cheered the winning goal"]
        cooking = ["bake the bread in the oven", "add salt to the soup", "stir the sauce slowly",
                   "the cake needs sugar and flour"]
        client.post(f"/api/projects/{pid}/examples/texts",
                    json={"items": [{"text": t, "label": "sports"} for t in sports]
                          + [{"text": t, "label": "cooking"} for t in cooking]})
        options = {"backbone": "test_tiny_text", "head": "logistic"}
        job = client.post(f"/api/projects/{pid}/jobs", json=options)
        assert wait_job(client, job.json()["id"])["status"] == "succeeded"
        res = client.post(f"/api/projects/{pid}/predict/texts",
                          json={"texts": ["the goal won the match", "salt the soup", " "], "top_k": 1})
    body = res.json()
    assert [p["label"] for p in body["predictions"]] == ["sports", "cooking"]
    assert body["skipped"] == [{"name": "text 3", "reason": "empty text"}]


@pytest.fixture
def text_server(tmp_path):
    """A server with a text project (sports vs cooking) trained once: (client, project id)."""
    with TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))) as client:
        pid = client.post("/api/projects", json={"name": "t", "modality": "text"}).json()["id"]
        items = [{"text": t, "label": "sports"} for t in ("the team won the match", "a great goal")]
        items += [{"text": t, "label": "cooking"} for t in ("add salt to the soup", "bake the bread")]
        client.post(f"/api/projects/{pid}/examples/texts", json={"items": items})
        job = client.post(f"/api/projects/{pid}/jobs", json={"backbone": "test_tiny_text", "head": "prototype"})
        assert wait_job(client, job.json()["id"])["status"] == "succeeded"
        yield client, pid


def test_predicting_only_empty_texts_asks_for_texts_not_images(text_server):
    client, pid = text_server
    res = client.post(f"/api/projects/{pid}/predict/texts", json={"texts": ["", "  "]})
    assert res.status_code == 400
    detail = res.json()["detail"]
    assert "empty text" in detail and "image" not in detail and "text" in detail.split(").")[-1], detail


def test_evaluating_a_text_table_names_the_upload_and_takes_the_column_form_fields(text_server):
    client, pid = text_server
    table = b"review,topic\nthe match was won,sports\nsalt and soup,cooking\n"
    res = client.post(f"/api/projects/{pid}/evaluate", files={"file": ("held out.csv", table)})
    assert res.status_code == 400
    detail = res.json()["detail"]
    # it named the server's temp file and a CLI flag the HTTP API does not have
    assert "held out.csv" in detail and "/tmp" not in detail and "tmp" not in detail, detail
    assert "label_column" in detail and "--label-column" not in detail, detail
    res = client.post(f"/api/projects/{pid}/evaluate", files={"file": ("held out.csv", table)},
                      data={"text_column": "review", "label_column": "topic"})
    assert res.status_code == 200, res.text
    assert res.json()["n"] == 2


def test_version_report_carries_the_data_need_advice(trained):
    client, pid, _, _ = trained
    curve = client.get(f"/api/projects/{pid}/versions/1").json()["report"]["learning_curve"]
    assert isinstance(curve["advice"], str) and curve["advice"]
    assert len(curve["sizes"]) == len(curve["accuracy"]) >= 2
    if extras.has_advice():
        assert curve["source"].startswith("handful advise")


@pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")
def test_suggestions_rank_unlabeled_images_without_duplicates(trained):
    client, pid, _, _ = trained
    same = color_png("red", 31337)
    files = [("twin_a.png", same), ("twin_b.png", same), ("bad.png", b"nope")]
    files += [(f"{c}{i}.png", color_png(c, 3000 + i)) for i, c in enumerate(["red", "green", "blue"] * 2)]
    res = client.post(f"/api/projects/{pid}/suggest", params={"n": 5},
                      files=[("files", (name, data, "image/png")) for name, data in files])
    body = res.json()
    ranks = [r["rank"] for r in body["suggestions"]]
    # Same-color images are near-duplicates to the tiny backbone, so fewer than 5 may come back.
    assert res.status_code == 200 and 1 <= len(ranks) <= 5 and ranks == list(range(1, len(ranks) + 1))
    names = [r["input"] for r in body["suggestions"]]
    assert not {"twin_a.png", "twin_b.png"} <= set(names)  # one picture is suggested once at most
    assert all(names[k] == files[r["index"]][0] for k, r in enumerate(body["suggestions"]))
    assert body["skipped"][0]["name"] == "bad.png"


@pytest.mark.slow  # fine-tunes the real efficientnet_lite0 (a few epochs on 8 tiny images)
@pytest.mark.skipif(not extras.has_finetune(), reason="handful.finetune not installed")
def test_fine_tuning_job_makes_a_normal_version(tmp_path):
    with TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))) as client:
        pid = client.post("/api/projects", json={"name": "ft"}).json()["id"]
        upload_colors(client, pid, n=4, colors=("red", "blue"))
        res = client.post(f"/api/projects/{pid}/jobs", json={"finetune": True, "backbone": "test_tiny_image"})
        assert res.status_code == 400 and "Fine-tuning works for image projects" in res.json()["detail"]
        job = client.post(f"/api/projects/{pid}/jobs", json={"finetune": True}).json()
        job = wait_job(client, job["id"], timeout=600)
        assert job["status"] == "succeeded", job["message"]
        version = client.get(f"/api/projects/{pid}/versions/1").json()
        assert "val_accuracy_before_refit" in version["metrics"] and version["report"]["finetune"]["history"]["epochs"]
        res = predict(client, pid, [("q.png", color_png("red", 5))]).json()
    assert res["version"] == 1 and res["predictions"][0]["label"] in ("red", "blue")


@pytest.mark.skipif(not extras.has_onnx_export(), reason="the onnx extra is not installed")
def test_a_new_project_with_a_deleted_ones_id_gets_its_own_onnx_export(tmp_path):
    # SQLite gave the next project the deleted one's id, and the export cached as exports/<id>/v1.onnx
    # was served for the new project's v1 (the deleted project's classes and weights)
    import onnx

    def train_and_export(client, colors) -> tuple[int, list[str]]:
        pid = client.post("/api/projects", json={"name": "p"}).json()["id"]
        upload_colors(client, pid, n=3, colors=colors)
        wait_job(client, client.post(f"/api/projects/{pid}/jobs", json=TINY).json()["id"])
        res = client.get(f"/api/projects/{pid}/versions/1/export", params={"format": "onnx"})
        assert res.status_code == 200, res.text
        meta = {p.key: p.value for p in onnx.load_from_string(res.content).metadata_props}
        return pid, sorted(json.loads(meta["handful.classes"]))

    with TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))) as client:
        first, classes = train_and_export(client, ("red", "green"))
        assert classes == ["green", "red"]
        assert client.delete(f"/api/projects/{first}").status_code == 204
        second, classes = train_and_export(client, ("blue", "red"))
    assert second != first and classes == ["blue", "red"]  # ids are not handed out twice any more


def test_a_conv4_model_warms_up_through_its_own_grayscale_preprocessing(tmp_path):
    # warm_up fed an RGB array to every image model; a Conv-4 (grayscale) raised, so the server
    # answered 500 to every prediction of a version trained with a conv4_* backbone
    from conftest import make_color_tree
    from handful.server.predictor import LoadedModel

    clf = handful.Classifier(backbone="test_tiny_conv", head="prototype").fit(make_color_tree(tmp_path / "c"))
    model = LoadedModel(clf, 1)
    model.warm_up()
    proba, ok, failures = model.predict([str(next((tmp_path / "c" / "red").iterdir()))])
    assert ok == [0] and not failures and proba.shape == (1, 3)
    model.close()


def test_suggestions_on_a_text_project_are_refused_not_made_from_file_paths(text_server):
    # the uploaded files' temp paths were embedded as texts and ranked
    client, pid = text_server
    res = client.post(f"/api/projects/{pid}/suggest", files=[("files", ("a.png", color_png("red", 1), "image/png"))])
    assert res.status_code == 400 and "text project" in res.json()["detail"]
