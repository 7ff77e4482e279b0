"""s22 install fixes, beyond the audit's own tests (tests/test_s22_install_audit.py): the edges of
`python -m handful`, `serve`'s extras check, hub import failures and the `st:` hub probe."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import types
from importlib.metadata import version

import pytest

from conftest import one_error_line
from handful.backbones import hub
from handful.errors import BackboneUnavailableError


def test_python_dash_m_handful_exits_2_with_one_error_line_on_a_user_error(tmp_path):
    # the same entry point as the `handful` script: a user error is one line and exit code 2
    done = subprocess.run([sys.executable, "-m", "handful", "predict", str(tmp_path / "no-model"),
                           str(tmp_path)], capture_output=True, text=True, timeout=60)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr


@pytest.mark.parametrize("missing, argv, extra", [
    (("uvicorn", "fastapi"), [], "server"),
    # FastAPI needs python-multipart for upload routes: without it create_app fails in a traceback
    (("python_multipart", "multipart"), [], "server"),
    (("onnx", "onnxruntime", "onnxscript"), ["--runtime", "onnx"], "onnx"),
])
def test_serve_refused_for_a_missing_extra_leaves_no_home_folder(capsys, tmp_path, monkeypatch, missing,
                                                                argv, extra):
    uvicorn = pytest.importorskip("uvicorn")
    # a server that starts would never return: fail instead
    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **k: pytest.fail("serve started"))
    for module in missing:
        monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    line = one_error_line(capsys, ["serve", "--home", str(tmp_path / "home"), "--port", "0", *argv])
    assert f"pip install 'handful[{extra}]'" in line, line
    # refused before anything is made: a run that cannot serve leaves no empty catalog behind
    assert not (tmp_path / "home").exists()


def _broken_package(tmp_path, monkeypatch, module: str, message: str) -> None:
    fake = tmp_path / "site" / module
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(f"raise RuntimeError({message!r})\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, module, raising=False)


def test_timm_broken_by_torchvision_names_the_torchvision_built_for_this_torch(tmp_path, monkeypatch):
    _broken_package(tmp_path, monkeypatch, "timm", "operator torchvision::nms does not exist")
    with pytest.raises(BackboneUnavailableError) as caught:
        hub._import("timm")
    message = str(caught.value)
    # torch 2.N pairs with torchvision 0.(N+15); timm imports torchvision, so uninstalling it is no fix
    minor = int(version("torch").split("+")[0].split(".")[1])
    assert f"torchvision==0.{minor + 15}.*" in message and "uninstall" not in message, message
    assert "\n" not in message


def test_sentence_transformers_broken_by_torchvision_may_also_uninstall_it(tmp_path, monkeypatch):
    _broken_package(tmp_path, monkeypatch, "sentence_transformers", "operator torchvision::nms does not exist")
    with pytest.raises(BackboneUnavailableError, match="pip uninstall torchvision"):
        hub._import("st")  # sentence-transformers runs without torchvision


def test_hub_package_broken_otherwise_names_the_error_and_a_reinstall(tmp_path, monkeypatch):
    _broken_package(tmp_path, monkeypatch, "open_clip", "numpy.dtype size changed")
    with pytest.raises(BackboneUnavailableError, match=r"numpy\.dtype size changed.*--force-reinstall"):
        hub._import("open_clip")


@pytest.fixture
def hub_session(monkeypatch):
    """huggingface_hub online, with a session whose requests are counted and fail as offline."""
    huggingface_hub = pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    calls = []

    def head(url, **kwargs):
        calls.append(url)
        raise ConnectionError("no route to host")

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "get_session", lambda: types.SimpleNamespace(head=head))
    return calls


def test_st_model_not_cached_and_hub_unreachable_is_refused_after_one_request(hub_session, tmp_path,
                                                                             monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(BackboneUnavailableError, match="cannot be reached.*offline backbone"):
        hub._require_hub("nobody/no-model")
    assert len(hub_session) == 1  # one probe, no retries


def test_st_model_in_the_cache_loads_without_probing_the_hub(hub_session, tmp_path, monkeypatch):
    from huggingface_hub import constants

    # huggingface_hub's cache layout: refs/main names the snapshot holding the files
    repo = tmp_path / "cache" / "models--someone--cached-model"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    (repo / "snapshots" / ("0" * 40)).mkdir(parents=True)
    (repo / "snapshots" / ("0" * 40) / "modules.json").write_text("[]")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    hub._require_hub("someone/cached-model")
    assert hub_session == []  # huggingface_hub falls back to the cache by itself: no probe needed


def test_st_load_silences_hub_retry_lines_and_restores_the_log_level(tmp_path, caplog):
    http_log = logging.getLogger("huggingface_hub.utils._http")
    before = http_log.level

    class SentenceTransformer:
        def __init__(self, name, device):
            http_log.warning("Retrying in 8s [Retry 4/5].")

    with caplog.at_level(logging.INFO):
        hub._load_sentence_transformer(types.SimpleNamespace(SentenceTransformer=SentenceTransformer),
                                       str(tmp_path))  # a local folder: no hub probe
    assert "Retrying" not in caplog.text  # the one error line (or the result) says what happened
    assert http_log.level == before  # only during the load


@pytest.mark.slow  # loads the packaged MiniLM weights (offline, seconds)
def test_minilm_neither_sets_hub_offline_for_the_process_nor_touches_the_network():
    # HF_HUB_OFFLINE is read once, at huggingface_hub's import: set by minilm, it kept every later
    # st: model of the process from downloading. The packaged model loads from a local folder.
    code = ("import os, sys\n"
            "hits = []\n"
            "sys.addaudithook(lambda e, a: hits.append(e) if e in ('socket.connect', 'socket.getaddrinfo') "
            "else None)\n"
            "from handful import create_backbone\n"
            "b = create_backbone('minilm')\n"
            "assert b.embed(['a short text']).shape == (1, 384)\n"
            "import huggingface_hub.constants as c\n"
            "print(os.environ.get('HF_HUB_OFFLINE'), c.HF_HUB_OFFLINE, len(hits))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "False", "0"], done.stdout

