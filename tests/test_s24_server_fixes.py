"""s24 server fixes: a fine-tuned version's validation score named as the CLI names it after a
refit, the token redacted however the query spells it, the scheme in the same-origin check,
example files served with Range and conditional requests."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from handful.server import Catalog, ServerSettings, create_app, extras
from handful.server.guards import is_same_origin, redact_token
from handful.server.routes.examples import example_file
from server_utils import HAS_CHROMIUM, NO_CHROMIUM, ServerProcess, color_png, seed_version, upload_colors, wait_job


def make_client(tmp_path, base_url: str = "http://testserver") -> TestClient:
    return TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False)), base_url=base_url)


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


# 1. a fine-tuned version refit on all images -------------------------------------------------

@pytest.mark.slow  # fine-tunes the real efficientnet_lite0 (the server tunes nothing else), tiny images
@pytest.mark.skipif(not extras.has_finetune(), reason="handful.finetune not installed")
def test_a_fine_tuned_version_refit_on_all_images_names_its_score_as_before_the_refit(client):
    pid = client.post("/api/projects", json={"name": "ft"}).json()["id"]
    upload_colors(client, pid, n=4, colors=("red", "blue"))  # 4 a class: one held out for validation
    job = client.post(f"/api/projects/{pid}/jobs", json={"finetune": True}).json()
    job = wait_job(client, job["id"], timeout=600)
    assert job["status"] == "succeeded", job["message"]
    version = client.get(f"/api/projects/{pid}/versions/1").json()
    summary = version["report"]["finetune"]
    assert summary["n_val"] > 0 and summary["refit"], "the default recipe validates, then refits"
    # the saved model trained on the validation images too: its score is of the model before that,
    # under the key `handful finetune` writes (cli/finetune.py), never the plain val_accuracy
    assert "val_accuracy" not in version["metrics"], version["metrics"]
    assert 0.0 <= version["metrics"]["val_accuracy_before_refit"] <= 1.0
    assert version["metrics"]["best_epoch"] == summary["best_epoch"]
    listed = client.get(f"/api/projects/{pid}/versions").json()[0]["metrics"]
    assert "val_accuracy_before_refit" in listed and "val_accuracy" not in listed


@pytest.fixture(scope="module")
def refit_server(tmp_path_factory):
    """A server whose project has a fine-tuned v1 scored before its refit, as the server now records it."""
    home = tmp_path_factory.mktemp("refit") / "home"
    catalog = Catalog(home)
    pid = catalog.create_project("tuned", "image")["id"]
    report = {"evaluation": None, "learning_curve": None, "leaderboard": None,
              "finetune": {"n_train": 12, "n_val": 3, "refit": {"n_train": 12, "epochs": 2},
                           "history": {"epochs": [{"epoch": 1, "val_accuracy": 1 / 3},
                                                  {"epoch": 2, "val_accuracy": 2 / 3}],
                                       "best_epoch": 2, "stopped_early": False, "seconds_per_epoch": 1.5}}}
    for _ in range(2):
        seed_version(catalog, pid, report, {"val_accuracy_before_refit": 2 / 3, "best_epoch": 2},
                     ["a", "b", "c"], 12)
    catalog.close()
    with ServerProcess(home) as server:
        yield server, pid


@pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)
def test_the_ui_says_a_refit_models_validation_score_was_taken_before_the_refit(refit_server, page):
    server, pid = refit_server
    page.goto(f"{server.url}/#/p/{pid}/versions")
    page.wait_for_selector("[data-testid=compare]")
    cell = page.locator("[data-testid=version-accuracy]").first
    assert cell.inner_text() == "66.7% validation, before refit"  # it showed '–': no val_accuracy
    assert "before the model was refit" in cell.get_attribute("title")
    assert "Validation accuracy (before refit)\t66.7%\t66.7%" in page.inner_text("[data-testid=compare]")
    page.goto(f"{server.url}/#/p/{pid}/results/1")
    page.wait_for_selector(".tiles")
    assert "validation accuracy (before refit)" in page.inner_text(".tiles").lower()  # CSS upper-cases it
    # the curve's note said "kept the weights of epoch 2": the saved model is the refit one
    page.wait_for_selector("text=refit on all 12 images")


# 2. the token in the access log --------------------------------------------------------------

@pytest.mark.parametrize(("line", "hidden"), [
    ("/api/x?tok%65n=s3cret", "s3cret"),  # parse_qs decodes the key to 'token'
    ("/api/x?%74%6F%6B%65%6E=s3cret&size=2", "s3cret"),
    ("/api/x?token=wrong&token=s3cret", "s3cret"),  # repeated: every value is hidden
    ('/api/x?token=s3c"ret', 'ret'),  # the whole value, up to the next '&'
    ("GET /api/x?size=2&token=s3cret HTTP/1.1", "s3cret"),
])
def test_redact_token_hides_whatever_the_server_reads_as_the_token(line, hidden):
    assert hidden not in redact_token(line), redact_token(line)


@pytest.mark.parametrize("line", ["/api/x?mytoken=keep", "/api/x?to+ken=keep", "/api/x?TOKEN=keep"])
def test_redact_token_keeps_parameters_the_server_does_not_read_as_the_token(line):
    assert redact_token(line) == line  # parse_qs reads these as other keys: nothing secret


def test_the_access_log_carries_no_token_however_the_request_spells_it(tmp_path):
    token = "s24-s3cret-token-5"
    home = tmp_path / "home"
    home.mkdir()
    with ServerProcess(home, env={"HANDFUL_TOKEN": token}, args=("--access-log",)) as server:
        base = f"{server.url}/api/health"
        # the server accepts the percent-encoded key: it is the token, so it must be redacted
        assert httpx.get(f"{base}?tok%65n={token}", timeout=10).status_code == 200
        assert httpx.get(f"{base}?token=x&token={token}", timeout=10).status_code == 401
        assert httpx.get(base, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
        server.stop()
        logged = server.proc.stdout.read().decode() + (tmp_path / "home-server.log").read_text()
    assert logged.count("/api/health") >= 3, "the access log lists each request"
    assert token not in logged, [line for line in logged.splitlines() if token in line]


# 3. the scheme in the same-origin check ------------------------------------------------------

@pytest.mark.parametrize(("origin", "host", "scheme", "same"), [
    ("https://127.0.0.1:8000", "127.0.0.1:8000", "http", False),  # same host and port, not this server
    ("http://lab.example", "lab.example", "https", False),
    ("https://lab.example", "lab.example", "https", True),  # behind a TLS proxy it trusts
    ("http://127.0.0.1:8000", "127.0.0.1:8000", "http", True),
    ("https://lab.example", "lab.example", "http", False),  # port 443 vs the http server's 80
])
def test_is_same_origin_compares_the_scheme_when_the_server_knows_its_own(origin, host, scheme, same):
    assert is_same_origin(origin, host, scheme) is same


@pytest.mark.parametrize("origin", ["https://testserver", "https://testserver:80"])
def test_a_post_from_an_https_page_to_an_http_server_on_that_host_and_port_is_refused(client, origin):
    res = client.post("/api/projects", json={"name": "x"}, headers={"Origin": origin})
    assert res.status_code == 403, res.text
    assert "X-Forwarded-Proto" in res.json()["detail"], "the refusal names the fix for a TLS proxy"
    assert client.get("/api/projects").json() == [], "nothing was created"


def test_a_post_from_an_https_page_to_the_https_server_it_came_from_is_carried_out(tmp_path):
    # the scheme of the server is the request's (uvicorn takes X-Forwarded-Proto from a trusted proxy)
    with make_client(tmp_path, base_url="https://testserver") as c:
        assert c.post("/api/projects", json={"name": "x"}, headers={"Origin": "https://testserver"}).status_code == 201
        assert c.post("/api/projects", json={"name": "y"}, headers={"Origin": "http://testserver"}).status_code == 403


# 4. example files: Range and conditional requests --------------------------------------------

def first_example(client) -> tuple[int, dict]:
    pid = client.post("/api/projects", json={"name": "p"}).json()["id"]
    upload_colors(client, pid, n=1, colors=("red",))
    return pid, client.get(f"/api/projects/{pid}/examples").json()["items"][0]


def test_a_range_request_for_an_example_file_gets_206_and_those_bytes(client):
    _, example = first_example(client)
    data = color_png("red", 0)  # what upload_colors sent
    res = client.get(example["url"], headers={"Range": "bytes=10-29"})
    assert res.status_code == 206, "a browser scrubbing a large file asks for part of it"
    assert res.content == data[10:30]
    assert res.headers["content-range"] == f"bytes 10-29/{len(data)}"
    whole = client.get(example["url"])
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes" and int(whole.headers["content-length"]) == len(data)
    assert whole.headers["cache-control"] == "private, no-cache" and whole.headers["last-modified"]


def test_revalidating_an_example_image_with_its_etag_gets_304_without_a_body(client):
    _, example = first_example(client)
    for url in (example["url"], example["url"] + "?size=16"):
        etag = client.get(url).headers["etag"]
        res = client.get(url, headers={"If-None-Match": etag})
        assert res.status_code == 304 and res.content == b"", "the browser holds this image already"
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_an_example_deleted_after_its_file_was_opened_is_still_sent_whole(client):
    pid, example = first_example(client)
    catalog = client.app.state.catalog
    request = Request({"type": "http", "method": "GET", "headers": [], "query_string": b""})
    response = example_file(pid, example["id"], catalog, request, None)
    client.delete(f"/api/projects/{pid}/examples/{example['id']}")  # removes the blob file
    sent: list[dict] = []

    async def receive() -> dict:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [], "asgi": {"spec_version": "2.4"}}
    # a loop of its own, in a thread of its own: an earlier test may leave this thread's loop running
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, response(scope, receive, send)).result(timeout=30)
    # the route opened the file: the delete cannot turn this response into a 500 half-way
    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == color_png("red", 0)
    assert response.file.closed, "the response closes the file it was given"
