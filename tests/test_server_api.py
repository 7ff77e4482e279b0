"""HTTP API: projects, examples, uploads, safety, errors (TestClient, tiny generated images)."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from fastapi.testclient import TestClient

from handful.server import Catalog, Limits, ServerSettings, create_app
from server_utils import color_png, upload_colors


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def client(home):
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as c:
        yield c


def new_project(client, name="colors", modality="image") -> int:
    res = client.post("/api/projects", json={"name": name, "modality": modality})
    assert res.status_code == 201, res.text
    return res.json()["id"]


def blob_files(home):
    return sorted(p for p in (home / "blobs").glob("*/*") if not p.name.startswith("."))


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_projects_can_be_created_listed_renamed_and_deleted(client):
    pid = new_project(client, "pets")
    assert [p["name"] for p in client.get("/api/projects").json()] == ["pets"]
    assert client.patch(f"/api/projects/{pid}", json={"name": "animals"}).json()["name"] == "animals"
    assert client.delete(f"/api/projects/{pid}").status_code == 204
    res = client.get(f"/api/projects/{pid}")
    assert res.status_code == 404
    assert res.json() == {"detail": f"Project {pid} does not exist. List projects with GET /api/projects."}


@pytest.mark.parametrize("body, status, phrase", [
    ({"name": "a/b", "modality": "image"}, 400, "without slashes"),
    ({"name": "", "modality": "image"}, 422, "name"),
    ({"name": "x", "modality": "audio"}, 422, "modality"),
    ({"name": "x", "unknown": 1}, 422, "unknown"),
])
def test_bad_project_requests_get_one_json_message(client, body, status, phrase):
    res = client.post("/api/projects", json=body)
    assert res.status_code == status
    detail = res.json()["detail"]
    assert isinstance(detail, str) and phrase in detail  # a sentence, not pydantic's list


def test_upload_stores_each_file_once_and_lists_bad_files(client, home):
    pid = new_project(client)
    good = [color_png("red", 1), color_png("red", 2)]
    files = [("files", ("a.png", good[0], "image/png")), ("files", ("b.png", good[1], "image/png")),
             ("files", ("copy of a.png", good[0], "image/png")),
             ("files", ("broken.png", good[0][: len(good[0]) // 2], "image/png")),
             ("files", ("notes.txt", b"hello", "text/plain"))]
    report = client.post(f"/api/projects/{pid}/examples", files=files, data={"label": "red"}).json()
    assert (report["n_added"], report["n_duplicates"], report["n_skipped"]) == (2, 1, 2)
    reasons = {s["name"]: s["reason"] for s in report["skipped"]}
    assert "cannot be decoded" in reasons["broken.png"] or "truncated" in reasons["broken.png"]
    assert "not an image file" in reasons["notes.txt"]
    assert len(blob_files(home)) == 2  # content-addressed: the copy is not stored again
    # The same bytes in another project: a new example, still one file on disk.
    other = new_project(client, "other")
    client.post(f"/api/projects/{other}/examples", files=files[:1], data={"label": "x"})
    assert len(blob_files(home)) == 2


def test_file_names_are_sanitized_and_never_used_as_paths(client, home):
    pid = new_project(client)
    name = "../../etc/pass\x00wd<script>.png"
    client.post(f"/api/projects/{pid}/examples", data={"label": "red"},
                files=[("files", (name, color_png("red", 3), "image/png"))])
    example = client.get(f"/api/projects/{pid}/examples").json()["items"][0]
    assert "/" not in example["name"] and "<" not in example["name"] and "\x00" not in example["name"]
    assert example["name"].endswith(".png")
    stored = blob_files(home)[0]
    assert stored.parent.parent == home / "blobs" and len(stored.stem) == 40  # blake2b-160 hex


def test_relabel_delete_and_class_operations_keep_blobs_consistent(client, home):
    pid = new_project(client)
    upload_colors(client, pid, n=2, colors=("red", "green"))
    items = client.get(f"/api/projects/{pid}/examples?label=red").json()["items"]
    moved = client.patch(f"/api/projects/{pid}/examples/{items[0]['id']}", json={"label": "green"})
    assert moved.json()["label"] == "green"
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"green": 3, "red": 1}
    assert client.patch(f"/api/projects/{pid}/classes/green", json={"name": "verde"}).json()["renamed"] == 3
    assert client.delete(f"/api/projects/{pid}/examples/{items[1]['id']}").status_code == 204
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"verde": 3}
    assert len(blob_files(home)) == 3  # the deleted example's file went with it
    assert client.delete(f"/api/projects/{pid}/classes/verde").json()["deleted"] == 3
    assert blob_files(home) == []


def test_example_file_and_thumbnail_are_served(client):
    pid = new_project(client)
    upload_colors(client, pid, n=1, colors=("red",))
    example = client.get(f"/api/projects/{pid}/examples").json()["items"][0]
    assert client.get(example["url"]).content == color_png("red", 0)
    thumb = client.get(example["url"] + "?size=16")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"  # a JPEG


def test_zip_of_class_folders_in_one_enclosing_folder(client):
    pid = new_project(client)
    data = zip_bytes({"dataset/red/1.png": color_png("red", 1), "dataset/red/2.png": color_png("red", 2),
                      "dataset/blue/1.png": color_png("blue", 1),
                      "dataset/__MACOSX/red/._1.png": b"junk", "dataset/.DS_Store": b"junk",
                      "dataset/blue/readme.md": b"# notes"})
    res = client.post(f"/api/projects/{pid}/examples/zip", files={"file": ("d.zip", data, "application/zip")})
    assert res.status_code == 201, res.text
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"blue": 1, "red": 2}
    assert [s["name"] for s in res.json()["skipped"]] == ["blue/readme.md"]


def _symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("red/1.png", color_png("red", 1))
        info = zipfile.ZipInfo("red/link.png")
        info.external_attr = (0o120777 << 16)  # S_IFLNK
        zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def _bomb_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("red/1.png", color_png("red", 1))
        zf.writestr("red/bomb.bmp", b"\0" * (20 << 20))  # 20 MiB of zeros: ~1000x compression
    return buf.getvalue()


@pytest.mark.parametrize("make, phrase", [
    (lambda: zip_bytes({"/abs/red/1.png": color_png("red", 1)}), "absolute path"),
    (lambda: zip_bytes({"red/../../escape.png": color_png("red", 1)}), "'..'"),
    (_symlink_zip, "link"),
    (_bomb_zip, "zip bomb"),
    (lambda: b"PK\x03\x04 not really a zip", "not a readable zip"),
])
def test_unsafe_zips_are_refused_whole(client, home, make, phrase):
    pid = new_project(client)
    files = {"file": ("x.zip", make(), "application/zip")}
    res = client.post(f"/api/projects/{pid}/examples/zip", files=files)
    assert res.status_code == 400
    assert phrase in res.json()["detail"]
    assert client.get(f"/api/projects/{pid}").json()["n_examples"] == 0
    assert blob_files(home) == []


def test_zip_with_too_many_entries_is_refused(home):
    settings = ServerSettings(preload=False, limits=Limits(max_zip_entries=3))
    with TestClient(create_app(Catalog(home), settings)) as client:
        pid = new_project(client)
        data = zip_bytes({f"red/{i}.png": color_png("red", i) for i in range(4)})
        files = {"file": ("x.zip", data, "application/zip")}
        res = client.post(f"/api/projects/{pid}/examples/zip", files=files)
    assert res.status_code == 400 and "at most 3" in res.json()["detail"]


def test_request_and_pixel_limits(home):
    limits = Limits(max_request_bytes=20_000, max_image_pixels=1000)
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False, limits=limits))) as client:
        pid = new_project(client)
        big = [("files", (f"{i}.png", color_png("red", i, size=(64, 64)), "image/png")) for i in range(3)]
        res = client.post(f"/api/projects/{pid}/examples", files=big, data={"label": "red"})
        assert res.status_code == 413 and "limit" in res.json()["detail"]
        small = [("files", ("s.png", color_png("red", 1, size=(20, 20)), "image/png")),
                 ("files", ("l.png", color_png("red", 2, size=(40, 40)), "image/png"))]
        report = client.post(f"/api/projects/{pid}/examples", files=small, data={"label": "red"}).json()
    assert report["n_added"] == 1
    assert "image too large (40x40 pixels" in report["skipped"][0]["reason"]


def test_token_is_checked_on_every_api_call(home):
    settings = ServerSettings(preload=False, token="s3cret-token")
    with TestClient(create_app(Catalog(home), settings)) as client:
        res = client.get("/api/projects")
        assert res.status_code == 401 and "token" in res.json()["detail"]
        assert client.get("/api/projects", headers={"Authorization": "Bearer wrong"}).status_code == 401
        bearer = {"Authorization": "Bearer s3cret-token"}
        assert client.get("/api/projects", headers=bearer).status_code == 200
        assert client.get("/api/projects", headers={"X-Handful-Token": "s3cret-token"}).status_code == 200
        assert client.get("/api/projects?token=s3cret-token").status_code == 200
        assert client.post("/api/projects", json={"name": "x"}).status_code == 401
        assert client.get("/").status_code == 200  # the page itself holds no data


def test_unexpected_errors_are_json_without_traceback(home, monkeypatch):
    catalog = Catalog(home)
    app = create_app(catalog, ServerSettings(preload=False))

    def boom():
        raise RuntimeError("secret internals at /srv/x.py line 3")

    with TestClient(app, raise_server_exceptions=False) as client:
        monkeypatch.setattr(catalog, "list_projects", boom)
        res = client.get("/api/projects")
    assert res.status_code == 500
    assert res.json() == {"detail": "Internal error (RuntimeError); the server log has the details."}


def test_training_needs_two_classes_and_valid_options(client):
    pid = new_project(client)
    upload_colors(client, pid, n=2, colors=("red",))
    res = client.post(f"/api/projects/{pid}/jobs", json={"backbone": "test_tiny_image"})
    assert res.status_code == 400 and "at least 2 classes" in res.json()["detail"]
    upload_colors(client, pid, n=2, colors=("blue",))
    res = client.post(f"/api/projects/{pid}/jobs", json={"backbone": "test_tiny_text"})
    assert res.status_code == 400 and "Choose a backbone for images, or auto." in res.json()["detail"]  # not "a image"
    res = client.post(f"/api/projects/{pid}/jobs", json={"backbone": "efficientnet_lit0"})
    assert res.status_code == 400 and "Did you mean 'efficientnet_lite0'" in res.json()["detail"]
    res = client.post(f"/api/projects/{pid}/jobs", json={"head": "svm"})
    assert res.status_code == 400 and "Unknown head 'svm'" in res.json()["detail"]


def test_text_projects_take_texts_and_tables_but_not_images(client):
    pid = new_project(client, "topics", "text")
    res = client.post(f"/api/projects/{pid}/examples/texts",
                      json={"texts": ["the team won", "", "a late goal"], "label": "sports"})
    assert (res.json()["n_added"], res.json()["n_skipped"]) == (2, 1)
    table = b"text,label\nbake the bread,cooking\nadd salt,cooking\nthe team won,sports\n"
    res = client.post(f"/api/projects/{pid}/examples/table", files={"file": ("t.csv", table, "text/csv")})
    assert (res.json()["n_added"], res.json()["n_duplicates"]) == (2, 1)
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"cooking": 2, "sports": 2}
    res = client.post(f"/api/projects/{pid}/examples", data={"label": "x"},
                      files=[("files", ("a.png", color_png("red", 1), "image/png"))])
    assert res.status_code == 400 and "holds texts" in res.json()["detail"]


def test_table_errors_name_the_upload_and_the_form_field_and_long_texts_are_cut(client):
    pid = new_project(client, "reviews", "text")
    res = client.post(f"/api/projects/{pid}/examples/table",
                      files={"file": ("reviews.csv", b"body,stars\ngood,5\nbad,1\n", "text/csv")})
    detail = res.json()["detail"]
    assert res.status_code == 400 and detail.startswith("reviews.csv: cannot tell which column")
    assert "label_column" in detail and "form fields of this upload" in detail
    assert "--" not in detail and "tmp" not in detail
    long_row = b"text,label\n" + b"word " * 40_000 + b",pos\nfine,neg\n"  # past csv's field limit
    res = client.post(f"/api/projects/{pid}/examples/table", files={"file": ("l.csv", long_row, "text/csv")})
    assert res.status_code == 201 and res.json()["n_added"] == 2
    # the response says which text was cut, from how long, to how long (the CLI warns the same)
    assert res.json()["truncated"] == [{"name": "l.csv:2", "chars": len("word " * 40_000) - 1, "kept": 20_000}]
    res = client.post(f"/api/projects/{pid}/examples/texts", json={"texts": ["x" * 20_001, "short"],
                                                                   "label": "pos"})
    assert res.json()["n_truncated"] == 1 and res.json()["truncated"][0]["name"] == "text 1"


def test_the_api_docs_pages_load_nothing_from_the_internet(client):
    pytest.importorskip("fastapi_offline")
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        sources = re.findall(r'(?:src|href)=["\']([^"\']+)', html)
        assert sources and all(src.startswith("/docs-static/") for src in sources), (page, sources)
        for src in sources:
            res = client.get(src)
            assert res.status_code == 200 and len(res.content) > 500, src  # the file itself, served here


def test_an_id_beyond_64_bits_is_not_found_rather_than_a_server_error(client):
    res = client.get("/api/projects/99999999999999999999999")
    assert res.status_code == 404 and "ids are below 2^63" in res.json()["detail"]
    pid = new_project(client)
    res = client.get(f"/api/projects/{pid}/examples?offset=99999999999999999999999")
    assert res.status_code == 422 and "query.offset" in res.json()["detail"]  # not "No record has id"


def test_openapi_docs_and_ui_are_served(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/projects", "/api/projects/{project_id}/predict", "/api/jobs/{job_id}/cancel",
            "/api/projects/{project_id}/versions/{number}/activate"} <= set(paths)
    assert "<title>handful</title>" in client.get("/").text
    assert client.get("/static/js/app.js").status_code == 200


def test_a_class_named_dot_dot_is_refused_so_class_routes_cannot_reach_the_project(client):
    # '/classes/..' is normalized by the browser to the project itself: "delete class .." deleted
    # the project, "rename class .." renamed it
    pid = new_project(client)
    for name in ("..", "."):
        res = client.post(f"/api/projects/{pid}/examples", data={"label": name},
                          files=[("files", ("a.png", color_png("red", 0), "image/png"))])
        assert res.status_code == 400 and f"cannot be '{name}'" in res.json()["detail"]
    upload_colors(client, pid, n=1, colors=("red",))
    assert client.patch(f"/api/projects/{pid}/classes/red", json={"name": ".."}).status_code == 400
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"red": 1}


def test_deleting_a_class_that_does_not_exist_is_a_404_as_renaming_it_is(client):
    # it answered 200 {"deleted": 0}: a typo in a class name looked like a success
    pid = new_project(client)
    upload_colors(client, pid, n=1, colors=("red", "green"))
    for res in (client.delete(f"/api/projects/{pid}/classes/rde"),
                client.patch(f"/api/projects/{pid}/classes/rde", json={"name": "x"})):
        assert res.status_code == 404 and "'rde'" in res.json()["detail"]
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"green": 1, "red": 1}


def test_renaming_a_class_onto_another_is_refused_not_merged(client):
    pid = new_project(client)
    upload_colors(client, pid, n=2, colors=("red", "green"))
    res = client.patch(f"/api/projects/{pid}/classes/red", json={"name": "green"})
    assert res.status_code == 409 and "already exists" in res.json()["detail"]
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"green": 2, "red": 2}
    assert client.patch(f"/api/projects/{pid}/classes/red", json={"name": "red"}).json()["renamed"] == 2


def test_example_images_are_revalidated_because_ids_come_back_after_a_delete(client):
    pid = new_project(client)
    upload_colors(client, pid, n=1, colors=("red",))
    first = client.get(f"/api/projects/{pid}/examples").json()["items"][0]
    assert client.get(first["url"]).headers["cache-control"] == "private, no-cache"
    client.delete(f"/api/projects/{pid}/classes/red")
    upload_colors(client, pid, n=1, colors=("blue",))
    second = client.get(f"/api/projects/{pid}/examples").json()["items"][0]
    if second["url"] == first["url"]:  # SQLite reuses the id: the same URL now means another image
        assert client.get(second["url"]).content == color_png("blue", 0)


def test_a_duplicate_upload_names_the_class_that_already_holds_it(client):
    pid = new_project(client)
    upload_colors(client, pid, n=1, colors=("red",))
    res = client.post(f"/api/projects/{pid}/examples", data={"label": "green"},
                      files=[("files", ("again.png", color_png("red", 0), "image/png"))])
    assert res.json()["n_duplicates"] == 1
    assert res.json()["duplicates"][0]["label"] == "red"  # it was reported under 'green', the class asked
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"red": 1}


def test_deleting_examples_counts_only_the_ones_that_existed(client):
    pid = new_project(client)
    upload_colors(client, pid, n=2, colors=("red",))
    ids = [e["id"] for e in client.get(f"/api/projects/{pid}/examples").json()["items"]]
    res = client.post(f"/api/projects/{pid}/examples/delete", json={"ids": [ids[0], 99_999, -5]})
    assert res.status_code == 200 and res.json() == {"deleted": 1}  # it said 3
    res = client.post(f"/api/projects/{pid}/examples/delete", json={"ids": [2**70]})
    assert res.status_code == 404 and "ids are below 2^63" in res.json()["detail"]  # a 500 before
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {"red": 1}


@pytest.mark.parametrize("path, body, content_type", [
    ("/examples", None, None),  # multipart, built below
    ("", b'{"name": "' + b"x" * 30_000 + b'"}', "application/json"),
])
def test_a_body_over_the_limit_without_a_content_length_is_a_413(home, path, body, content_type):
    # streamed (chunked) uploads have no Content-Length: the limit hit while parsing was a 400
    # "There was an error parsing the body"
    limits = Limits(max_request_bytes=20_000)
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False, limits=limits))) as client:
        pid = new_project(client)
        if body is None:
            files = [("files", ("big.png", b"x" * 30_000, "image/png"))]
            request = client.build_request("POST", "/", files=files, data={"label": "red"})
            body, content_type = request.read(), request.headers["content-type"]
        url = f"/api/projects/{pid}{path}" if path else "/api/projects"
        res = client.post(url, content=iter([body[:10_000], body[10_000:]]),
                          headers={"content-type": content_type})
    assert res.status_code == 413
    assert "body is over the" in res.json()["detail"] and "smaller parts" in res.json()["detail"]


@pytest.mark.parametrize("body, content_type, phrase", [
    (b"{bad", "application/json", "the body is not valid JSON (Expecting property name"),
    (b"", "application/json", "the JSON body is missing"),
    (b"[1]", "application/json", "the body must be a JSON object"),
    (b"name=x", "text/plain", "the body must be a JSON object (Content-Type: application/json)"),
])
def test_a_missing_or_malformed_json_body_is_named_as_such(client, body, content_type, phrase):
    # the messages were "1: JSON decode error.", "request: Field required." and "request: Input
    # should be a valid dictionary or object to extract fields from."
    res = client.post("/api/projects", content=body, headers={"content-type": content_type})
    assert res.status_code == 422 and phrase in res.json()["detail"], res.json()


def test_the_zero_shot_prior_head_is_refused_because_the_server_builds_no_class_name_scores(client):
    # it trained a ZeroShotPriorHead without its scores (the CLI and Classifier refuse that)
    pid = new_project(client)
    upload_colors(client, pid, n=2, colors=("red", "blue"))
    res = client.post(f"/api/projects/{pid}/jobs", json={"backbone": "test_tiny_image", "head": "zeroshot_prior"})
    assert res.status_code == 400 and "handful train --zero-shot-prior" in res.json()["detail"]
    assert client.get(f"/api/projects/{pid}/jobs").json() == []


def test_the_api_docs_say_suggest_answers_with_the_files_it_skipped(client):
    # the UI missed 'skipped' in the suggest answer; the OpenAPI docs had no schema for it at all
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    answer = client.get("/openapi.json").json()["paths"]["/api/projects/{project_id}/suggest"]["post"]
    ref = answer["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    fields = schemas[ref.rsplit("/", 1)[1]]["properties"]
    assert {"version", "suggestions", "skipped"} <= set(fields)
    assert fields["skipped"]["items"]["$ref"].endswith("/Skipped")
