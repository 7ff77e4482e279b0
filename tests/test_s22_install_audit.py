"""s22 install audit: what a new user meets after `pip install handful` (with or without extras).

Each test is a bug found by the audit, marked xfail(strict=True) until it is fixed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest

from conftest import make_color_tree, one_error_line
from handful import Classifier
from handful._version import __version__


def test_python_dash_m_handful_runs_the_cli_and_prints_the_version():
    # `python -m handful` is how a user reaches the CLI when the venv's bin/ is not on PATH
    done = subprocess.run([sys.executable, "-m", "handful", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"handful {__version__}"


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    data = make_color_tree(tmp_path / "data", 3, classes=("red", "blue"))
    Classifier("test_tiny_image", head="prototype").fit(data).save(tmp_path / "m")
    return tmp_path / "m"


def test_export_without_the_onnx_extra_is_one_line_naming_the_extra(capsys, tiny_model, tmp_path, monkeypatch):
    for module in ("onnx", "onnxruntime", "onnxscript"):
        monkeypatch.setitem(sys.modules, module, None)  # as if `handful[onnx]` were not installed
    # today torch.onnx raises OnnxExporterError("Module onnx is not installed!") through the CLI
    line = one_error_line(capsys, ["export", str(tiny_model), "--format", "onnx", "--out",
                                   str(tmp_path / "x.onnx")])
    assert "pip install 'handful[onnx]'" in line, line


def test_serve_without_the_server_extra_is_one_line_naming_the_extra(capsys, tmp_path, monkeypatch):
    for module in ("uvicorn", "fastapi"):
        monkeypatch.setitem(sys.modules, module, None)  # as if `handful[server]` were not installed
    line = one_error_line(capsys, ["serve", "--home", str(tmp_path / "home"), "--port", "0"])
    assert "pip install 'handful[server]'" in line, line


def test_st_backbone_with_the_hub_unreachable_fails_fast_in_one_line(text_csv, tmp_path):
    pytest.importorskip("sentence_transformers")
    # a closed local port stands for "no network": the same retries as a failed DNS look-up, on any machine
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=str(tmp_path / "hf"))
    argv = [sys.executable, "-c", "import sys; from handful.cli.main import run; sys.argv[0] = 'handful'; run()",
            "train", str(text_csv), "--out", str(tmp_path / "m"), "--backbone", "st:nobody/no-model",
            "--head", "logistic", "--no-advise"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=25, env=env)
    except subprocess.TimeoutExpired:  # today: 5 retries with back-off, about 75 s
        pytest.fail("st: with the hub unreachable took over 25 s to say so")
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), done.stderr


# Modules that handful imports with no fallback on the base install (no extra), and where.
BASE_IMPORTS = [
    ("click", "handful/cli/main.py: every command"),
    ("threadpoolctl", "handful/heads/threads.py: every head fit"),
    ("cv2", "handful/augment/transforms.py: augmentation and fine-tuning"),
    ("tokenizers", "handful/backbones/text_encoders.py: the minilm backbone"),
]


@pytest.mark.parametrize("module, where", BASE_IMPORTS)
def test_every_module_handful_imports_comes_from_a_declared_dependency(module, where):
    # reached today only through other packages' requirements (click: huggingface_hub, as typer
    # >= 0.29 no longer requires it), so an upstream release could break `handful` at import
    # the checkout's pyproject.toml where there is one: an editable install's metadata (requires())
    # is only rewritten by a reinstall, so it lags behind the file the fix changes
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    base = (tomllib.loads(pyproject.read_text())["project"]["dependencies"] if pyproject.is_file()
            else [r for r in requires("handful") or [] if "extra ==" not in r])
    declared = {r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("!")[0]
                .strip().lower().replace("_", "-") for r in base}
    providers = {d.lower().replace("_", "-") for d in packages_distributions().get(module, [])}
    assert providers, f"{module} is not installed"
    assert providers & declared, f"{module} ({where}) comes from {providers}, none declared in pyproject"


def test_serve_runtime_onnx_without_the_onnx_extra_is_refused_at_start(tmp_path):
    pytest.importorskip("uvicorn")
    # today the server starts and every image predict later fails in the ONNX export; a subprocess
    # with a time limit, as a server that starts never returns
    code = ("import sys\n"
            "for m in ('onnx', 'onnxruntime', 'onnxscript'): sys.modules[m] = None\n"
            "from handful.cli.main import run; sys.argv[0] = 'handful'; run()")
    argv = [sys.executable, "-c", code, "serve", "--home", str(tmp_path / "home"), "--port", "0",
            "--runtime", "onnx"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("serve --runtime onnx started without onnx installed")
    assert done.returncode == 2 and "pip install 'handful[onnx]'" in done.stderr, done.stderr


@pytest.mark.parametrize("module, backbone", [
    ("timm", "timm:resnet18"),
    ("open_clip", "open_clip:ViT-B-32/laion2b_s34b_b79k"),
])
def test_hub_package_that_fails_to_import_is_one_line(capsys, tmp_path, monkeypatch, module, backbone):
    # `pip install 'handful[hub]'` beside the Makefile's CPU torch 2.13.0 brings PyPI's torchvision
    # 0.28.0, and `import timm` / `import open_clip` then raise RuntimeError("operator
    # torchvision::nms does not exist"): an 85-line traceback today, as only ImportError is caught
    fake = tmp_path / "site" / module
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, module, raising=False)
    data = make_color_tree(tmp_path / "data", 3, classes=("red", "blue"))
    line = one_error_line(capsys, ["train", str(data), "--out", str(tmp_path / "m"), "--backbone", backbone])
    assert module in line and "torchvision" in line, line  # names what failed and why


@pytest.mark.parametrize("command", ["embed", "predict"])
def test_ray_without_the_ray_extra_writes_no_output(capsys, tmp_path, monkeypatch, command):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if `handful[ray]` were not installed
    data = make_color_tree(tmp_path / "data", 2, classes=("red", "blue"))
    if command == "embed":
        argv = ["embed", str(data), "--out", str(tmp_path / "emb.npy"), "--backbone", "test_tiny_image"]
    else:
        Classifier("test_tiny_image", head="prototype").fit(data).save(tmp_path / "m")
        argv = ["predict", str(tmp_path / "m"), str(data), "--out", str(tmp_path / "preds.csv")]
    line = one_error_line(capsys, [*argv, "--ray"])
    assert "pip install 'handful[ray]'" in line
    # a refused command leaves nothing behind (it left emb.npy, emb.index.csv and emb.meta.json, or
    # preds.csv and preds.csv.json, before the extra was checked first)
    expected = {"data"} if command == "embed" else {"data", "m"}
    assert {p.name for p in tmp_path.iterdir()} == expected
