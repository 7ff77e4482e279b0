"""s24: predict/embed runtime and Ray defects from earlier rounds.

The Ray runs that check what is left on the machine (session folders, processes) run the CLI in a
subprocess with their own RAY_TMPDIR: Ray names a local session after the process that starts it,
and an in-process Ray (test_ray_scale's) would be reused rather than started.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import make_color_tree, one_error_line, run_json
from handful import Classifier


@pytest.mark.parametrize("command", ["predict", "embed"])
def test_address_without_ray_is_refused_by_one_shared_check(capsys, color_tree, tmp_path, command):
    # predict and embed each carried a copy of this refusal; now both call check_ray_options, so
    # the two commands say the same words (and a fix to one cannot miss the other)
    from handful.cli.options import check_ray_options
    from handful.errors import DataError

    with pytest.raises(DataError) as shared:
        check_ray_options(False, "10.0.0.1:6379")
    if command == "predict":
        Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
        argv = ["predict", str(tmp_path / "m"), str(color_tree), "--out", str(tmp_path / "p.csv")]
    else:
        argv = ["embed", str(color_tree), "--backbone", "test_tiny_image", "--out", str(tmp_path / "e.npy")]
    line = one_error_line(capsys, argv + ["--address", "10.0.0.1:6379"])
    assert line == f"error: {shared.value}", "the command's refusal is the shared check's, word for word"
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "e.npy").exists(), "refused before writing"


@pytest.fixture
def exported(color_tree, tmp_path):
    """A model directory with its ONNX export, and a copy of the .onnx file on its own."""
    pytest.importorskip("onnxruntime")
    from handful.export import export_onnx

    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    export_onnx(tmp_path / "m")
    shutil.copy(tmp_path / "m" / "model.onnx", tmp_path / "pets.onnx")
    return tmp_path


@pytest.mark.parametrize("name", ["m/model.onnx", "pets.onnx"])
def test_predict_given_an_onnx_file_runs_it_with_onnx_runtime(capsys, color_tree, exported, name):
    # `handful predict pets.onnx x.jpg` refused ("the torch runtime cannot run it ... Pass --runtime
    # onnx"): a user who points at an .onnx file means the ONNX runtime, and --json says it is used
    result = run_json(capsys, ["predict", str(exported / name), str(color_tree / "red")])
    assert result["runtime"] == "onnx", result
    assert {p["label"] for p in result["predictions"]} == {"red"}, "solid red images are separable"


def test_predict_onnx_file_with_runtime_torch_is_refused_naming_the_fix(capsys, color_tree, exported):
    # an explicit --runtime torch is a contradiction, said in one line with the fix
    line = one_error_line(capsys, ["predict", str(exported / "pets.onnx"), str(color_tree), "--runtime", "torch"])
    assert "pets.onnx" in line and "--runtime onnx" in line, line


def test_a_folder_holding_only_an_onnx_export_names_the_file_to_give(capsys, color_tree, exported):
    # it said "'x' is not a handful model: it has no model.json. Give a directory written by `handful
    # train`", though the folder holds a usable export: the ONNX runtime's message names the file
    (exported / "only").mkdir()
    shutil.copy(exported / "pets.onnx", exported / "only" / "model.onnx")
    line = one_error_line(capsys, ["predict", str(exported / "only"), str(color_tree)])
    assert str(exported / "only" / "model.onnx") in line, line


@pytest.mark.parametrize("model, names", [
    ("nope", ["handful train", "handful finetune", "handful protonet train"]),
    ("nope.onnx", ["ONNX file", "handful export"]),
])
@pytest.mark.parametrize("runtime", [[], ["--runtime", "onnx"]])
def test_a_missing_model_names_what_writes_one(capsys, color_tree, tmp_path, model, names, runtime):
    # "Model 'x.onnx' does not exist. Train one with `handful train`": train writes no .onnx file,
    # and finetune and protonet train write models too
    line = one_error_line(capsys, ["predict", str(tmp_path / model), str(color_tree), *runtime])
    assert "does not exist" in line and all(n in line for n in names), line


@pytest.mark.parametrize("command", ["predict", "embed"])
def test_ray_resume_with_every_row_done_does_not_start_ray(capsys, color_tree, tmp_path, monkeypatch, command):
    # a --ray re-run of a finished output started a local Ray (9 s here, and a /tmp/ray session)
    # before finding nothing to do: with no work left, Ray is not started at all
    pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")
    from handful.scale import ray_data

    def no_ray(*args, **kwargs):
        raise AssertionError("Ray was started for a run with nothing to do")

    if command == "predict":
        Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
        argv = ["predict", str(tmp_path / "m"), str(color_tree), "--out", str(tmp_path / "p.csv")]
    else:
        argv = ["embed", str(color_tree), "--backbone", "test_tiny_image", "--out", str(tmp_path / "e.npy")]
    first = run_json(capsys, argv)
    monkeypatch.setattr(ray_data, "init_ray", no_ray)
    again = run_json(capsys, argv + ["--ray"])
    assert (again["n"], again["n_resumed"], again["ray"]) == (0, first["n"], True), again


def _ray_env(ray_tmp: str) -> dict:
    return dict(os.environ, RAY_ADDRESS="", RAY_TMPDIR=ray_tmp)


def _sessions(ray_tmp: str) -> list[str]:
    root = os.path.join(ray_tmp, "ray")
    return sorted(p for p in os.listdir(root) if p.startswith("session_")) if os.path.isdir(root) else []


def _session_processes(ray_tmp: str) -> list[tuple[int, str]]:
    """(pid, command line) of the processes serving a session under ``ray_tmp`` (GCS, raylet, agents)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if ray_tmp in cmdline and entry.isdigit():
            found.append((int(entry), cmdline[:120]))
    return found


@pytest.fixture
def ray_tmp():
    pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")
    if not os.path.isdir("/proc"):
        pytest.skip("counts Ray's processes through /proc (Linux)")
    path = tempfile.mkdtemp(prefix="s24r", dir="/tmp")  # short: Ray's socket paths must stay < 108 chars
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_local_ray_run_removes_its_session_folder_and_only_its_own(color_tree, tmp_path, ray_tmp):
    # every --ray run left its /tmp/ray/session_<date>_<pid> folder (logs, sockets: ~200 KB) behind
    # after Ray shut down; 217 had piled up on this machine. The one handful started goes; another
    # process's session (here a stand-in, named after pid 1) stays.
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    other = os.path.join(ray_tmp, "ray", "session_2020-01-01_00-00-00_000000_1")
    os.makedirs(other)
    done = subprocess.run([sys.executable, "-m", "handful", "predict", str(tmp_path / "m"), str(color_tree),
                           "--ray", "--json"], capture_output=True, text=True, timeout=120, env=_ray_env(ray_tmp))
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["n"] == 18
    assert _sessions(ray_tmp) == [os.path.basename(other)], "only the session this run started is removed"
    assert not _session_processes(ray_tmp), "Ray is shut down when the command ends"


def test_a_ray_run_terminated_leaves_no_session_processes_or_folder(tmp_path, ray_tmp):
    # SIGTERM while Ray starts or runs: exit 130 (as Ctrl-C), and none of the GCS, raylet or agent
    # processes of the session it started outlive the command, nor does the session's folder
    make_color_tree(tmp_path / "colors", 40)
    child = subprocess.Popen([sys.executable, "-m", "handful", "embed", str(tmp_path / "colors"), "--backbone",
                              "test_tiny_image", "--out", str(tmp_path / "e.npy"), "--ray", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_ray_env(ray_tmp))
    try:
        deadline = time.monotonic() + 60
        while not _sessions(ray_tmp) and time.monotonic() < deadline:
            time.sleep(0.05)  # until ray.init has made its session: Ray is starting up
        time.sleep(0.5)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
        time.sleep(1)  # what Ray's processes do when their parent goes
        left = _session_processes(ray_tmp)
    finally:
        child.kill()
        for pid, _ in _session_processes(ray_tmp):  # never leave a test's Ray running
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    assert child.returncode == 130, f"exit {child.returncode}: {err[-1500:]}"
    assert not left, f"Ray processes outlived the command: {left}"
    assert [s for s in _sessions(ray_tmp) if s != "session_latest"] == [], "its session folder is removed"
