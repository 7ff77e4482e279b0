"""Help texts say what an option does here: its default, its limits, what it writes."""

from __future__ import annotations

import pytest
import typer

from handful.cli.main import _register_commands, app


def help_of(command_path: str, name: str) -> str:
    """The help text of option (or argument) ``name`` of ``handful COMMAND_PATH``, on one line."""
    _register_commands()
    command = typer.main.get_command(app)
    for part in command_path.split():
        command = command.commands[part]
    param = next(p for p in command.params if name in p.opts or name == p.name)
    return " ".join((param.help or "").split())


@pytest.mark.parametrize("command, name, phrase", [
    # train's auto is a cross-validated search over backbones, not one default backbone
    ("train", "--backbone", "cross-validates"),
    # measured in BENCHMARKS.md: about 30 s for flowers5's 3,005 images (it was 95 s before)
    ("train", "--advise", "half a minute for 3,000"),
    ("kshot", "--test", "test/, else its val/"),  # optional when POOL has the split
    ("protonet train", "--backbone", "conv4_omniglot_gaussian"),  # the default of --variant gaussian
    ("serve", "--token", "8 characters"),  # shorter tokens are refused
    ("serve", "--token", "X-Handful-Token"),
    ("evaluate", "data", "test/"),  # a folder with splits is scored on its test/ (or val/)
    # limits the command checks, so a user can see them before an error
    ("predict", "--top", "1 or more"),
    ("kshot", "--repeats", "1 or more"),
    ("advise", "--repeats", "2 or more"),
    ("suggest", "--n", "1 or more"),
    ("train", "--max-pairs", "1 or more"),
    ("protonet train", "--val-fraction", "0: none"),
])
def test_help_states_what_the_code_does(command, name, phrase):
    assert phrase in help_of(command, name)


def test_kshot_finetune_help_promises_no_saved_model():
    # kshot scores draws and saves no model; train's help says the tuned encoder is saved
    assert "saved" not in help_of("kshot", "--finetune")
    assert "saved with the model" in help_of("train", "--finetune")
