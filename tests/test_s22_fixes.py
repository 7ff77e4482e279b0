"""s22 fixes found beside the audits."""

from __future__ import annotations

from handful.cli import main


def test_kshot_on_a_missing_folder_says_it_is_missing_not_that_it_needs_test(capsys, tmp_path):
    # "kshot needs --test TEST unless X has train/ ..." sent the user after a flag when the
    # folder's name was mistyped
    assert main(["kshot", str(tmp_path / "nope"), "--shots", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0] and "nope" in err[0], err
