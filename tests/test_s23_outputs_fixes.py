"""s23 output fixes beyond the audit: evaluations of other data with one name, the runtime recorded
beside --out, the --top error, ``predict MODEL -`` (stdin), embed resume of typed texts."""

from __future__ import annotations

import io
import json
import sys

import pytest
from typer.testing import CliRunner

from conftest import make_color_tree, one_error_line, run_json
from handful import Classifier
from handful.cli import main
from handful.scale.writers import drop_partial_last_line


@pytest.fixture
def image_model(tmp_path, color_tree):
    Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    return tmp_path / "m"


def test_evaluating_other_data_of_one_name_keeps_both_reports_and_a_rerun_replaces_its_own(
        tmp_path, image_model, capsys):
    a_val = make_color_tree(tmp_path / "A" / "val", 1)  # 3 images
    b_val = make_color_tree(tmp_path / "B" / "val", 2, seed=1)  # 6 images
    first = run_json(capsys, ["evaluate", str(image_model), str(a_val)])
    second = run_json(capsys, ["evaluate", str(image_model), str(b_val)])
    # both are "val": the second replaced the first's report, losing it silently
    assert first["report"] != second["report"], (first["report"], second["report"])
    reports = {p: json.loads(open(p).read()) for p in (first["report"], second["report"])}
    assert [r["n"] for r in reports.values()] == [3, 6], "each folder holds the report of its own data"
    assert [r["data"] for r in reports.values()] == [str(a_val.resolve()), str(b_val.resolve())]
    assert second["report"].endswith("val-2/report.json"), second["report"]
    again = run_json(capsys, ["evaluate", str(image_model), str(a_val)])
    # the same data again replaces its own report, not a third folder
    assert again["report"] == first["report"]
    assert sorted(p.name for p in (image_model / "evaluations").iterdir()) == ["val", "val-2"]
    main(["evaluate", str(image_model), str(b_val)])
    assert f"Report: {second['report']}" in capsys.readouterr().out.replace("\n", ""), "says where it went"


def test_the_runtime_in_json_and_in_the_record_beside_out_agree(tmp_path, image_model, color_tree, capsys):
    out = tmp_path / "preds.csv"
    result = run_json(capsys, ["predict", str(image_model), str(color_tree / "red"), "--out", str(out)])
    record = json.loads((tmp_path / "preds.csv.json").read_text())
    # the tiny test backbone runs on numpy: "--runtime torch" picked the model directory, not torch
    assert result["runtime"] == record["runtime"] == "numpy", (result["runtime"], record)
    assert record["runtime_option"] == "torch"


def test_a_record_from_before_the_true_runtime_was_kept_still_resumes(tmp_path, image_model, color_tree, capsys):
    out = tmp_path / "preds.csv"
    assert main(["predict", str(image_model), str(color_tree / "red"), "--out", str(out)]) == 0
    record_path = tmp_path / "preds.csv.json"
    record = json.loads(record_path.read_text())
    record.pop("runtime_option")
    record["runtime"] = "torch"  # what an older handful recorded: the option
    record_path.write_text(json.dumps(record))
    result = run_json(capsys, ["predict", str(image_model), str(color_tree), "--out", str(out)])
    # the same model and options: the file is resumed, not refused as made with another runtime
    assert result["n_resumed"] == 6 and result["n"] == 12, result


def test_top_zero_is_refused_naming_what_to_pass(image_model, color_tree, capsys):
    line = one_error_line(capsys, ["predict", str(image_model), str(color_tree), "--top", "0"])
    assert "Got 0" in line and "Pass --top 1" in line, line


def test_predict_dash_reads_one_input_per_line_from_stdin(image_model, color_tree, capsys, monkeypatch):
    paths = sorted(str(p) for p in (color_tree / "blue").iterdir())
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(paths) + "\n\n"))  # a blank line is no input
    result = run_json(capsys, ["predict", str(image_model), "-"])
    # "-" was looked for as a file (an image model) or classified as a text (a text model)
    assert [p["input"] for p in result["predictions"]] == paths
    assert {p["label"] for p in result["predictions"]} == {"blue"}, "solid colors are separable"


@pytest.mark.parametrize(("argv_tail", "stdin", "phrase", "fix"), [
    (["-", "x.jpg"], "", "must be the only input", "Give '-' alone"),
    (["-"], "\n \n", "it was empty", "Pipe in one path or text per line"),
])
def test_predict_dash_with_other_inputs_or_an_empty_stdin_is_refused(image_model, capsys, monkeypatch,
                                                                    argv_tail, stdin, phrase, fix):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    line = one_error_line(capsys, ["predict", str(image_model), *argv_tail])
    assert phrase in line and fix in line, line


def test_predict_help_says_dash_reads_stdin_and_out_is_csv():
    text = " ".join(CliRunner().invoke(__import__("handful.cli.main", fromlist=["app"]).app,
                                       ["predict", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "'-' alone: read them from stdin" in text and ".csv file" in text, text


def test_embed_of_the_same_typed_texts_resumes_them_by_their_text(tmp_path, capsys):
    out = tmp_path / "t.npy"
    argv = ["embed", "hot soup", "fans cheered", "--backbone", "test_tiny_text", "--out", str(out), "--json"]
    run_json(capsys, argv)
    index = out.with_suffix(".index.csv").read_text()
    assert "hot soup" in index and "text 1" not in index, index  # keyed by the text, not its position
    again = run_json(capsys, argv)
    assert again["n_resumed"] == 2 and again["n"] == 0, again


def test_a_torn_last_record_of_an_index_is_dropped_even_after_a_newline_in_its_quotes(tmp_path):
    path = tmp_path / "i.csv"
    whole = b'row,input,error\r\n0,"two\nlines",\r\n'
    path.write_bytes(whole + b'1,"cut\n')
    drop_partial_last_line(path)
    # the last newline is inside row 1's quotes: cutting there kept a half row counted as done
    assert path.read_bytes() == whole
    drop_partial_last_line(path)  # a whole file is left as it is
    assert path.read_bytes() == whole
