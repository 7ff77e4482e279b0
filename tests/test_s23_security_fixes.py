"""s23 security fixes of `handful serve`, beyond the audit's own tests: the edges of the Host and
Origin guards, the JSON body cap, the zip directory checks, the access log, hub backbones."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from handful.cli.serve import served_hosts
from handful.errors import DataError
from handful.server import Catalog, ServerSettings, create_app
from handful.server.guards import is_same_origin, redact_token, split_host
from handful.server.routes.jobs import check_options
from handful.server.schemas import TrainOptions
from handful.server.uploads import Limits, read_class_zip
from server_utils import ServerProcess, color_png

README = Path(__file__).resolve().parents[1] / "README.md"


def make_client(tmp_path, **settings) -> TestClient:
    return TestClient(create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False, **settings)))


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "127.0.0.1:1", "[::1]:8000", "LOCALHOST."])
def test_loopback_host_names_with_any_port_are_answered(client, host):
    # the names a local browser uses for a local server: never DNS-rebinding targets
    assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_a_host_given_in_settings_is_answered_and_others_are_refused_naming_the_option(tmp_path):
    with make_client(tmp_path, allowed_hosts=("lab.example",)) as c:
        assert c.get("/api/projects", headers={"Host": "lab.example:8000"}).status_code == 200
        res = c.get("/api/projects", headers={"Host": "other.example"})
    assert res.status_code == 400
    assert "--allowed-host other.example" in res.json()["detail"], "the refusal names the fix"


def test_any_host_is_answered_when_allowed_hosts_holds_a_star(tmp_path):
    with make_client(tmp_path, allowed_hosts=("*",)) as c:
        assert c.get("/api/health", headers={"Host": "whatever.example"}).status_code == 200


def test_testserver_is_answered_only_for_the_in_process_test_client(tmp_path):
    # "testserver" is not a production default: a peer with an IP address (any real connection)
    # naming it is refused like any unknown host
    app = create_app(Catalog(tmp_path / "home"), ServerSettings(preload=False))
    with TestClient(app, client=("203.0.113.9", 4000)) as c:
        assert c.get("/api/health").status_code == 400
    with TestClient(app) as c:
        assert c.get("/api/health").status_code == 200


@pytest.mark.parametrize(("host", "extra", "expected"), [
    ("127.0.0.1", [], ("127.0.0.1",)),
    ("192.168.1.5", ["lab.example", " lab.example "], ("192.168.1.5", "lab.example")),
    ("::1", [], ("::1",)),
    ("0.0.0.0", ["lab.example"], ("*",)),  # wildcard binds need a token: the token protects
    ("::", [], ("*",)),
])
def test_serve_answers_to_its_bound_name_and_the_allowed_hosts(host, extra, expected):
    assert served_hosts(host, extra) == expected


@pytest.mark.parametrize(("origin", "host", "same"), [
    ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
    ("http://localhost", "localhost:80", True),  # default ports on both sides
    ("https://lab.example", "lab.example", True),  # behind a TLS proxy
    ("http://[::1]:8000", "[::1]:8000", True),
    ("http://127.0.0.1:9000", "127.0.0.1:8000", False),  # another local app is another origin
    ("https://evil.example", "127.0.0.1:8000", False),
    ("null", "127.0.0.1:8000", False),  # a sandboxed frame or a file:// page
])
def test_is_same_origin_compares_name_and_port(origin, host, same):
    assert is_same_origin(origin, host) is same


def test_split_host_reads_ipv6_literals_and_ports():
    assert split_host("[::1]:8000") == ("::1", 8000)
    assert split_host("Example.COM.") == ("example.com", None)


def test_a_same_origin_post_from_the_web_ui_is_carried_out(client):
    # the UI's fetch sends its own origin and Sec-Fetch-Site: same-origin
    res = client.post("/api/projects", json={"name": "ui"},
                      headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert res.status_code == 201, res.text


@pytest.mark.parametrize("headers", [{"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://127.0.0.1:9999"}])
def test_cross_site_deletes_are_refused_and_the_project_stays(client, headers):
    pid = client.post("/api/projects", json={"name": "keep"}).json()["id"]
    res = client.delete(f"/api/projects/{pid}", headers=headers)
    assert res.status_code == 403 and "cross-site" in res.json()["detail"], res.text
    assert client.get(f"/api/projects/{pid}").status_code == 200, "the project was deleted"


def test_a_cross_site_get_is_still_answered(client):
    # reading needs no CSRF guard (the browser keeps the answer from the other site)
    assert client.get("/api/health", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/projects/999", "/static/style.css"])
def test_every_response_forbids_framing_and_sniffing(client, path):
    headers = client.get(path).headers  # a 404 too
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_a_streamed_json_body_over_the_json_limit_is_refused(tmp_path):
    # no Content-Length: the cap is enforced while reading, not only from the declared length
    with make_client(tmp_path, limits=Limits(max_json_bytes=4096)) as c:
        chunks = iter([b'{"name": "', b"x" * 8192, b'"}'])
        res = c.post("/api/projects", content=chunks, headers={"Content-Type": "application/json"})
    assert res.status_code == 413 and "JSON" in res.json()["detail"], res.text


def test_a_body_without_content_type_is_capped_as_json(tmp_path):
    # FastAPI parses a body with no Content-Type as JSON, so the JSON cap applies to it too
    with make_client(tmp_path, limits=Limits(max_json_bytes=1024)) as c:
        res = c.post("/api/projects", content=b" " * 2048 + b'{"name": "x"}')
    assert res.status_code == 413, res.text


def test_the_json_cap_leaves_multipart_uploads_alone(tmp_path):
    with make_client(tmp_path, limits=Limits(max_json_bytes=1024)) as c:
        pid = c.post("/api/projects", json={"name": "p"}).json()["id"]
        image = color_png("red", 1, size=(200, 200))
        assert len(image) > 1024  # over the JSON cap, far under the request cap
        res = c.post(f"/api/projects/{pid}/examples", data={"label": "red"},
                     files=[("files", ("r.png", image, "image/png"))])
    assert res.status_code == 201, res.text


def test_a_deeply_nested_json_body_gets_a_sentence_with_the_fix(client):
    res = client.post("/api/projects", content=b"[" * 100_000, headers={"Content-Type": "application/json"})
    assert res.status_code == 400
    assert "nested too deeply" in res.json()["detail"] and "/docs" in res.json()["detail"], res.text


def _records(names: list[str]) -> bytes:
    out = bytearray()
    for name in names:
        raw = name.encode()
        out += struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0,
                           len(raw), 0, 0, 0, 0, 0, 0) + raw
    return bytes(out)


def test_a_zip64_end_record_declaring_too_many_entries_is_refused():
    # the zip64 end record holds the count once the classic one says 0xFFFF
    records = _records(["a/1.png", "a/2.png"])
    zip64_at = len(records)
    zip64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 1_000_000, 1_000_000,
                        len(records), 0)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, zip64_at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with pytest.raises(DataError, match="1,000,000"):
        list(read_class_zip(io.BytesIO(records + zip64 + locator + end), Limits()))


def test_a_zip_whose_end_record_understates_its_entries_is_still_refused():
    # zipfile reads the directory by its byte size, whatever count the end record gives
    records = _records([f"a/{i}.png" for i in range(30)])
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(records), 0, 0)
    with pytest.raises(DataError, match="more than 10 files"):
        list(read_class_zip(io.BytesIO(records + end), Limits(max_zip_entries=10)))


def test_folder_entries_do_not_count_against_the_file_limit():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for label in ("red", "green", "blue"):
            archive.writestr(f"{label}/", b"")
        for i in range(4):
            archive.writestr(f"red/{i}.png", color_png("red", i))
    entries = list(read_class_zip(io.BytesIO(buf.getvalue()), Limits(max_zip_entries=4)))
    assert len(entries) == 4 and all(e.data for e in entries)


def test_a_zip_of_compressible_images_under_a_mebibyte_is_not_a_bomb():
    # the whole-archive ratio has the per-entry floor: small archives are never bombs
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(3):
            archive.writestr(f"red/{i}.bmp", color_png("red", i, size=(100, 100), fmt="BMP"))
            archive.writestr(f"blue/{i}.bmp", bytes(30_000))
    assert len(list(read_class_zip(io.BytesIO(buf.getvalue()), Limits()))) == 6


@pytest.mark.parametrize(("line", "expected"), [
    ('GET /api/x?token=s3cret HTTP/1.1', 'GET /api/x?token=*** HTTP/1.1'),
    ('/a?size=2&token=s3cret&b=1', '/a?size=2&token=***&b=1'),
    ('/a?mytoken=keep', '/a?mytoken=keep'),
])
def test_redact_token_hides_only_the_token_parameter(line, expected):
    assert redact_token(line) == expected


def test_access_log_goes_to_stderr_redacted_and_allowed_hosts_reach_the_app(tmp_path):
    token = "fixes-s3cret-token-9"
    home = tmp_path / "home"
    home.mkdir()
    args = ("--access-log", "--allowed-host", "lab.example")
    with ServerProcess(home, env={"HANDFUL_TOKEN": token}, args=args) as server:
        url = f"{server.url}/api/health"
        assert httpx.get(url, params={"token": token}, timeout=10).status_code == 200
        assert httpx.get(url, params={"token": token}, headers={"Host": "lab.example"}, timeout=10).status_code == 200
        assert httpx.get(url, params={"token": token}, headers={"Host": "evil.example"}, timeout=10).status_code == 400
        server.stop()
        stdout = server.proc.stdout.read().decode()
    stderr = (tmp_path / "home-server.log").read_text()
    assert "/api/health" not in stdout, f"stdout is the --json line's alone: {stdout[:300]}"
    assert "/api/health?token=***" in stderr and token not in stderr


def test_a_hub_backbone_over_the_api_is_refused_naming_the_option(client):
    pid = client.post("/api/projects", json={"name": "p"}).json()["id"]
    for backbone in ("st:/some/dir", "timm:resnet18", "test_tiny_image+open_clip:ViT-B-32"):
        res = client.post(f"/api/projects/{pid}/jobs", json={"backbone": backbone})
        assert res.status_code == 400 and "--allow-hub-backbones" in res.json()["detail"], res.text


def test_hub_backbones_pass_the_check_when_the_server_allows_them():
    check_options(TrainOptions(backbone="timm:resnet18"), "image", allow_hub=True)
    check_options(TrainOptions(backbone="test_tiny_image"), "image")  # offline ones always


def test_readme_documents_the_token_query_parameter_and_the_guards():
    text = README.read_text()
    assert "?token=" in text and "--allowed-host" in text and "--allow-hub-backbones" in text
