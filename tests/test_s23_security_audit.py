"""s23 security audit of `handful serve`: what an attacker on this machine's browser, or on the
network with a token, could do that the README's promises rule out.

Each test states the attack and fails on the code as audited (``xfail(strict=True)``); the fix
turns it into an XPASS, and the marker is then removed.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import httpx
import pytest
from fastapi.testclient import TestClient

from handful.errors import DataError
from handful.server import Catalog, ServerSettings, create_app
from handful.server.uploads import Limits, read_class_zip
from server_utils import ServerProcess, color_png, seed_version

# what a browser adds to a request that a page on another site makes (a <form> POST, or fetch
# with mode "no-cors"): both are set by the browser, never by the attacking page's script
CROSS_SITE = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))) as c:
        yield c


def new_project(client, name: str = "p") -> int:
    res = client.post("/api/projects", json={"name": name})
    assert res.status_code == 201, res.text
    return res.json()["id"]


def test_a_request_naming_another_host_is_refused_so_dns_rebinding_cannot_read_the_api(client):
    # A page on evil.example whose name is re-pointed at 127.0.0.1 (DNS rebinding) is same-origin
    # with the token-less localhost server as far as the browser knows: it reads every project,
    # example and model. The browser still sends "Host: evil.example:8000", which the server
    # never checks (Django/Jupyter refuse unknown hosts for this reason).
    new_project(client, "private project")
    res = client.get("/api/projects", headers={"Host": "evil.example:8000"})
    assert res.status_code in (400, 403, 421), (
        f"a request for host evil.example was answered {res.status_code}: {res.text[:120]}")
    assert "private project" not in res.text


def test_a_page_on_another_site_cannot_add_examples_with_a_form_post(client):
    # multipart/form-data is a "simple" request: any web page the user visits can POST it to
    # http://127.0.0.1:8000 without a CORS preflight, and the token-less server stores the files,
    # poisoning the project's classes. The browser's Origin header says the request is cross-site.
    pid = new_project(client)
    files = [("files", ("x.png", color_png("red", 1), "image/png"))]
    res = client.post(f"/api/projects/{pid}/examples", files=files, data={"label": "planted"},
                      headers=CROSS_SITE)
    assert res.status_code == 403, f"a cross-site upload was answered {res.status_code}: {res.text[:120]}"
    assert client.get(f"/api/projects/{pid}").json()["classes"] == {}, "the planted class is in the project"


@pytest.mark.parametrize("action", ["train", "activate"])
def test_a_page_on_another_site_cannot_start_training_or_roll_back_a_version(client, action):
    # A POST without a body needs no preflight either: <form method=post action=".../jobs">
    # queues a training job (minutes of CPU), one to ".../versions/1/activate" silently rolls
    # the model every client predicts with back to an old version.
    pid = new_project(client)
    catalog = client.app.state.catalog
    for color in ("red", "green"):
        client.post(f"/api/projects/{pid}/examples", data={"label": color},
                    files=[("files", (f"{color}.png", color_png(color, 2), "image/png"))])
    for _ in range(2):
        seed_version(catalog, pid, {}, {"accuracy": 1.0}, ["green", "red"], 2)
    before = client.get(f"/api/projects/{pid}").json()
    assert before["current_version"] == 2
    path = f"/api/projects/{pid}/jobs" if action == "train" else f"/api/projects/{pid}/versions/1/activate"
    res = client.post(path, headers=CROSS_SITE)
    assert res.status_code == 403, f"a cross-site POST {path} was answered {res.status_code}: {res.text[:120]}"
    after = client.get(f"/api/projects/{pid}").json()
    assert (after["current_version"], after["active_job"]) == (2, None), after


def test_a_json_body_declaring_hundreds_of_megabytes_is_refused_before_it_is_read(client):
    # The 1 GiB --max-upload-mb default is sized for a zip of a data set, but JSON routes get it
    # too and parse the whole body in memory: a 50 MiB body of '{},' made the server grow by
    # 1.26 GB, so one 1 GiB JSON POST takes ~25 GB and the OOM killer ends the server. JSON
    # (project names, labels, texts) needs far less; the declared length alone should refuse it.
    body = b'{"name": "x"}'
    res = client.post("/api/projects", content=body,
                      headers={"Content-Type": "application/json", "Content-Length": str(512 << 20)})
    assert res.status_code == 413, f"a 512 MiB JSON body was let through ({res.status_code}: {res.text[:120]})"


def _zip_of_zeros(n_entries: int, size: int, images: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in images.items():
            archive.writestr(name, data)
        zeros = bytes(size)
        for i in range(n_entries):
            archive.writestr(f"red/pad{i}.png", zeros)
    return buf.getvalue()


def test_a_zip_whose_small_entries_together_expand_a_thousand_fold_is_refused_whole(client):
    # README: "a zip with ... a bomb-like compression ratio is refused whole". The ratio is only
    # checked for entries over 1 MiB, so 1 MiB entries of zeros (each ~1 KiB compressed) pass:
    # 4,096 of them are a 4 MiB upload that the server inflates to 4 GiB (2,000 took 2.4 s here).
    # Kept small here (64 MiB from ~70 KiB); the archive as a whole expands ~1000-fold.
    pid = new_project(client)
    data = _zip_of_zeros(64, 1 << 20, {"red/a.png": color_png("red", 1), "green/b.png": color_png("green", 2)})
    assert len(data) < (1 << 20) // 8  # the upload is tiny ...
    res = client.post(f"/api/projects/{pid}/examples/zip", files={"file": ("bomb.zip", data, "application/zip")})
    assert res.status_code == 400 and "bomb" in res.text, (
        f"a {len(data) >> 10} KiB zip expanding to 64 MiB was taken ({res.status_code}): {res.text[:160]}")
    assert client.get(f"/api/projects/{pid}").json()["n_examples"] == 0, "refused whole: nothing added"


def _directory_only_zip(n_entries: int) -> bytes:
    """A zip of ``n_entries`` central-directory records (46 bytes + name each) and no file data:
    all that zipfile reads when it opens an archive."""
    records = bytearray()
    for i in range(n_entries):
        name = f"a/{i}.png".encode()
        records += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0,
                               len(name), 0, 0, 0, 0, 0, 0) + name
    n = min(n_entries, 0xFFFF)
    return bytes(records) + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(records), 0, 0)


def test_a_zip_with_too_many_entries_is_refused_before_its_directory_is_parsed():
    # max_zip_entries (50,000) is counted on archive.infolist(), after zipfile built a ZipInfo per
    # record: 1,000,000 records (a 55 MiB upload) took 6 s and ~500 MB before the refusal, so the
    # 1 GiB request limit allows ~19M records: minutes of CPU and ~10 GB, from one (cross-site)
    # POST. The end-of-archive record gives the directory's size before any record is read.
    data = _directory_only_zip(60_000)  # 2.9 MiB
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="zip"):
            list(read_class_zip(io.BytesIO(data), Limits()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, (f"refusing a {len(data) >> 20} MiB zip of 60,000 entries took {peak >> 20} MiB: "
                            "every entry was parsed before the count was checked")


def test_the_api_token_in_an_image_url_is_not_written_to_the_access_log(tmp_path):
    # The UI puts the token in every thumbnail and download URL (?token=, authUrl in api.js), and
    # `handful serve --access-log` logs each request line with its query string: the secret that
    # guards a server on 0.0.0.0 ends up in logs, terminals and CI output.
    token = "audit-s3cret-token-7"
    home = tmp_path / "home"
    home.mkdir()
    with ServerProcess(home, env={"HANDFUL_TOKEN": token}, args=("--access-log",)) as server:
        assert httpx.get(f"{server.url}/api/health", params={"token": token}, timeout=10).status_code == 200
        server.stop()
        logged = server.proc.stdout.read().decode() + (tmp_path / "home-server.log").read_text()
    assert "/api/health" in logged, "the access log should list the request"  # the log is on
    assert token not in logged, [line for line in logged.splitlines() if token in line]


def test_the_web_ui_cannot_be_framed_by_another_site(client):
    # Without a frame policy any page can load http://127.0.0.1:8000 in an invisible iframe and
    # trick the user into clicking its Delete buttons (the token-less server needs no more).
    headers = client.get("/").headers
    csp = headers.get("content-security-policy", "")
    assert headers.get("x-frame-options", "").upper() in ("DENY", "SAMEORIGIN") or "frame-ancestors" in csp, (
        dict(headers))
