"""The ``handful`` command: a Typer app; user errors print one line and exit 2."""

from __future__ import annotations

import os
import re
import signal
import sys
import warnings
from contextlib import contextmanager
from typing import Annotated

import click
import typer

from ..errors import HandfulError

# `handful --help` lists the commands in the order of the data path, not of their modules' imports
ORDER = ("train", "predict", "evaluate", "advise", "suggest", "zeroshot", "kshot", "augment", "finetune",
         "ladder", "embed", "export", "serve", "episodes", "protonet", "omniglot-runs", "backbones")


class _Commands(typer.core.TyperGroup):
    def list_commands(self, ctx) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


app = typer.Typer(
    name="handful", cls=_Commands, no_args_is_help=True, add_completion=False,
    pretty_exceptions_enable=False,
    help="Train an image or text classifier from a handful of labeled examples, offline.",
)


def _print_version(ctx: typer.Context, value: bool) -> bool:
    _version_flag(ctx, "version", value)
    return value  # a callback's answer is the option's value


def _version_as_json(ctx: typer.Context, value: bool) -> bool:
    _version_flag(ctx, "json", value)
    return value


def _version_flag(ctx: typer.Context, name: str, value: bool) -> None:
    """Print the version and exit once both eager flags are read, in either order: click calls each
    eager option's callback (given or not) before anything else, in the order they were typed, so
    the second call sees both (``--version --json`` and ``--json --version`` alike)."""
    flags = ctx.meta.setdefault("handful.version_flags", {})
    flags[name] = value
    if len(flags) < 2 or not flags["version"]:
        return
    from .._version import __version__

    if flags["json"]:
        import json

        print(json.dumps({"version": __version__}))
    else:
        print(f"handful {__version__}")
    raise typer.Exit()


VersionOpt = Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print handful's version and exit.")]
VersionJsonOpt = Annotated[bool, typer.Option(
    "--json", callback=_version_as_json, is_eager=True,
    help='With --version: print {"version": ...} as one JSON line. Other commands take --json after '
         "their name.")]


@app.callback()
def _options(ctx: typer.Context, version: VersionOpt = False, as_json: VersionJsonOpt = False) -> None:
    """Train an image or text classifier from a handful of labeled examples, offline."""
    if as_json:  # `handful --json train ...`: train's own --json was not given, and its output is not JSON
        raise click.UsageError(f"--json goes after the command: `handful {ctx.invoked_subcommand or 'COMMAND'} "
                               "... --json`.")


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


def _click_modules() -> list:
    """click's exception modules: click's own and, in typer >= 0.29, the copy typer ships."""
    modules = [click.exceptions]
    try:
        from typer._click import exceptions as vendored
    except ImportError:
        return modules
    return [*modules, vendored]


USAGE_ERRORS = tuple(m.ClickException for m in _click_modules())
HELP_REQUESTS = tuple(m.NoArgsIsHelpError for m in _click_modules() if hasattr(m, "NoArgsIsHelpError"))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv``; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    _register_commands()
    command = typer.main.get_command(app)
    _unwrap_help(command)
    with _terminate_as_interrupt():
        return _run(command, argv)


def _unwrap_help(group) -> None:
    """Join the lines of each paragraph of the commands' help (docstrings wrap at 100 columns; the
    help box re-wraps to the terminal, and the docstring's own breaks made ragged lines)."""
    for command in getattr(group, "commands", {}).values():
        if command.help:
            command.help = re.sub(r"(?<=\S)[ \t]*\n[ \t]*(?=\S)", " ", command.help)
        _unwrap_help(command)


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM (``kill``, ``timeout``, a container stopping) ends a command as Ctrl-C does: the
    temporary folders of unfinished outputs are removed (the default handler exits on the spot
    and leaves them), and the exit code is 130. The previous handler is restored afterwards."""
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextmanager
def _each_warning_once():
    """Show each warning (its category and text) once per command run, wherever it comes from: the
    ladder fits two feature rungs, and said "N image(s) ... are byte-identical copies" twice. (The
    "once" filter cannot do it: its record is cleared whenever a library changes the filters.)"""
    shown: set[tuple[type, str]] = set()
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        key = (category, str(message))
        if key not in shown:
            shown.add(key)
            previous(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def _run(command, argv: list[str] | None) -> int:
    with _each_warning_once():
        return _run_command(command, argv)


def _set_warning_filters() -> None:
    """Show each warning ("default"), but behind the targeted "ignore" filters set already: those a
    module sets at import for its known noise (export.onnx's exporter notes), or the user's
    ``-W``/``PYTHONWARNINGS``. ``simplefilter`` goes in front of every filter, and an import runs once
    per process: noise filtered by a module imported before the command (or by an earlier command of
    the process: tests, a notebook) showed."""
    targeted = [f for f in warnings.filters if f[0] == "ignore" and (f[1] is not None or f[3] is not None)]
    warnings.simplefilter("default")
    # PIL's notes on odd but usable files (corrupt EXIF, palette transparency) are noise here:
    # such files decode. Set once for the process, as decoding threads cannot set it safely.
    warnings.filterwarnings("ignore", module=r"PIL\.")
    # a file or socket the garbage collector closes is a note for developers (Python hides it by
    # default); shown, "warning: unclosed <socket ...>" stood above a command's one error line
    warnings.filterwarnings("ignore", category=ResourceWarning)
    for action, message, category, module, lineno in reversed(targeted):  # back in front, same order
        warnings.filterwarnings(action, getattr(message, "pattern", message or ""), category,
                                getattr(module, "pattern", module or ""), lineno)


def _run_command(command, argv: list[str] | None) -> int:
    _set_warning_filters()
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    fail = _Failure(_wants_json(sys.argv[1:] if argv is None else argv))
    try:
        code = command.main(args=argv, prog_name="handful", standalone_mode=False)
    except HandfulError as err:
        return fail(str(err), 2)
    except (click.exceptions.Abort, typer.Abort) as err:
        if isinstance(err.__cause__, EOFError):  # click's reading of any EOFError, as if Ctrl-D
            return fail(_ended_early(err.__cause__), 2)
        return fail("aborted", 130)
    except HELP_REQUESTS as err:  # `handful` alone, or a group without its command: the help
        err.show()
        return 2
    except USAGE_ERRORS as err:
        return _usage_error(err, fail)
    except OSError as err:  # an --out that is a folder, a file, unwritable, too long a name ...
        return fail(f"cannot use {_where(err.filename)}: {err.strerror or err}. Check the path and its "
                    "permissions, or choose another.", 2)
    except KeyboardInterrupt:
        code = 130
    except RuntimeError as err:
        if not _interrupted(err):
            raise
        code = 130
    except (click.exceptions.Exit, typer.Exit) as done:
        code = done.exit_code
    if code == 130:  # typer turns Ctrl-C into an exit code of 130 and returns it
        return fail("interrupted", 130)
    return code if isinstance(code, int) else 0


def _interrupted(err: BaseException) -> bool:
    """A Ctrl-C (or SIGTERM) that Python wrapped on its way out: one landing in a lazy import is
    re-raised as "RuntimeError: Error calling __set_name__ ..." (Python 3.11) with it as the cause."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def _ended_early(err: EOFError) -> str:
    """The one line for an EOFError from the command's own work (a file cut short), which click
    passes on as Abort: it said "aborted", exit 130, as for a Ctrl-C."""
    return (f"a file ended before its data did ({err or 'EOFError'}): it is empty or cut short (a full "
            "disk, a power loss, a bad copy). Check or replace the files this command reads.")


def _wants_json(args: list[str]) -> bool:
    """``--json`` among the options (before a ``--`` that ends them)."""
    args = list(args)
    return "--json" in (args[:args.index("--")] if "--" in args else args)


class _Failure:
    """Say a failure: ``error: ...`` on stderr, and with ``--json`` also one JSON object as the last
    stdout line (``{"error": ..., "exit_code": ...}``), so a script reading stdout gets an answer
    on failure too, not an empty output."""

    def __init__(self, as_json: bool):
        self.as_json = as_json

    def __call__(self, message: str, code: int) -> int:
        print(f"error: {message}", file=sys.stderr)
        if self.as_json:
            import json

            print(json.dumps({"error": message, "exit_code": code}), flush=True)
        return code


def _where(filename) -> str:
    """The path to name: the folder of a temporary file (``.model.tmp-x1y2``, written there before
    it is renamed into place), which the user never named."""
    if not filename:
        return "a file"
    path = os.fsdecode(filename)
    name = os.path.basename(path.rstrip("/"))
    if name.startswith(".") and ".tmp-" in name:
        return f"the folder '{os.path.dirname(path.rstrip('/')) or '.'}'"
    return f"'{path}'"


def _usage_error(err, fail: _Failure) -> int:
    """One line: what was wrong and where the help is (click's default takes four)."""
    ctx = getattr(err, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return fail(f"{err.format_message()}{where}", getattr(err, "exit_code", 2) or 2)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
