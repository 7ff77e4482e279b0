"""An upload whose duplicate's example is deleted while the upload goes on (ingest.py).

A file already in the project is reported as a duplicate, named by the class its example is in.
That example used to be looked up again after the insert's transaction; deleted in between
(another request, another tab), the whole upload became a 404 after earlier files had gone in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from handful.server import Catalog
from handful.server.ingest import add_images, add_texts
from handful.server.uploads import Limits
from server_utils import color_png


class DeletesAfterAWrite(Catalog):
    """Deletes example ``victim`` through its own connection (as another request would) right
    after the ``after``-th write transaction from now has committed."""

    victim: int | None = None
    after = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with super().transaction() as conn:
            yield conn
        if self.victim is not None:
            self.after -= 1
            if self.after == 0:
                other = sqlite3.connect(self.db_path, timeout=5, isolation_level=None)
                assert other.execute("DELETE FROM examples WHERE id = ?", (self.victim,)).rowcount == 1
                other.close()
                self.victim = None


def upload(catalog: Catalog, project: dict, items: list[bytes | str], label: str):
    if project["modality"] == "image":
        return add_images(catalog, project, [(f"{i}.png", d) for i, d in enumerate(items)], label,
                          Limits())
    return add_texts(catalog, project, [(text, label) for text in items], Limits())


@pytest.mark.parametrize("modality, first, second", [
    ("image", color_png("red", 1), color_png("red", 2)),
    ("text", "the first text", "the second text"),
])
def test_a_duplicate_whose_example_is_deleted_meanwhile_is_reported_and_the_upload_goes_on(
        tmp_path, modality, first, second):
    catalog = DeletesAfterAWrite(tmp_path / "home")
    project = catalog.create_project("p", modality)
    held = upload(catalog, project, [first], "red").added[0]
    # upload [second, first]: second is added (write 1), first is found to be a duplicate of
    # `held` (write 2), then `held` is deleted before the report names its class
    catalog.victim, catalog.after = held["id"], 2
    report = upload(catalog, project, [second, first], "blue").to_json()
    assert catalog.victim is None, "the example should have been deleted during the upload"
    # it raised NotFoundError ("Example 1 does not exist in project 1", a 404) with `second` stored
    assert [a["label"] for a in report["added"]] == ["blue"]
    assert report["duplicates"] == [{"id": held["id"], "name": report["duplicates"][0]["name"],
                                     "label": "red"}], "the class it was in when it collided"
    assert [e["label"] for e in catalog.training_examples(project["id"])] == ["blue"]
