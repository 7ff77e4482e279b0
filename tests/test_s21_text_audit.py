"""s21 acceptance audit of the text CLI: what a careful user met that breaks a documented promise.

Each test failed on the code as audited (it was ``xfail(strict=True)`` until fixed).
"""

from __future__ import annotations

import pytest

from conftest import one_error_line, run_json


@pytest.fixture
def text_model(capsys, text_csv, tmp_path):
    run_json(capsys, ["train", str(text_csv), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_text",
                      "--head", "prototype", "--no-advise"])
    return tmp_path / "m"


@pytest.mark.parametrize("command", ["predict", "embed"])
def test_an_empty_table_to_predict_or_embed_asks_for_texts_not_labels(capsys, text_model, tmp_path, command):
    # the fix must fit the command: predict and embed read texts alone (a header-only table already
    # says "Add rows of text below it" to them), but a 0-byte one said "Add rows of text and label."
    empty = tmp_path / "new.csv"
    empty.write_bytes(b"")
    argv = (["predict", str(text_model), str(empty)] if command == "predict"
            else ["embed", str(empty), "--out", str(tmp_path / "e.npy"), "--backbone", "test_tiny_text"])
    line = one_error_line(capsys, argv)
    assert "new.csv" in line and "empty" in line, line  # names the file and the reason
    assert "label" not in line, f"{command} needs no labels, yet the message asks for them: {line}"
