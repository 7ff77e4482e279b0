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
    ("episodes", "--eval-fraction", "between 0 and 1 (exclusive)"),  # 0 and 1 are refused
    ("protonet train", "--eval-fraction", "between 0 and 1 (exclusive)"),
])
def test_help_states_what_the_code_does(command, name, phrase):
    assert phrase in help_of(command, name)


def test_kshot_finetune_help_promises_no_saved_model():
    # kshot scores draws and saves no model; train's help says the tuned encoder is saved
    assert "saved" not in help_of("kshot", "--finetune")
    assert "saved with the model" in help_of("train", "--finetune")


def test_help_lists_commands_in_the_order_of_the_data_path(capsys):
    # they came in the order their modules happened to be imported: advise, augment, zeroshot, train
    from handful.cli.main import ORDER, main

    main(["--help"])
    listed = [line.split()[1] for line in capsys.readouterr().out.splitlines()
              if line.startswith("│ ") and len(line.split()) > 1 and line.split()[1] in ORDER]
    assert listed == list(ORDER)


def test_command_help_has_no_line_breaks_inside_a_paragraph(capsys):
    # the docstrings' own breaks at 100 columns made ragged lines in the 80-column help box
    from handful.cli.main import main

    main(["--help"])  # the command list: the one place typer kept the docstring's breaks
    out = capsys.readouterr().out
    assert "say how many more examples per class" in " ".join(out.split())
    assert not any(line.strip(" │").endswith("how many") for line in out.splitlines())
