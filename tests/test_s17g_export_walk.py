"""Export / ONNX / streaming predict walked as a new user: odd inputs get one clear line each."""

import json
import shutil
import warnings

import pytest

pytest.importorskip("onnxruntime")

from handful import Classifier  # noqa: E402
from handful.cli import main  # noqa: E402
from handful.errors import BundleError  # noqa: E402
from handful.export import export_onnx, load_predictor  # noqa: E402


@pytest.fixture
def exported(color_tree, tmp_path):
    """A tiny model folder with its default export (model/model.onnx)."""
    model = tmp_path / "m"
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(model)
    export_onnx(model)
    return model


def error_of(capsys, argv) -> str:
    """The one-line error of a command that must fail with exit 2 (its --json last line)."""
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 2, captured.out[-500:]
    return json.loads(captured.out.strip().splitlines()[-1])["error"]


def test_an_onnx_file_with_the_default_runtime_runs_on_onnx_runtime(capsys, exported, color_tree, tmp_path):
    alone = tmp_path / "elsewhere" / "pets.onnx"  # an export moved to a folder of its own
    alone.parent.mkdir()
    shutil.copy(exported / "model.onnx", alone)
    code = main(["predict", str(alone), str(color_tree / "red"), "--json"])
    captured = capsys.readouterr()
    # it once said "'pets.onnx' is not a handful model: it has no model.json", a fix the user cannot
    # follow; then it asked for --runtime onnx; since session 24 an .onnx file means ONNX Runtime
    assert code == 0, captured.out[-500:]
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["runtime"].startswith("onnx"), result["runtime"]
    assert result["n"] == len(list((color_tree / "red").iterdir())) and "model.json" not in captured.err


@pytest.mark.parametrize("keep, missing", [
    (["model.json", "model.onnx"], "no head.safetensors"),
    (["model.onnx"], "no model.json or head.safetensors"),
])
def test_a_partial_copy_of_a_model_folder_names_what_is_missing(exported, tmp_path, keep, missing):
    partial = tmp_path / "copy"
    partial.mkdir()
    for name in keep:
        shutil.copy(exported / name, partial / name)
    # it was a bare FileNotFoundError of head.safetensors: the export itself is usable on its own
    with pytest.raises(BundleError, match=missing) as err:
        load_predictor(partial, runtime="onnx")
    assert str(partial / "model.onnx") in str(err.value), "the fix: give the .onnx file itself"


def test_a_damaged_export_in_a_model_folder_names_that_folder_in_the_fix(exported):
    onnx_file = exported / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:5000])  # copied while it was written
    with pytest.raises(BundleError, match="cannot be loaded") as err:
        load_predictor(exported, runtime="onnx")
    # the command to run was `handful export MODEL`, with a placeholder where the folder is known
    assert f"handful export {exported} --format onnx" in str(err.value)


def test_export_to_a_file_not_ending_in_onnx_is_refused_before_writing(capsys, exported, tmp_path):
    out = tmp_path / "pets.txt"
    message = error_of(capsys, ["export", str(exported), "--out", str(out)])
    # `predict pets.txt` would look for pets.txt/model.onnx: the export could not be used by name
    assert ".onnx" in message and "pets.onnx" in message, message
    assert not out.exists() and not list(tmp_path.glob(".pets.txt*"))


@pytest.mark.parametrize("folder", ["preds.csv.json", "preds.csv.skipped.csv"])
def test_a_folder_where_predict_writes_beside_out_is_named_in_the_error(capsys, exported, color_tree,
                                                                        tmp_path, folder):
    out_dir = tmp_path / "out"
    (out_dir / folder).mkdir(parents=True)
    message = error_of(capsys, ["predict", str(exported), str(color_tree / "red"),
                                "--out", str(out_dir / "preds.csv")])
    # it said "cannot use the folder '.../out'", naming the parent instead of the folder in the way
    assert f"'{out_dir / folder}'" in message and "is a folder" in message, message
    assert not (out_dir / "preds.csv").exists(), "refused before any row was written"


def test_ray_data_notes_on_its_own_deprecated_settings_are_not_shown():
    pytest.importorskip("ray.data")
    from handful.scale.ray_data import _ray

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # as the CLI shows every warning ("default")
        ray = _ray()
        ray.data.DataContext()  # what each --ray command builds; it set every deprecated field
    notes = [str(w.message) for w in caught if "deprecated" in str(w.message)]
    # the CLI printed them as "warning: `use_polars` is deprecated ...": nothing a user can change
    assert notes == [], notes


def test_export_says_what_its_difference_from_the_default_path_means(capsys, exported, monkeypatch):
    import handful.export.onnx as onnx_module

    parity = onnx_module._parity

    def on_a_bfloat16_cpu(*args):  # the tiny backbone runs float32 only: give the bf16 gap of a real CPU
        return {**parity(*args), "max_abs_diff_vs_default": 0.0388}

    monkeypatch.setattr(onnx_module, "_parity", on_a_bfloat16_cpu)
    assert main(["export", str(exported)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "3.88e-02" in x)
    # it read "(vs handful's default bfloat16 path on this CPU: 3.88e-02)": neither what differs nor
    # that it is what `predict` gives by default, so ONNX vs torch answers 4 points apart looked like a bug
    assert "probabilities" in line and "--runtime torch" in line, line
