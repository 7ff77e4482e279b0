"""--ray as a user sees it: stdout keeps the --json contract, stderr carries no Ray chatter, and
a worker's failure is one error line (a local 2-CPU Ray, started as in test_ray_scale)."""

import json

import pytest

pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")

from handful import Classifier  # noqa: E402
from handful.cli import main  # noqa: E402
from test_ray_scale import local_ray  # noqa: E402, F401 (the module's one local Ray)

# Ray's own lines a handful user has no use for: its progress (logged when not on a terminal),
# its execution plans, and its advice on settings handful chose
RAY_NOTES = ("Total Progress", "Running Dataset", "Starting execution", "Execution plan",
             "Progress will be logged", "Progress bars disabled", "Started a local Ray")


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "out-file"])
def test_ray_predict_keeps_stdout_for_the_result_and_stderr_free_of_ray_notes(
        local_ray, capfd, color_tree, tmp_path, as_json):  # noqa: F811
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    extra = ["--json"] if as_json else ["--out", str(tmp_path / "p.csv")]
    code = main(["predict", str(tmp_path / "m"), str(color_tree), "--ray"] + extra)
    out, err = capfd.readouterr()  # file descriptors: Ray logs from C++ and its own handlers too
    assert code == 0, err
    if as_json:  # the one line on stdout is the result
        assert len(out.splitlines()) == 1 and json.loads(out)["n"] == 18 and json.loads(out)["ray"]
    else:
        # only the one line on familiarity: 18 training images are too few to judge it by (MIN_JUDGED)
        assert out.startswith("Familiarity not judged") and len(out.splitlines()) == 1, out
        assert "Wrote 18 predictions" in err
    assert not [line for line in err.splitlines() if any(note in line for note in RAY_NOTES)], err


def test_ray_worker_error_is_one_error_line_and_the_json_answer(
        local_ray, capfd, color_tree, tmp_path, monkeypatch):  # noqa: F811
    import dataclasses

    from handful.backbones import registry
    from handful.backbones.testing import TinyImageBackbone

    def driver_only() -> TinyImageBackbone:
        net = TinyImageBackbone()
        net.info = dataclasses.replace(net.info, name="test_driver_only")
        return net

    # a plugin installed where the command runs but not on the workers (their processes lack it)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_backbone("test_driver_only", "image", hidden=True)(driver_only)
    code = main(["embed", str(color_tree), "--out", str(tmp_path / "e.npy"), "--backbone",
                 "test_driver_only", "--ray", "--json"])
    out, err = capfd.readouterr()
    assert code == 2, "a worker's error is the user's (a missing plugin), not a crash"
    answer = json.loads(out.splitlines()[-1])
    assert answer["exit_code"] == 2
    assert answer["error"].startswith("On a Ray worker: Unknown backbone 'test_driver_only'")
    assert [line for line in err.splitlines() if line.startswith("error:")] == [f"error: {answer['error']}"]
    assert "Traceback" not in err and "UDF failed" not in err, err
