"""s21 fixes to the HTTP API beyond the audit's own tests: the documented error body, upload
warnings in the answer, files sniffed like /predict does, .csv.gz tables, and message wording."""

from __future__ import annotations

import gzip
import io
import json
import threading
import warnings
import zipfile

import httpx
import pytest
from fastapi.testclient import TestClient

from handful.server import Catalog, ServerSettings, create_app, extras
from handful.server.notices import collected_warnings
from handful.server.uploads import Limits, format_size
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, color_png, train_colors

JOB = {"backbone": "test_tiny_image", "head": "logistic"}


def make_client(tmp_path, limits: Limits | None = None) -> TestClient:
    settings = ServerSettings(preload=False, limits=limits or Limits())
    return TestClient(create_app(Catalog(tmp_path / "home"), settings))


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


def new_project(client, name: str = "p", modality: str = "image") -> int:
    res = client.post("/api/projects", json={"name": name, "modality": modality})
    assert res.status_code == 201, res.text
    return res.json()["id"]


def upload_table(client, pid: int, name: str, data: bytes):
    return client.post(f"/api/projects/{pid}/examples/table", files=[("file", (name, data, "text/csv"))])


def rows_csv(*rows: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join(rows) + "\n").encode(encoding)


SPORTS = [f"the team won match {i},sports" for i in range(4)]
COOKING = [f"add salt to soup {i},cooking" for i in range(4)]


# -- the error body the OpenAPI document declares ------------------------------------------------

def test_every_documented_client_error_is_the_string_detail_the_server_sends(client):
    # a client generated from /openapi.json parses each 4xx by its declared schema: FastAPI's
    # HTTPValidationError (detail: a list) must be nowhere, every 4xx must be ErrorBody (detail: a string)
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(spec), "a 422 is still documented as a list of errors"
    assert spec["components"]["schemas"]["ErrorBody"]["properties"]["detail"]["type"] == "string"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code.startswith("4"):
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorBody"), (method, path, code, ref)
    assert "404" in spec["paths"]["/api/projects/{project_id}"]["get"]["responses"]
    assert "409" in spec["paths"]["/api/projects/{project_id}/examples/{example_id}"]["patch"]["responses"]
    # and the answers are what is declared
    assert isinstance(client.get("/api/projects/999").json()["detail"], str)
    assert isinstance(client.post("/api/projects", json={}).json()["detail"], str)


# -- /suggest with nothing readable --------------------------------------------------------------

@pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")
def test_suggest_with_only_unreadable_files_names_each_file_and_why(client):
    # the 400 must say which files failed and why, so the user can fix them, not just that none worked
    pid = train_colors(client, 3, JOB)
    files = [("files", ("broken.png", b"not a png", "image/png")), ("files", ("empty.png", b"", "image/png"))]
    res = client.post(f"/api/projects/{pid}/suggest", files=files)
    assert res.status_code == 400, res.text
    detail = res.json()["detail"]
    assert "broken.png: not an image" in detail and "empty.png: empty file" in detail, detail
    assert "Send image files" in detail  # the fix
    # one good file among them still ranks, with the bad ones listed as skipped
    good = [("files", ("red.png", color_png("red", 99), "image/png"))]
    res = client.post(f"/api/projects/{pid}/suggest", files=files + good)
    assert res.status_code == 200, res.text
    assert {s["name"] for s in res.json()["skipped"]} == {"broken.png", "empty.png"}


# -- warnings of a table upload in its answer ----------------------------------------------------

def test_a_latin1_table_says_it_was_read_as_latin1_naming_the_upload(client):
    # `handful train` warns that the file is not UTF-8 (accents may be wrong); the upload must say it too
    pid = new_project(client, "t", "text")
    data = rows_csv("text,label", *[f"café crème {i},food" for i in range(3)],
                    *[f"the match {i},sports" for i in range(3)], encoding="latin-1")
    res = upload_table(client, pid, "menu.csv", data)
    assert res.status_code == 201, res.text
    said = res.json()["warnings"]
    assert any("menu.csv is not valid UTF-8" in w and "latin-1" in w for w in said), said
    assert "tmp" not in json.dumps(said), said  # never the server's temp file
    assert res.json()["added"][0]["name"].startswith("café")  # read as latin-1, the accents right


def test_a_header_warning_names_the_form_fields_not_the_cli_flags(client):
    # the fix it names must be one the upload can follow: form fields, not `--text-column`
    pid = new_project(client, "t", "text")
    res = upload_table(client, pid, "tickets.csv", rows_csv("body_text,topic", *SPORTS, *COOKING))
    said = " ".join(res.json()["warnings"])
    assert "text_column=body_text label_column=topic" in said and "--" not in said, said


def test_labels_differing_only_in_case_and_twice_named_columns_are_warned_about(client):
    pid = new_project(client, "t", "text")
    res = upload_table(client, pid, "mixed.csv",
                       rows_csv("text,label,label", *[f"{t},x" for t in SPORTS[:2]],
                                *[f"{t.replace('sports', 'Sports')},x" for t in SPORTS[2:]],
                                *[f"{t},x" for t in COOKING]))
    assert res.status_code == 201, res.text
    said = res.json()["warnings"]
    assert any("'sports'" in w and "'Sports'" in w and "differ only in case" in w for w in said), said
    assert any("2 columns named 'label'" in w for w in said), said
    assert all(w.startswith("mixed.csv") for w in said), said


def test_a_text_uploaded_again_under_another_label_says_which_label_was_kept(client):
    # the duplicate keeps its first class; silently dropping the new label hid a labeling conflict
    pid = new_project(client, "t", "text")
    client.post(f"/api/projects/{pid}/examples/texts", json={"label": "sports", "texts": ["the team won match 0"]})
    res = upload_table(client, pid, "again.csv", rows_csv("text,label", "the team won match 0,cooking",
                                                         *COOKING, *SPORTS[1:]))
    assert res.status_code == 201, res.text
    body = res.json()
    assert body["duplicates"][0]["label"] == "sports"
    said = [w for w in body["warnings"] if "dropped" in w]
    assert len(said) == 1 and "class 'sports'" in said[0] and "label 'cooking'" in said[0], body["warnings"]
    # the same conflict through /examples/texts: one warning for several texts, counting them
    soups = [row.split(",")[0] for row in COOKING[:2]]
    res = client.post(f"/api/projects/{pid}/examples/texts", json={"label": "misc", "texts": soups})
    assert [w for w in res.json()["warnings"] if "2 uploads" in w and "'misc'" in w], res.json()["warnings"]
    # a duplicate under its own label is no conflict
    again = {"label": "sports", "texts": ["the team won match 0"]}
    res = client.post(f"/api/projects/{pid}/examples/texts", json=again)
    assert res.json()["n_duplicates"] == 1 and res.json()["warnings"] == []


def test_upload_warnings_are_documented_in_the_response_schema(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]["IngestResult"]
    assert schema["properties"]["warnings"]["items"]["type"] == "string"


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_the_web_ui_shows_a_table_uploads_warnings_in_its_toast(tmp_path, page):
    # the answer's warnings are only of use if the person who uploaded the table sees them
    home = tmp_path / "home"
    home.mkdir()
    table = tmp_path / "tickets.csv"
    table.write_bytes(rows_csv("body_text,topic", *SPORTS, *COOKING))
    with ServerProcess(home) as server:
        pid = httpx.post(f"{server.url}/api/projects", json={"name": "t", "modality": "text"}).json()["id"]
        page.goto(f"{server.url}/#/p/{pid}/data")
        page.set_input_files("input[type=file][accept*='.csv']", str(table))
        page.wait_for_selector(".toast.warn")
        shown = page.inner_text(".toast.warn")
    assert "Added 9 examples" in shown and "tickets.csv: its first row" in shown, shown


def test_collected_warnings_keep_each_thread_to_its_own():
    # requests run on worker threads: one upload's warnings must not land in another's answer,
    # and a warning outside any collection still reaches the usual hook
    started, results = threading.Barrier(2), {}

    def upload(name: str) -> None:
        with collected_warnings() as said:
            started.wait()
            for i in range(50):
                warnings.warn(f"{name} {i}", UserWarning, stacklevel=1)
        results[name] = said

    threads = [threading.Thread(target=upload, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["a"] == [f"a {i}" for i in range(50)] and results["b"] == [f"b {i}" for i in range(50)]
    with pytest.warns(UserWarning, match="outside"):
        warnings.warn("outside", UserWarning, stacklevel=1)


# -- /examples/table takes .csv.gz as the CLI does ------------------------------------------------

def test_a_gzipped_table_is_uploaded_as_the_cli_reads_it(client):
    pid = new_project(client, "t", "text")
    res = upload_table(client, pid, "tickets.csv.gz", gzip.compress(rows_csv("text,label", *SPORTS, *COOKING)))
    assert res.status_code == 201, res.text
    assert res.json()["n_added"] == 8
    assert res.json()["added"][0]["name"].startswith("the team won")


@pytest.mark.parametrize(("name", "data", "message"), [
    ("tickets.csv.gz", b"not gzip at all", "is named .gz but does not decompress"),
    ("tickets.csv.gz", gzip.compress(b"text,label\n" + b"a" * 300_000 + b",x\n"), "once decompressed"),
    ("tickets.json.gz", gzip.compress(b"{}"), "must be a .csv or .tsv file"),
])
def test_a_gzipped_table_that_cannot_be_read_is_refused_with_why(tmp_path, name, data, message):
    # a small gzip can expand a thousand-fold: the limit holds for the table as decompressed
    with make_client(tmp_path, Limits(max_file_bytes=200_000)) as client:
        pid = new_project(client, "t", "text")
        res = upload_table(client, pid, name, data)
    assert res.status_code == 400, res.text
    assert message in res.json()["detail"], res.json()["detail"]


# -- an image named without an extension, as /predict takes it ------------------------------------

def test_a_png_named_without_an_extension_is_stored_as_a_png(client):
    pid = new_project(client)
    files = [("files", ("photo", color_png("red", 0), "application/octet-stream")),
             ("files", ("scan", color_png("red", 1, fmt="JPEG"), "application/octet-stream")),
             ("files", ("notes", b"just some text", "application/octet-stream")),
             ("files", ("notes.txt", b"just some text", "text/plain"))]
    res = client.post(f"/api/projects/{pid}/examples", files=files, data={"label": "red"})
    assert res.status_code == 201, res.text
    body = res.json()
    assert [a["name"] for a in body["added"]] == ["photo", "scan"], body
    reasons = {s["name"]: s["reason"] for s in body["skipped"]}
    assert reasons == {"notes": "not an image (unrecognized format)",
                       "notes.txt": "not an image file (extension '.txt')"}, reasons
    served = client.get(f"/api/projects/{pid}/examples/{body['added'][0]['id']}/file")
    assert served.headers["content-type"] == "image/png"  # stored with the extension of its format
    served = client.get(f"/api/projects/{pid}/examples/{body['added'][1]['id']}/file")
    assert served.headers["content-type"] == "image/jpeg"


# -- wording -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("n_bytes", "shown"), [
    (300, "300 bytes"), (1, "1 byte"), (512 * 1024, "512 KiB"), (1536, "1.5 KiB"),
    (20 << 20, "20 MiB"), (int(2.25 * 2**30), "2.25 GiB"),
])
def test_sizes_are_shown_in_the_largest_unit_they_fill(n_bytes, shown):
    assert format_size(n_bytes) == shown  # a 512 KiB limit read "0 MiB" when shown in MiB


def test_a_limit_under_one_mib_is_named_in_kib_not_as_zero_mib(tmp_path):
    with make_client(tmp_path, Limits(max_file_bytes=1024, max_request_bytes=200_000)) as client:
        pid = new_project(client)
        big = color_png("red", 0, size=(200, 200))
        assert len(big) > 1024
        res = client.post(f"/api/projects/{pid}/examples", files=[("files", ("big.png", big, "image/png"))],
                          data={"label": "red"})
        assert res.json()["skipped"][0]["reason"] == "file too large (over the 1 KiB limit)"
        res = client.post(f"/api/projects/{pid}/examples", files=[("files", ("big.png", b"x" * 300_000))],
                          data={"label": "red"})
        assert res.status_code == 413 and "the limit is 195.31 KiB" in res.json()["detail"], res.text


def test_evaluation_data_with_unknown_classes_is_named_by_the_uploaded_file(client):
    # "Evaluation data the uploaded zip has classes ..." read wrong; the file's name reads as a path does
    pid = train_colors(client, 3, JOB)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("purple/1.png", color_png("red", 7))
    res = client.post(f"/api/projects/{pid}/evaluate", files={"file": ("held out.zip", buf.getvalue())})
    assert res.status_code == 400, res.text
    assert res.json()["detail"].startswith("Evaluation data held out.zip has classes ['purple']"), res.text


# -- class names as the upload cleans them ---------------------------------------------------------

def test_class_names_with_extra_spaces_find_the_class_the_upload_made(client):
    pid = new_project(client, "t", "text")
    client.post(f"/api/projects/{pid}/examples/texts", json={"label": "dark  red", "texts": ["wine", "blood"]})
    listed = client.get(f"/api/projects/{pid}/examples", params={"label": " dark red "}).json()
    assert listed["total"] == 2  # stored as 'dark red'
    res = client.patch(f"/api/projects/{pid}/classes/ dark  red ", json={"name": "crimson"})
    assert res.status_code == 200 and res.json()["renamed"] == 2, res.text
    res = client.delete(f"/api/projects/{pid}/classes/crimson%20")
    assert res.status_code == 200 and res.json()["deleted"] == 2, res.text
