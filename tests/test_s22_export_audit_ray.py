"""s22 audit of --ray (a local 2-CPU Ray, started as in test_ray_scale): failing tests for what it found."""

import json

import pytest

pytest.importorskip("ray", reason="the ray extra (handful[ray]) is not installed")
pytest.importorskip("onnxruntime")

from handful import Classifier  # noqa: E402
from handful.cli import main  # noqa: E402
from handful.export import export_onnx  # noqa: E402
from test_ray_scale import local_ray  # noqa: E402, F401 (the module's one local Ray)


@pytest.mark.parametrize("runtime", [
    "onnx",  # the model's files go to the actors by reference (iter_ray_results), so no big constructor args
    "torch",
])
def test_ray_predict_stderr_has_no_ray_core_error_line(local_ray, capfd, color_tree, tmp_path, runtime):  # noqa: F811
    # `handful predict m_tiny colors --out p.csv --runtime onnx --ray --json` printed, on a run that
    # succeeded: "[... E 18187 18187] core_worker.cc:2465: Actor with class name:
    # 'MapWorker(MapBatches(_Worker))' ... has constructor arguments in the object store and
    # max_restarts > 0 ...": an error-level line from Ray's C++ core about the model bytes handful
    # passes to the actors, which the user can neither act on nor tell from a real failure.
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    export_onnx(tmp_path / "m")
    code = main(["predict", str(tmp_path / "m"), str(color_tree), "--runtime", runtime, "--ray", "--json"])
    out, err = capfd.readouterr()  # file descriptors: the line comes from Ray's C++ logger
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["n"] == 18
    assert "core_worker" not in err and " E " not in err, err
