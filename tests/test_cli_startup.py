"""The CLI starts without torch or scikit-learn: help and usage errors answer at once.

Every command module is imported by ``handful --help``; one heavy import at the top of any of
them costs every invocation about 2-4 s on a small CPU (torch 1.1 s, scikit-learn 0.9 s).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "scipy", "onnxruntime", "matplotlib")

PROBE = """
import json, sys
from handful.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))


def _probe(*argv: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                          timeout=120, check=False)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _commands() -> list[str]:
    import typer

    from handful.cli.main import _register_commands, app

    _register_commands()
    return sorted(typer.main.get_command(app).commands)


def test_help_loads_no_heavy_module():
    result = _probe("--help")
    assert result == {"code": 0, "loaded": []}


@pytest.mark.parametrize("command", _commands())
def test_each_commands_help_loads_no_heavy_module(command):
    # `protonet` is a group: its --help lists subcommands; the others show their options
    result = _probe(command, "--help")
    assert result["loaded"] == [], f"`handful {command} --help` imported {result['loaded']}"


def test_a_usage_error_loads_no_heavy_module():
    result = _probe("train", "somewhere", "--no-such-option")
    assert result == {"code": 2, "loaded": []}


def test_constants_spelled_out_for_the_help_match_the_library():
    from handful.cli.ladder import RUNGS as cli_rungs
    from handful.cli.predict import RUNTIMES as cli_runtimes
    from handful.export.runtime import RUNTIMES
    from handful.finetune.ladder import RUNGS

    assert cli_runtimes == RUNTIMES and cli_rungs == RUNGS


def test_import_handful_is_light_and_its_names_still_work():
    code = ("import sys, handful; loaded = 'torch' in sys.modules or 'sklearn' in sys.modules; "
            "from handful import Classifier, load, create_backbone, list_backbones, HandfulError; "
            "from handful.errors import NotFittedError; from sklearn.exceptions import NotFittedError as S; "
            "assert issubclass(NotFittedError, S) and issubclass(NotFittedError, HandfulError); "
            "assert 'Classifier' in dir(handful) and callable(load); print(loaded)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "False"
