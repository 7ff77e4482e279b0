"""load_examples on a spreadsheet says how to save it as the CSV handful reads."""

import pytest

from handful.cli import main
from handful.data import load_examples
from handful.errors import DataError


@pytest.mark.parametrize("name, kind", [("texts.xlsx", "an Excel workbook"), ("texts.ods", "a LibreOffice")])
def test_load_examples_on_a_spreadsheet_names_it_and_says_save_as_csv_utf8(tmp_path, name, kind):
    path = tmp_path / name
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    # was: "a file with extension '.xlsx'; expected ... .csv/.tsv table", without the way there
    with pytest.raises(DataError, match=f"is {kind}.*Save it as CSV UTF-8 \\(Excel: File > Save As"):
        load_examples(path)


def test_train_cli_on_an_xlsx_prints_the_fix_in_one_line(tmp_path, capsys):
    (tmp_path / "t.xlsx").write_bytes(b"PK\x03\x04")
    assert main(["train", str(tmp_path / "t.xlsx"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Save it as CSV UTF-8" in err[0], err


def test_an_unknown_file_type_still_lists_what_is_read(tmp_path):
    path = tmp_path / "photo.heic"
    path.write_bytes(b"x")
    with pytest.raises(DataError, match=r"extension '\.heic'; expected .*\.csv/\.tsv table \(\.csv\.gz too\)"):
        load_examples(path)
