"""A server version records the examples it was trained on (``version_examples``, schema 5).

Before, the catalog kept only a version's example count, and what it was trained on was guessed
from timestamps (the examples created before its job started, as labeled now): an example relabeled
since counted under its new label, one deleted since was gone from the version, and one added
between the job's start and its reading of the examples was left out.
"""

from __future__ import annotations

import io
import sqlite3

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from handful.cache import FeatureCache
from handful.server import Catalog, ServerSettings, create_app, extras
from handful.server.schema import SCHEMA_VERSION
from server_utils import color_png, train_colors, upload_colors, wait_job

JOB = {"backbone": "test_tiny_image", "head": "logistic"}


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))) as client:
        yield client


def examples_now(client, pid: int) -> list[dict]:
    return sorted(client.get(f"/api/projects/{pid}/examples").json()["items"], key=lambda e: e["id"])


def add_yellow(client, pid: int, label: str = "red") -> int:
    """A new example (a yellow photo labeled ``label``): its id."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 32), (220, 210, 40)).save(buf, format="PNG")
    files = [("files", ("yellow.png", buf.getvalue(), "image/png"))]
    res = client.post(f"/api/projects/{pid}/examples", files=files, data={"label": label})
    assert res.status_code == 201, res.text
    return max(e["id"] for e in examples_now(client, pid))


def test_a_versions_examples_stay_as_trained_after_relabel_delete_and_add(client):
    catalog = client.app.state.catalog
    pid = train_colors(client, 2, JOB)
    before = examples_now(client, pid)
    recorded = catalog.version_examples(pid, 1)
    # the version was trained on every example the project had, each with its label then
    assert [(r["example_id"], r["label"]) for r in recorded] == [(e["id"], e["label"]) for e in before]
    assert len(recorded) == catalog.get_version(pid, 1)["n_examples"]

    relabeled, deleted = before[0], before[1]
    res = client.patch(f"/api/projects/{pid}/examples/{relabeled['id']}", json={"label": "blue"})
    assert res.status_code == 200, res.text
    assert client.delete(f"/api/projects/{pid}/examples/{deleted['id']}").status_code == 204
    upload_colors(client, pid, n=1, seed=7)

    # the project changed; what version 1 was trained on did not: the relabeled example keeps its
    # label as trained, the deleted one is still listed, the new ones are not
    assert catalog.version_examples(pid, 1) == recorded
    assert relabeled["label"] != "blue" and recorded[0]["label"] == relabeled["label"]


def test_a_catalog_from_before_schema_5_opens_and_its_versions_still_work(tmp_path):
    home = tmp_path / "home"
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as client:
        pid = train_colors(client, 1, JOB)
        client.app.state.catalog.close()
    # the catalog as handful wrote it before: schema 4, without the table (versions have no record)
    conn = sqlite3.connect(home / "catalog.sqlite")
    conn.execute("DROP TABLE version_examples")
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()

    catalog = Catalog(home)
    assert catalog.schema_version() == SCHEMA_VERSION == 5, "opening migrates the old catalog"
    with TestClient(create_app(catalog, ServerSettings(preload=False))) as client:
        versions = client.get(f"/api/projects/{pid}/versions").json()
        assert [v["number"] for v in versions] == [1] and versions[0]["n_examples"] == 3
        assert client.get(f"/api/projects/{pid}/versions/1").status_code == 200
        photo = [("files", ("r.png", color_png("red", 5), "image/png"))]
        res = client.post(f"/api/projects/{pid}/predict", files=photo)
        assert res.status_code == 200, res.text
        # what the old version was trained on is not known: None, so callers fall back to timestamps
        assert catalog.version_examples(pid, 1) is None
        n = len(examples_now(client, pid))
        assert len(extras.trained_examples(catalog, pid, catalog.get_version(pid, 1))) == n
        # a version trained on the migrated catalog records its examples
        job = client.post(f"/api/projects/{pid}/jobs", json=JOB).json()
        assert wait_job(client, job["id"])["status"] == "succeeded"
        assert len(catalog.version_examples(pid, 2)) == n


@pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")
def test_labeled_embeddings_are_those_of_the_recorded_examples_not_a_timestamp_guess(client):
    catalog = client.app.state.catalog
    pid = train_colors(client, 1, JOB)  # 3 examples: under 2 per class, so they are used
    trained = catalog.training_examples(pid)  # what the job read: nothing changed since
    started = catalog.get_job(catalog.get_version(pid, 1)["job_id"])["started"]
    added = add_yellow(client, pid)
    with catalog.transaction() as conn:
        # added after training yet dated before the job started (a clock step back): not trained on
        conn.execute("UPDATE examples SET created = ? WHERE id = ?", (started - 60, added))
        # trained on, though dated after the start (added between the job's claim and its read)
        conn.execute("UPDATE examples SET created = ? WHERE id = ?", (started + 1, trained[0]["id"]))
    model = client.app.state.pool.get(pid)
    labeled = extras.labeled_embeddings(catalog, pid, model)

    paths = [str(catalog.blobs.path(r["digest"], r["ext"])) for r in trained]
    expected, failures = FeatureCache(catalog.cache_dir).get_or_compute(model.backbone, paths)
    assert not failures and len(paths) == len(trained) == 3
    # exactly the 3 trained examples, the one dated after the start included, the yellow one not
    # (the timestamp rule gave the yellow one and two of the three)
    assert labeled is not None and labeled.shape == expected.shape
    np.testing.assert_allclose(labeled, expected)


@pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")
def test_labeled_embeddings_leave_out_a_trained_example_whose_file_is_gone(client):
    catalog = client.app.state.catalog
    pid = train_colors(client, 1, JOB)
    gone = examples_now(client, pid)[0]
    assert client.delete(f"/api/projects/{pid}/examples/{gone['id']}").status_code == 204
    labeled = extras.labeled_embeddings(catalog, pid, client.app.state.pool.get(pid))
    # still recorded, but its file went with the last example that referred to it
    assert len(catalog.version_examples(pid, 1)) == 3
    assert labeled is not None and len(labeled) == 2
