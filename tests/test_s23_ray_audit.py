"""s23 acceptance audit of --ray (``predict``/``embed``): failing tests for what it found.

The in-process tests share test_ray_scale's one local 2-CPU Ray; the unreachable-address test runs
the CLI in a subprocess, because an in-process Ray already started would be reused whatever the address.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings

import pytest

from conftest import make_color_tree, one_error_line
from handful import Classifier
from handful.cli import main


def test_embed_refuses_address_without_ray_as_predict_does(capsys, color_tree, tmp_path):
    # `handful embed colors --out e.npy --address 10.0.0.1:6379` ran locally and exited 0: the
    # cluster address the user gave was silently ignored (predict refuses the same options with
    # "--address names the Ray cluster for --ray, which is not given ...").
    line = one_error_line(capsys, ["embed", str(color_tree), "--backbone", "test_tiny_image", "--out",
                                   str(tmp_path / "e.npy"), "--address", "10.0.0.1:6379"])
    assert "--address" in line and "10.0.0.1:6379" in line and "--ray" in line, line
    assert not (tmp_path / "e.npy").exists(), "refused before any output is written"


@pytest.mark.parametrize("command", ["embed", "predict"])
def test_ray_run_shows_no_ray_deprecation_warning(color_tree, tmp_path, command, request):
    # every `--ray` run printed "warning: `ray_remote_args` is deprecated and will be removed in
    # Ray 2.64. Use the named remote parameters instead." on stderr: handful passes max_restarts
    # through map_batches' **ray_remote_args; the user can neither act on it nor turn it off.
    pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")
    request.getfixturevalue("local_ray")
    if command == "embed":
        argv = ["embed", str(color_tree), "--backbone", "test_tiny_image", "--out", str(tmp_path / "e.npy")]
    else:
        Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
        argv = ["predict", str(tmp_path / "m"), str(color_tree)]
    with warnings.catch_warnings(record=True) as shown:  # what main() shows ends up here
        code = main(argv + ["--ray", "--json"])
    assert code == 0
    notes = [str(w.message) for w in shown if "ray_remote_args" in str(w.message)]
    assert not notes, f"Ray's deprecation note reaches the user: {notes}"


@pytest.fixture(scope="module")
def local_ray():
    """test_ray_scale's one local Ray (imported lazily: that module skips without the extra)."""
    ray = pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_with_unreachable_address_fails_fast_in_one_line(color_tree, tmp_path):
    # `handful predict m colors --ray --address 127.0.0.1:1 --json` printed Ray's C++ lines
    # "Failed to connect to GCS at address 192.0.2.2:1 within 5 seconds" every ~40 s and was
    # still running after 150 s (killed by `timeout`): no error line, no JSON answer, exit 124.
    pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    env = dict(os.environ, RAY_ADDRESS="")
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "handful", "predict", str(tmp_path / "m"), str(color_tree),
                               "--ray", "--address", "127.0.0.1:1", "--json"],
                              capture_output=True, text=True, timeout=30, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still waiting for the unreachable Ray address after {time.perf_counter() - started:.0f} s")
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "127.0.0.1:1" in errors[0], done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["exit_code"] == 2


def test_ray_run_terminated_exits_130_in_one_line_as_ctrl_c_does(tmp_path):
    # `handful embed big --ray --json` sent SIGTERM 10 s in (Ray's actors starting) died with exit
    # 134 (abort) and Ray's C++ "*** SIGTERM received at time=... PC: @ ... clock_nanosleep" dump on
    # stderr: ray.init put its own handler over the one main() sets (SIGTERM ends a command as
    # Ctrl-C does: exit 130, "error: interrupted"). Sent 1.5 s after Ray's session appears, it exits
    # 15 with nothing on stderr (Ray's driver handler calls sys.exit(15)). Ctrl-C itself gives 130.
    pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")
    make_color_tree(tmp_path / "colors", 40)
    ray_tmp = tempfile.mkdtemp(prefix="s23r", dir="/tmp")  # short: Ray's socket paths must stay < 108 chars
    env = dict(os.environ, RAY_ADDRESS="", RAY_TMPDIR=ray_tmp)
    child = subprocess.Popen([sys.executable, "-m", "handful", "embed", str(tmp_path / "colors"), "--backbone",
                              "test_tiny_image", "--out", str(tmp_path / "e.npy"), "--ray", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        sessions = os.path.join(ray_tmp, "ray")
        while not (os.path.isdir(sessions) and any(p.startswith("session_2") for p in os.listdir(sessions))) \
                and time.monotonic() < deadline:
            time.sleep(0.2)  # until ray.init has made its session: Ray is starting up
        time.sleep(1.5)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert child.returncode == 130, f"exit {child.returncode}: {err[-1500:]}"
    assert [line for line in err.splitlines() if line.startswith("error:")] == ["error: interrupted"], err[-1500:]
    assert "SIGTERM received" not in err and "Traceback" not in err, err[-1500:]
    assert json.loads(out.strip().splitlines()[-1])["exit_code"] == 130
