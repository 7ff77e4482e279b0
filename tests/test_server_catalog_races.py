"""Check-then-write races in the catalog: a check and the write it guards run in one
``BEGIN IMMEDIATE`` transaction, so another writer (a second request, another server thread)
cannot change what was checked in between.

Each test subclasses ``Catalog`` to let a second writer strike right after the check has read,
through its own SQLite connection (as another thread or process would). When the check runs
inside the write transaction that writer finds the database locked and goes after the commit,
which is the only order a request can see."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from handful.server import Catalog, ServerSettings, create_app
from handful.server.errors import ConflictError, NotFoundError


class Interloper:
    """A second writer: ``strike`` runs its SQL at once if the database is free; if a write
    transaction holds it, the SQL waits (``pending``) until ``finish`` runs it afterwards.
    ``rowcount`` is how many rows it changed when it ran."""

    def __init__(self, db_path, sql: str, args: tuple):
        self.db_path, self.sql, self.args = db_path, sql, args
        self.struck = self.pending = False
        self.rowcount = 0

    def strike(self) -> None:
        if self.struck:
            return
        self.struck = True
        conn = sqlite3.connect(self.db_path, timeout=0.2, isolation_level=None)
        conn.execute("PRAGMA foreign_keys=ON")
        try:
            self.rowcount = conn.execute(self.sql, self.args).rowcount
        except sqlite3.OperationalError as err:  # "database is locked": the check holds the lock
            assert "locked" in str(err), err
            self.pending = True
        finally:
            conn.close()

    def finish(self) -> None:
        if self.pending:
            conn = sqlite3.connect(self.db_path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA foreign_keys=ON")
            self.rowcount = conn.execute(self.sql, self.args).rowcount
            conn.close()
            self.pending = False


class StruckAfterClassCounts(Catalog):
    """The interloper writes right after the class list has been read."""

    interloper: Interloper | None = None

    def class_counts(self, project_id: int) -> dict[str, int]:
        counts = super().class_counts(project_id)
        if self.interloper is not None:
            self.interloper.strike()
        return counts


class StruckAfterExampleIds(Catalog):
    """The interloper writes right after a class's example ids have been read."""

    interloper: Interloper | None = None

    def example_ids(self, project_id: int, label: str) -> list[int]:
        ids = super().example_ids(project_id, label)
        if self.interloper is not None:
            self.interloper.strike()
        return ids


class StruckAfterGetProject(Catalog):
    """The interloper writes right after the project has been looked up."""

    interloper: Interloper | None = None

    def get_project(self, project_id: int) -> dict:
        project = super().get_project(project_id)
        if self.interloper is not None:
            self.interloper.strike()
        return project


def pets(catalog: Catalog) -> tuple[int, dict[str, int]]:
    """A text project: 'meow' (cat), 'woof' and 'bark' (dog); returns (id, example ids by text)."""
    pid = catalog.create_project("pets", "text")["id"]
    ids = {}
    for label, text in (("cat", "meow"), ("dog", "woof"), ("dog", "bark")):
        ids[text], _ = catalog.add_example(pid, label, f"digest-{text}", text, text=text)
    return pid, ids


def labels(catalog: Catalog, pid: int) -> dict[str, str]:
    return {e["text"]: e["label"] for e in catalog.training_examples(pid)}


def test_relabel_to_an_existing_class_cannot_recreate_a_class_renamed_meanwhile(tmp_path):
    catalog = StruckAfterClassCounts(tmp_path / "home")
    pid, ids = pets(catalog)
    catalog.interloper = Interloper(catalog.db_path, "UPDATE examples SET label = 'puppy' "
                                    "WHERE project_id = ? AND label = 'dog'", (pid,))
    with TestClient(create_app(catalog, ServerSettings(preload=False))) as client:
        res = client.patch(f"/api/projects/{pid}/examples/{ids['meow']}?existing=true",
                           json={"label": "dog"})
    catalog.interloper.finish()
    assert catalog.interloper.struck
    # 'dog' existed when the request checked, so the move is allowed; but the rename, landing
    # between that check and the write, left 'meow' alone in a 'dog' class the user renamed away
    assert res.status_code == 200, res.text
    assert "dog" not in catalog.class_counts(pid), labels(catalog, pid)
    assert labels(catalog, pid) == {"meow": "puppy", "woof": "puppy", "bark": "puppy"}


def test_relabel_to_a_class_gone_is_refused_and_changes_nothing(tmp_path):
    catalog = Catalog(tmp_path / "home")
    pid, ids = pets(catalog)
    catalog.rename_class(pid, "dog", "puppy")
    with pytest.raises(ConflictError, match=r"Class 'dog' is not a class of project .*'cat', "
                                            r"'puppy'; pick one of them"):
        catalog.relabel_example(pid, ids["meow"], "dog", existing_only=True)
    assert labels(catalog, pid)["meow"] == "cat"
    # without existing_only the move may create the class (the Examples page's free relabel)
    assert catalog.relabel_example(pid, ids["meow"], "bird")["label"] == "bird"


def test_relabel_to_an_existing_class_of_a_missing_example_is_not_found(tmp_path):
    catalog = Catalog(tmp_path / "home")
    pid, _ = pets(catalog)
    with pytest.raises(NotFoundError, match="Example 999 does not exist in project"):
        catalog.relabel_example(pid, 999, "dog", existing_only=True)


def test_deleting_a_class_keeps_an_example_moved_out_of_it_meanwhile(tmp_path):
    catalog = StruckAfterExampleIds(tmp_path / "home")
    pid, ids = pets(catalog)
    catalog.interloper = Interloper(catalog.db_path, "UPDATE examples SET label = 'cat' WHERE id = ?",
                                    (ids["bark"],))
    with TestClient(create_app(catalog, ServerSettings(preload=False))) as client:
        res = client.delete(f"/api/projects/{pid}/classes/dog")
    catalog.interloper.finish()
    assert catalog.interloper.struck
    assert res.status_code == 200, res.text
    moved = catalog.interloper.rowcount == 1  # the relabel request would have answered 200
    # either order is fine alone: relabel first ('bark' survives as a cat) or delete first (the
    # relabel finds no 'bark': a 404). Before, the class's ids were listed, 'bark' was moved to
    # 'cat' (a 200), and deleting the listed ids then deleted it anyway, as a cat
    assert moved == ("bark" in labels(catalog, pid)), (moved, labels(catalog, pid))
    # under the lock the relabel waits for the delete, which takes both dogs
    assert res.json() == {"deleted": 2} and labels(catalog, pid) == {"meow": "cat"}


def test_deleting_a_class_with_no_examples_is_not_found(tmp_path):
    catalog = Catalog(tmp_path / "home")
    pid, _ = pets(catalog)
    with pytest.raises(NotFoundError, match="Class 'bird' has no examples in project"):
        catalog.delete_class(pid, "bird")


def test_adding_texts_to_a_project_deleted_meanwhile_is_not_found_not_a_server_error(tmp_path):
    catalog = StruckAfterGetProject(tmp_path / "home")
    pid, _ = pets(catalog)
    catalog.interloper = Interloper(catalog.db_path, "DELETE FROM projects WHERE id = ?", (pid,))
    with TestClient(create_app(catalog, ServerSettings(preload=False))) as client:
        res = client.post(f"/api/projects/{pid}/examples/texts",
                          json={"texts": ["tweet"], "label": "bird"})
    # the route found the project, then it was deleted: the insert broke its foreign key (a 500)
    assert res.status_code == 404, res.text
    assert res.json()["detail"] == (f"Project {pid} does not exist. List projects with "
                                    "GET /api/projects.")


def test_a_project_deleted_while_a_job_is_queued_waits_and_takes_the_job_with_it(tmp_path):
    catalog = StruckAfterGetProject(tmp_path / "home")
    pid, _ = pets(catalog)
    catalog.interloper = Interloper(catalog.db_path, "DELETE FROM projects WHERE id = ?", (pid,))
    # the project was looked up, then deleted before the insert: it broke the jobs -> projects
    # foreign key (sqlite3.IntegrityError, a 500); under the lock the delete waits for the insert
    job = catalog.create_job(pid, {})
    assert catalog.interloper.pending, "the delete should have waited for the job's transaction"
    catalog.interloper.finish()
    with pytest.raises(NotFoundError, match=f"Training job {job['id']} does not exist"):
        catalog.get_job(job["id"])  # the project's delete took its job along (ON DELETE CASCADE)
