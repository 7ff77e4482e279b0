"""`handful serve`: refuses unsafe binds, prints its address as a JSON line, serves the API."""

from __future__ import annotations

import socket

import httpx
import pytest

from handful.cli.main import main
from handful.cli.serve import is_loopback
from server_utils import ServerProcess


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False),
                                            ("192.168.1.5", False), ("example.org", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_serve_refuses_another_interface_without_a_token(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HANDFUL_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--home", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Binding 0.0.0.0 would expose") and "--token" in err


def test_serve_refuses_a_short_token(tmp_path, capsys):
    assert main(["serve", "--host", "0.0.0.0", "--token", "abc", "--home", str(tmp_path)]) == 2
    assert "at least 8 characters" in capsys.readouterr().err


def test_serve_reports_a_busy_port(tmp_path, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--home", str(tmp_path)]) == 2
    assert f"Cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_prints_its_address_and_checks_the_token(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    server = ServerProcess(home, env={"HANDFUL_TOKEN": "a-long-secret"})
    try:
        assert server.info["host"] == "127.0.0.1" and server.info["auth"] is True
        assert server.info["home"] == str(home.resolve())
        assert httpx.get(f"{server.url}/api/projects").status_code == 401
        ok = httpx.get(f"{server.url}/api/projects", headers={"Authorization": "Bearer a-long-secret"})
        assert ok.status_code == 200 and ok.json() == []
    finally:
        server.stop()
