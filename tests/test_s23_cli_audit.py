"""s23 consistency audit of the whole CLI: each test is an inconsistency a user would hit (fixed since)."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import make_color_tree
from handful.cli import main


def test_handful_cache_with_a_tilde_is_under_the_home_folder_not_a_folder_named_tilde(
        capsys, tmp_path, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    data = make_color_tree(tmp_path / "colors", 2)
    monkeypatch.setenv("HOME", str(home))
    # set with no shell to expand it (a Dockerfile ENV, systemd Environment=, a .env file, os.environ)
    monkeypatch.setenv("HANDFUL_CACHE", "~/handful-cache")
    monkeypatch.chdir(work)
    code = main(["embed", str(data), "--out", str(tmp_path / "e.npy"), "--backbone", "test_tiny_image"])
    assert code == 0, capsys.readouterr().err
    # `serve --home ~/.handful` expands the tilde; the cache variable took it literally and wrote
    # the embeddings into ./~/handful-cache of whatever folder the command ran in
    assert not (work / "~").exists(), sorted(p.name for p in work.iterdir())
    assert (home / "handful-cache").is_dir()


def _interrupted_import(*args, **kwargs):
    """What a Ctrl-C (or SIGTERM, which the CLI turns into one) does when it lands while a lazily
    imported module defines a class with a descriptor (scipy.stats' _survival.Field, met by
    `kshot` at 1.15 s): Python 3.11 wraps the KeyboardInterrupt in a RuntimeError."""
    class Field:
        def __set_name__(self, owner, name):
            raise KeyboardInterrupt

    class EmpiricalDistributionFunction:  # noqa: F841  (its creation is the point)
        _n = Field()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="Python 3.12+ no longer wraps __set_name__ errors")
def test_an_interrupt_during_a_lazy_import_exits_130_with_one_line_and_no_traceback(capsys, monkeypatch):
    from handful.cli import info

    monkeypatch.setattr(info, "describe_backbones", _interrupted_import)
    # seen for real: `handful kshot ... --json` sent SIGTERM at 1.15 s printed scipy's traceback
    # ("RuntimeError: Error calling __set_name__ on 'Field' instance '_n' ...") and exited 1, with
    # no JSON line; every other moment gave "error: interrupted", exit 130
    code = main(["backbones", "--json"])
    captured = capsys.readouterr()
    assert code == 130, captured.err
    assert captured.err.strip() == "error: interrupted", captured.err
    assert json.loads(captured.out.strip().splitlines()[-1]) == {"error": "interrupted", "exit_code": 130}


@pytest.mark.parametrize("variable", ["FORCE_COLOR", "TTY_COMPATIBLE"])
def test_the_progress_bar_stays_out_of_a_piped_stderr_when_colour_is_forced(capsys, tmp_path, monkeypatch,
                                                                             variable):
    data = make_color_tree(tmp_path / "colors", 2)
    # CI systems and tox set FORCE_COLOR=1 for coloured logs; Rich then takes any stream for a
    # terminal, and `handful embed ... 2> log.txt` filled the log with "\r", cursor codes and a
    # redrawn bar per batch. Colour may be forced; a live bar needs a real terminal.
    monkeypatch.setenv(variable, "1")
    code = main(["embed", str(data), "--out", str(tmp_path / "e.npy"), "--backbone", "test_tiny_image"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "\r" not in err and "\x1b[?25l" not in err, repr(err[:200])
