"""s22 fixes of the server under concurrent use, beyond the audit's own tests
(test_s22_concurrency_audit.py): batcher close and stalls, loads racing a delete, previews made
while their image is deleted, and Starlette's file-count limit in handful's words."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from handful.server import Catalog, ServerSettings, create_app
from handful.server import thumbnails as thumbnails_module
from handful.server.predictor import MicroBatcher, ModelPool, on_torch_thread
from handful.server.uploads import Limits
from server_utils import color_png, train_colors

JOB = {"backbone": "test_tiny_image", "head": "logistic"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(client, project id, home): one image project trained once, and a limit of 1100 files
    per predict request (over Starlette's default of 1000 files per form)."""
    home = tmp_path_factory.mktemp("s22fix") / "home"
    settings = ServerSettings(preload=False, limits=Limits(max_batch_files=1100))
    with TestClient(create_app(Catalog(home), settings)) as client:
        yield client, train_colors(client, 3, JOB), home


def _in_thread(fn) -> tuple[threading.Thread, list]:
    """``fn()`` started on a daemon thread (a hung one must not block the test run); its results."""
    out: list = []

    def run() -> None:
        try:
            out.append(fn())
        except Exception as err:  # noqa: BLE001  (an error is an answer too; a hang is not)
            out.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_a_batcher_closed_with_requests_queued_runs_every_one_before_its_thread_stops():
    # A request that did not fit the current micro-batch is queued again, behind the close marker:
    # the thread stopped at the marker and that request waited forever.
    gate = threading.Event()

    def forward(inputs: list) -> np.ndarray:
        gate.wait(5)
        return np.array(inputs, dtype=float)[:, None]

    batcher = MicroBatcher(forward, max_batch=2)
    running, _ = _in_thread(lambda: batcher.submit([1, 2]))  # holds the thread in forward
    while batcher.n_batches < 1:
        time.sleep(0.01)
    small, small_out = _in_thread(lambda: batcher.submit([3]))
    while batcher._queue.qsize() < 1:  # queued in this order: the small one first
        time.sleep(0.01)
    big, big_out = _in_thread(lambda: batcher.submit([4, 5]))  # does not fit beside [3]
    while batcher._queue.qsize() < 2:
        time.sleep(0.01)
    batcher.close()
    gate.set()
    for thread in (running, small, big):
        thread.join(5)
    assert not big.is_alive(), "a request queued before the close never got an answer"
    assert big_out[0].ravel().tolist() == [4, 5] and small_out[0].ravel().tolist() == [3]


def test_a_batcher_closed_before_a_submit_computes_it_unbatched():
    # A request holding a model the pool evicted submits after the close: the model is still in
    # memory, so it is answered (by the caller's own forward pass), not left waiting.
    batcher = MicroBatcher(lambda inputs: np.array(inputs, dtype=float)[:, None] * 2, max_batch=2)
    batcher.close()
    thread, out = _in_thread(lambda: batcher.submit([1, 2, 3]))
    thread.join(5)
    assert not thread.is_alive(), "a submit after the close waited on the stopped thread"
    assert out[0].ravel().tolist() == [2, 4, 6]


def test_a_request_on_a_stuck_model_gets_a_503_after_the_stall_limit_not_a_hang(trained):
    # The wait on the micro-batch used to have no timeout: a stuck forward pass held every
    # request's worker thread forever. Here the one torch thread is held, so no batch can run.
    client, pid, home = trained
    url = f"/api/projects/{pid}/predict"
    image = [("files", ("q.png", color_png("red", 7), "image/png"))]
    assert client.post(url, files=image).status_code == 200  # loads the model
    model = client.app.state.pool.get(pid)
    model.batcher.stall_s = 0.5
    gate = threading.Event()
    holder, _ = _in_thread(lambda: on_torch_thread(gate.wait, 10))
    try:
        started = time.monotonic()
        thread, out = _in_thread(lambda: client.post(url, files=image))
        thread.join(8)
        assert not thread.is_alive(), "a request on a stuck model never got an answer"
        res = out[0]
        assert res.status_code == 503, res.text
        assert "did not answer" in res.json()["detail"] and "Retry" in res.json()["detail"]
        assert time.monotonic() - started < 5  # the stall limit, not some other timeout
    finally:
        gate.set()
        holder.join(5)
        model.batcher.stall_s = MicroBatcher.stall_s


class ForgottenWhileLoading(ModelPool):
    """Forgets the project (as DELETE /api/projects/{id} does) while its model loads."""

    def _load(self, version: dict):
        model = super()._load(version)
        self.forget_project(version["project_id"])
        return model


def test_a_model_loaded_while_its_project_is_deleted_answers_its_caller_but_is_not_pooled(trained):
    # A load begun before the delete finished after forget_project and put the model back: a
    # deleted project's model stayed in memory, and ids come back, so it could be served again.
    client, pid, home = trained
    pool = ForgottenWhileLoading(client.app.state.catalog, max_models=2)
    try:
        model = pool.get(pid)
        assert pool.stats() == [], "a model whose project was deleted during its load was pooled"
        query = home / "forgotten.png"
        query.write_bytes(color_png("blue", 11))
        thread, out = _in_thread(lambda: model.predict([str(query)]))
        thread.join(5)
        assert not thread.is_alive(), "the caller that started the load got an unusable model"
        proba, ok, _ = out[0]
        assert ok == [0] and model.classes[int(np.argmax(proba[0]))] == "blue"  # colors separate
    finally:
        pool.close()


def test_a_preview_made_while_its_image_is_deleted_leaves_no_copy(tmp_path, monkeypatch):
    # The delete removes the image, then its previews; a preview written after that (the image
    # was read just before) kept a copy of a deleted image in home/thumbs forever.
    source = tmp_path / "blob.png"
    source.write_bytes(color_png("green", 3))
    real_load = thumbnails_module.load_image

    def load_then_delete(path, draft_size=None):
        img = real_load(path, draft_size=draft_size)
        source.unlink()  # the delete commits while the preview is made
        return img

    monkeypatch.setattr(thumbnails_module, "load_image", load_then_delete)
    thumbnails_module.thumbnail(source, tmp_path / "thumbs", "ab" * 32, 64)
    assert list((tmp_path / "thumbs").rglob("*.jpg")) == [], "a deleted image's preview stayed"


@pytest.mark.parametrize(("route", "n_files", "expected"), [
    ("/predict", 1101, "1101 files in one request; at most 1100. Split the request"),  # the route's
    ("/predict", 1102, "More than 1101 files in one request; at most 1100 to predict or rank. "
                       "Split the request"),
    ("/examples", 1102, "More than 1101 files in one request, the most one request may carry. "
                        "Split the request"),
])
def test_too_many_files_in_one_request_is_answered_in_handfuls_words(trained, route, n_files,
                                                                     expected):
    # Over 1000 files Starlette stopped parsing with its bare "Too many files. Maximum number of
    # files is 1000.", shadowing the per-route limit (1100 here) and naming no fix. The form now
    # takes one file over the route's limit, so the route's own message (with the count) answers.
    client, pid, home = trained
    files = [("files", (f"{i}.png", b"x", "image/png")) for i in range(n_files)]
    res = client.post(f"/api/projects/{pid}{route}", files=files, data={"label": "red"})
    assert res.status_code == 400, res.text
    assert expected in res.json()["detail"], res.json()["detail"]
