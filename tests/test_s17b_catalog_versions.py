"""A version list and a version read their rows and the project's current version from one
snapshot: a version committed between the two reads is either wholly seen or not at all."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from handful.server import Catalog
from handful.server.errors import NotFoundError
from server_utils import InterleavedCatalog


def running_job(catalog: Catalog) -> tuple[int, Callable[[], int | None]]:
    """(project id, a function that commits the project's training job as its version 1)."""
    pid = catalog.create_project("colors", "image")["id"]
    catalog.add_example(pid, "red", "a" * 40, "red.png", ".png")
    job = catalog.create_job(pid, {})
    catalog.claim_next_job()
    path = catalog.models_dir / str(pid) / f"job-{job['id']}"
    return pid, lambda: catalog.commit_version(job["id"], path, "b", "h", ["red"], 1, {"accuracy": 0.9})


def test_a_version_committed_between_the_reads_is_not_listed_as_not_current(tmp_path):
    catalog = InterleavedCatalog(tmp_path / "home")
    pid, commit = running_job(catalog)
    catalog.strike_on = "SELECT * FROM versions"  # after the current version was read
    catalog.between = commit
    versions = catalog.list_versions(pid)
    assert catalog.between is None, "the commit should have landed between the reads"
    # read apart: version 1 listed with no version current, which never was (a commit makes its
    # version current in the same transaction); from one snapshot, the list before the commit
    assert versions == [], versions
    assert [(v["number"], v["current"]) for v in catalog.list_versions(pid)] == [(1, True)]


def test_a_version_read_during_its_commit_is_not_found_rather_than_not_current(tmp_path):
    catalog = InterleavedCatalog(tmp_path / "home")
    pid, commit = running_job(catalog)
    catalog.strike_on = "AND number = ?"  # after the current version was read
    catalog.between = commit
    # read apart: version 1 with current False; from one snapshot it did not exist yet
    with pytest.raises(NotFoundError, match="has no model version 1"):
        catalog.get_version(pid, 1)
    assert catalog.between is None, "the commit should have landed between the reads"
    version = catalog.get_version(pid, 1)
    assert version["current"] and version["metrics"] == {"accuracy": 0.9}, version
