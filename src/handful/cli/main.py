"""The ``handful`` command: a Typer app; user errors print one line and exit 2."""

from __future__ import annotations

import sys
import warnings

import click
import typer

from ..errors import HandfulError

app = typer.Typer(
    name="handful", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Train an image or text classifier from a handful of labeled examples, offline.",
)


def _register_commands() -> None:
    from . import (  # noqa: F401  (modules register their commands on `app`)
        advise,
        augment,
        core,
        embed,
        episodes,
        export,
        finetune,
        info,
        kshot,
        ladder,
        omniglot,
        predict,
        protonet,
        serve,
        suggest,
        zeroshot,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv``; returns the exit code (0 ok, 2 user error)."""
    _register_commands()
    command = typer.main.get_command(app)
    warnings.simplefilter("default")
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    try:
        command.main(args=argv, prog_name="handful", standalone_mode=False)
    except HandfulError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except click.ClickException as err:
        err.show()
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except click.exceptions.Exit as done:
        return done.exit_code
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
