"""Catalog reads that take several statements see one snapshot, and an image stored for a
project that is gone by the time its row is inserted does not stay behind in blobs/."""

from __future__ import annotations

import pytest

from handful.server import Catalog
from handful.server.errors import NotFoundError
from handful.server.ingest import add_images
from handful.server.uploads import Limits
from server_utils import InterleavedCatalog, color_png


def interleaved(home) -> InterleavedCatalog:
    """A catalog whose concurrent commit lands just before the class counts are read."""
    catalog = InterleavedCatalog(home)
    catalog.strike_on = "GROUP BY label"  # class_counts
    return catalog


def project_with_examples(catalog: Catalog, n: int = 3) -> int:
    pid = catalog.create_project("colors", "image")["id"]
    for i in range(n):
        catalog.add_example(pid, "red", f"{i:040x}", f"red_{i}.png", ".png")
    return pid


def test_get_project_pairs_its_row_with_the_active_job_of_the_same_moment(tmp_path):
    catalog = interleaved(tmp_path / "home")
    pid = project_with_examples(catalog)
    job = catalog.create_job(pid, {})
    catalog.claim_next_job()
    path = catalog.models_dir / str(pid) / f"job-{job['id']}"
    # the job finishes (version 1 current, job no longer active) after the project row is read
    catalog.between = lambda: catalog.commit_version(job["id"], path, "b", "h", ["red"], 3, {})
    project = catalog.get_project(pid)
    assert catalog.between is None, "the commit should have landed between the reads"
    # read apart, the row says "no version yet" and the job query "no job running": a project
    # that neither trains nor has a model, which it never was
    assert (project["current_version"], project["active_job"]) == (None, job["id"])
    assert (catalog.get_project(pid)["current_version"], catalog.get_project(pid)["active_job"]) == (1, None)


def test_get_project_counts_the_examples_of_the_same_moment_as_its_row(tmp_path):
    catalog = interleaved(tmp_path / "home")
    pid = project_with_examples(catalog)

    def rename_and_add() -> None:  # another request renames it, then one uploads to it
        with catalog.transaction() as conn:
            conn.execute("UPDATE projects SET name = 'colors v2' WHERE id = ?", (pid,))
        catalog.add_example(pid, "blue", "f" * 40, "blue.png", ".png")

    catalog.between = rename_and_add
    project = catalog.get_project(pid)
    assert project["name"] == "colors"
    assert project["classes"] == {"red": 3}, "counts from after the row was read"
    assert project["n_examples"] == 3


def test_a_page_of_examples_and_its_total_are_counted_from_the_same_rows(tmp_path):
    catalog = interleaved(tmp_path / "home")
    pid = project_with_examples(catalog)
    catalog.strike_on = "SELECT * FROM examples"  # between the COUNT(*) and the page
    catalog.between = lambda: catalog.add_example(pid, "red", "e" * 40, "late.png", ".png")
    rows, total = catalog.list_examples(pid)
    assert catalog.between is None
    assert total == len(rows) == 3, "the total must count the rows the page was taken from"


def test_list_projects_skips_nothing_and_fails_nothing_when_a_project_is_deleted_meanwhile(tmp_path):
    catalog = interleaved(tmp_path / "home")
    first = project_with_examples(catalog)
    catalog.create_project("texts", "text")
    catalog.between = lambda: catalog.delete_project(first)  # after the ids were listed
    assert [p["name"] for p in catalog.list_projects()] == ["texts", "colors"]
    assert [p["name"] for p in catalog.list_projects()] == ["texts"]


def test_an_image_uploaded_to_a_project_deleted_meanwhile_leaves_no_file(tmp_path):
    catalog = Catalog(tmp_path / "home")
    project = catalog.create_project("colors", "image")  # the upload checked it, then...
    catalog.delete_project(project["id"])  # ...another request deleted it
    with pytest.raises(NotFoundError, match="does not exist"):
        add_images(catalog, project, [("red.png", color_png("red", 0))], "red", Limits())
    leftovers = [p for p in catalog.blobs.root.rglob("*") if p.is_file()]
    assert leftovers == [], "no example references the file: it must go at once, not at restart"


def test_a_failed_upload_keeps_a_file_that_another_project_still_uses(tmp_path):
    catalog = Catalog(tmp_path / "home")
    keeper = catalog.create_project("keeper", "image")
    data = color_png("red", 0)
    assert add_images(catalog, keeper, [("red.png", data)], "red", Limits()).added
    gone = catalog.create_project("gone", "image")
    catalog.delete_project(gone["id"])
    with pytest.raises(NotFoundError):
        add_images(catalog, gone, [("same.png", data)], "red", Limits())
    row = catalog.list_examples(keeper["id"])[0][0]
    assert catalog.blobs.path(row["digest"], row["ext"]).is_file(), "the keeper's example needs it"
