"""With --json, a failure also ends stdout with one JSON object: a script that parses the last
line gets the reason (and the exit code), not an empty output."""

import json

import pytest

from handful.cli import main


def last_json(capsys) -> tuple[dict, str]:
    captured = capsys.readouterr()
    return json.loads(captured.out.strip().splitlines()[-1]), captured.err


@pytest.mark.parametrize("argv", [
    ["predict", "{missing}/model", "{missing}/photo.jpg"],  # a HandfulError (no such model)
    ["evaluate", "{missing}/model", "{missing}/data"],
    ["embed", "{missing}/data", "--out", "{tmp}/e.npy", "--backbone", "test_tiny_image"],
    ["train", "{missing}/data", "--out", "{tmp}/m"],
])
def test_a_user_error_with_json_ends_stdout_with_an_error_object(capsys, tmp_path, argv):
    missing = tmp_path / "nope"
    argv = [a.format(missing=missing, tmp=tmp_path) for a in argv]
    assert main(argv + ["--json"]) == 2
    answer, err = last_json(capsys)
    assert answer["exit_code"] == 2 and str(missing) in answer["error"]
    assert err.startswith("error: ") and answer["error"] in err  # the human line is unchanged


def test_a_usage_error_with_json_is_an_error_object_too(capsys):
    assert main(["train", "--bogus", "--json"]) == 2
    answer, _ = last_json(capsys)
    assert "--bogus" in answer["error"] and answer["exit_code"] == 2


def test_without_json_a_failure_leaves_stdout_empty(capsys, tmp_path):
    assert main(["predict", str(tmp_path / "model"), str(tmp_path / "x.jpg")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ")


def test_json_after_a_double_dash_is_an_argument_not_the_option(capsys, tmp_path):
    # `--` ends the options: a text "--json" given to predict is a text, not a request for JSON
    assert main(["predict", str(tmp_path / "model"), "--", "--json"]) == 2
    assert capsys.readouterr().out == ""
