"""The model search inside a training job reports each fit: its progress moves, and a cancel
stops it after the fit it arrived in, not once every candidate has been scored.

The worker runs in this process (``run_job``/``train_job``, as the worker process calls them)
so that the heads can be counted: each default head is registered in a counting subclass.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient

from handful.heads import HEADS
from handful.select import DEFAULT_CANDIDATES, cv_splits, search_heads, search_models
from handful.server import Catalog, ServerSettings, create_app
from handful.server.training import train_job
from handful.server.worker import ProgressReporter, run_job
from server_utils import upload_colors

AUTO_HEAD = {"backbone": "test_tiny_image", "head": "auto"}
LOG = logging.getLogger("handful.worker.test")


class FitCounter:
    """Counts head fits; ``at_fit`` runs ``action`` when that fit starts (a cancel, say)."""

    def __init__(self) -> None:
        self.fits: list[str] = []
        self.hooks: dict[int, Callable[[], None]] = {}
        self.before_each: Callable[[], None] | None = None

    def fitted(self, name: str) -> None:
        self.fits.append(name)
        if self.before_each:
            self.before_each()
        if len(self.fits) in self.hooks:
            self.hooks[len(self.fits)]()


@pytest.fixture
def counter(monkeypatch) -> FitCounter:
    """Every default candidate head, registered as a subclass that counts its fits."""
    counter = FitCounter()
    for name in {name for name, _ in DEFAULT_CANDIDATES}:
        base = HEADS[name]

        def fit(self, X, y, _base=base, _name=name, **kwargs):
            counter.fitted(_name)
            return _base.fit(self, X, y, **kwargs)

        monkeypatch.setitem(HEADS, name, type(f"Counting{base.__name__}", (base,), {"fit": fit}))
    return counter


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[TestClient, Catalog, int]]:
    """(client, catalog, project id): red, green and blue, 4 images each; no worker runs."""
    catalog = Catalog(tmp_path / "home")
    with TestClient(create_app(catalog, ServerSettings(preload=False, max_parallel_jobs=0))) as client:
        pid = client.post("/api/projects", json={"name": "colors"}).json()["id"]
        upload_colors(client, pid, n=4)
        yield client, catalog, pid


def claimed_job(client: TestClient, catalog: Catalog, pid: int) -> dict:
    job = client.post(f"/api/projects/{pid}/jobs", json=AUTO_HEAD).json()
    assert catalog.claim_next_job()["id"] == job["id"]
    return catalog.get_job(job["id"])


def n_search_fits(n_per_class: int = 4, n_classes: int = 3) -> int:
    """Fits the head search makes: every default candidate on every fold."""
    labels = [str(c) for c in range(n_classes) for _ in range(n_per_class)]
    splits, _ = cv_splits(labels)
    return len(DEFAULT_CANDIDATES) * len(splits)


def test_a_job_cancelled_during_the_model_search_stops_after_the_fit_it_arrived_in(server, counter):
    client, catalog, pid = server
    job = claimed_job(client, catalog, pid)
    cancel_at = 10  # in the second candidate: the other candidates must never be fit
    counter.hooks[cancel_at] = lambda: client.post(f"/api/jobs/{job['id']}/cancel").raise_for_status()
    assert run_job(catalog, job["id"], LOG) == 0
    assert n_search_fits() > cancel_at + len(DEFAULT_CANDIDATES)
    assert len(counter.fits) == cancel_at, (
        f"{len(counter.fits)} fits after a cancel during fit {cancel_at}: the search should stop at "
        "the progress report that follows that fit")
    ended = client.get(f"/api/jobs/{job['id']}").json()
    assert ended["status"] == "cancelled"
    assert ended["stage"] == "selecting"
    assert client.get(f"/api/projects/{pid}/versions").json() == [], "a cancelled job registers nothing"


def test_the_jobs_progress_moves_with_every_fit_of_the_model_search(server, counter):
    client, catalog, pid = server
    job = claimed_job(client, catalog, pid)
    reporter = ProgressReporter(catalog, job["id"], interval=0)  # every report is written
    reported: list[tuple[str, float, str]] = []
    stored: list[float] = []  # the job's progress as GET /api/jobs/{id} shows it, before each fit
    counter.before_each = lambda: stored.append(catalog.get_job(job["id"])["progress"])

    def report(stage: str, progress: float, message: str = "") -> None:
        reported.append((stage, progress, message))
        reporter(stage, progress, message)

    assert train_job(catalog, job, report) == 1, "the job registers version 1"
    selecting = [(p, m) for s, p, m in reported if s == "selecting"]
    n_fits = n_search_fits()
    assert len(selecting) == 1 + n_fits, "one report as the stage starts, then one per fit"
    values = [p for p, _ in selecting]
    assert values == sorted(set(values)), f"progress must increase at every fit: {values}"
    assert values[0] == pytest.approx(0.72) and values[-1] == pytest.approx(0.8)
    assert selecting[-1][1].endswith(f"{n_fits}/{n_fits} fits (mlp())")
    search = stored[:n_fits]  # the fits after the search (final head, CV report) come later
    assert search == sorted(set(search)), "the stored progress moves before every fit of the search"


def test_search_models_counts_fits_over_every_backbone_and_the_slow_heads(counter):
    rng = np.random.default_rng(0)
    y = [c for c in "abc" for _ in range(5)]
    embeddings = {"one": rng.normal(size=(15, 4)), "two": rng.normal(size=(15, 4))}
    calls: list[tuple[int, int, str]] = []
    search_models(embeddings, y, on_fit=lambda done, total, label: calls.append((done, total, label)))
    assert [done for done, _, _ in calls] == list(range(1, len(counter.fits) + 1)), "one call per fit"
    assert {total for _, total, _ in calls} == {len(counter.fits)}, "the total is known from the start"


def test_an_exception_in_on_fit_stops_search_heads_before_the_next_fit(counter):
    y = [c for c in "ab" for _ in range(6)]
    X = np.random.default_rng(0).normal(size=(12, 3))

    def stop(done: int, total: int, label: str) -> None:
        if done == 3:
            raise KeyboardInterrupt  # what a cancel raises is a BaseException too

    from handful.heads.threads import fits_at_once

    with fits_at_once(1), pytest.raises(KeyboardInterrupt):
        search_heads(X, y, on_fit=stop)
    assert len(counter.fits) == 3
    counter.fits.clear()
    with fits_at_once(2), pytest.raises(KeyboardInterrupt):  # two fits at once: the other one ends,
        search_heads(X, y, on_fit=stop)  # and nothing new starts after the raise
    assert 3 <= len(counter.fits) <= 4
