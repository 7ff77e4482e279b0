"""s23 fixes found by the lead engineer (not by an audit): the version's single source."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import handful

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_written_once_and_the_package_metadata_reads_it():
    # two literal versions (pyproject + _version.py) drift apart at the first release bump:
    # the build reads the one in _version.py
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, name = attr.rsplit(".", 1)
    assert module == "handful._version" and getattr(handful, name) == handful.__version__
    assert version("handful") == handful.__version__
