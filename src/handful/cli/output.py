"""Console output: human text to stderr/stdout, one JSON object as the last stdout line."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..errors import DataError
from ..jsontext import json_text


class Output:
    """Where a command writes: ``--json`` keeps stdout for the final JSON line only."""

    def __init__(self, as_json: bool = False, stdout_taken: bool = False):
        self.as_json = as_json
        self.stdout_taken = as_json or stdout_taken
        # markup off: paths, class names and reprs print as written ("[draft]/a.jpg" and
        # "Augment([hflip])" are not style tags); soft_wrap: no newline inside a long path
        self.err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
        self.out = Console(highlight=False, markup=False, soft_wrap=True)

    @property
    def human(self) -> Console:
        """Console for human-readable text (stderr under --json, so stdout stays clean)."""
        return self.err if self.stdout_taken else self.out

    @property
    def live(self) -> bool:
        """Whether a live progress bar may be drawn: not under --json, and stderr is a terminal
        (the stream itself: FORCE_COLOR or TTY_COMPATIBLE make Rich call any stream a terminal,
        and a bar's redraws would fill a piped log)."""
        try:
            tty = self.err.file.isatty()
        except (AttributeError, ValueError, OSError):
            tty = False
        return not self.stdout_taken and tty and self.err.is_terminal

    def print(self, *args, **kwargs) -> None:
        self.human.print(*args, **kwargs)

    def table(self, title: str, columns: list[str], rows: list[list]) -> None:
        table = Table(title=title, title_justify="left")
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*[str(c) for c in row])
        self.human.print(table)

    def result(self, payload: dict) -> None:
        """Print the final JSON object (only with --json)."""
        if self.as_json:
            sys.stdout.write(json_text(payload, default=_default) + "\n")
            sys.stdout.flush()

    @contextmanager
    def progress(self, description: str, total: int):
        """A Rich progress bar on stderr; silent with --json or when stderr is not a TTY.

        Yields a callback ``advance(n)``.
        """
        if not self.live or total == 0:
            yield lambda n: None
            return
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=self.err, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)

    @contextmanager
    def fit_progress(self, description: str, before: Callable[[], None] | None = None,
                     ) -> Iterator[Callable[[int, int, str], None]]:
        """A ``progress`` bar over the fits of a model search, started at the first fit (the
        search tells its total then), so nothing shows when nothing is cross-validated.

        Yields an ``on_fit(done, total, label)`` (``handful.select.FitProgress``). ``before`` runs
        once, just before the bar starts: it ends the bar shown until then (Rich shows one at a time).
        """
        with ExitStack() as stack:
            advance: Callable[[int], None] | None = None
            shown = 0

            def on_fit(done: int, total: int, label: str) -> None:
                nonlocal advance, shown
                if advance is None:
                    if before is not None:
                        before()
                    advance = stack.enter_context(self.progress(description, total))
                advance(done - shown)
                shown = done

            yield on_fit


def json_with(key: str):
    """A test for ``check_replaceable``: the file is a JSON object holding ``key`` (ours)."""
    def ours(path: Path) -> bool:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(doc, dict) and key in doc
    return ours


def starts_with(prefix: bytes):
    """A test for ``check_replaceable``: the file starts with ``prefix`` (a header handful writes)."""
    def ours(path: Path) -> bool:
        with open(path, "rb") as f:
            return f.read(len(prefix)) == prefix
    return ours


def check_file_path(path: Path) -> Path:
    """``path``, if a file can be written there: it is not a folder, and no folder above it is a file."""
    path = Path(path)
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise DataError(f"Cannot write '{path}': '{blocker}' is a file, not a folder. Choose another --out.")
    if path.is_dir():
        raise DataError(f"Cannot write '{path}': it is a folder. Give a file name for --out.")
    return path


def read_stdin_inputs(inputs: list[str]) -> list[str]:
    """``inputs``, or when they are ``-`` alone the lines of stdin (one path or text each; blank lines
    are no input), as ``ls *.jpg | handful predict MODEL -`` gives them."""
    if "-" not in inputs:
        return inputs
    if len(inputs) > 1:
        raise DataError(f"'-' reads the inputs from stdin, so it must be the only input; got it among {len(inputs)} "
                        "inputs. Give '-' alone (and pipe the rest in), or drop it.")
    if sys.stdin is None or sys.stdin.isatty():
        raise DataError("'-' reads the inputs from stdin (one path or text per line), but stdin is a terminal. "
                        "Pipe them in (e.g. `ls *.jpg | handful predict MODEL -`), or give them as arguments.")
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not lines:
        raise DataError("'-' read no inputs from stdin: it was empty. Pipe in one path or text per line.")
    return lines


def check_replaceable(path: Path, ours) -> Path:
    """``path``, if writing it loses nothing of the user's: it does not exist, or it is a file that
    handful wrote (``ours(path)``), and no part of it is a file where a folder must be. Called
    before the work, so a refusal costs nothing; nothing the user made is overwritten."""
    path = check_file_path(path)
    if path.exists() and path.stat().st_size and not ours(path):
        from ..scale.writers import foreign_file_refusal  # on refusal only: scale loads torch

        raise DataError(foreign_file_refusal(path))
    return path


def check_folder_replaceable(folder: Path, main: str, ours, others: dict[str, object],
                             inputs: tuple[Path | None, ...] = ()) -> Path:
    """``folder``, if writing its ``main`` file (``ours`` tells handful's own) and the ``others``
    (name -> such a test; ``png`` for a picture) loses nothing of the user's, and the folder is not
    inside one of the ``inputs`` folders (its pictures would be read as data next time). When
    ``main`` is already handful's, the folder is one handful wrote and its other files are taken as
    handful's too (pictures from before they were tagged)."""
    from ..bundle.store import is_inside
    from ..evaluate.png import written_by_handful
    folder = Path(folder)
    inside = next((d for d in inputs if d is not None and Path(d).is_dir() and is_inside(folder, d)), None)
    if inside is not None:
        raise DataError(f"Output '{folder}' is inside the data folder '{inside}'; its files would be "
                        "read as examples next time. Choose an --out outside it.")
    main_path = check_replaceable(folder / main, ours)
    folder_is_ours = main_path.is_file() and main_path.stat().st_size > 0
    for name, test in others.items():
        test = written_by_handful if test == "png" else test
        check_replaceable(folder / name, lambda path, test=test: folder_is_ours or test(path))
    return folder


def write_folder_files(folder: Path, write: Callable[[Path], None], main: str,
                       stale: Iterable[str] = ()) -> Path:
    """Write an output folder's files with ``write(tmp)`` in a temporary folder beside it, then move
    them in: a new folder arrives in one rename; into an existing one each file moves in one rename
    (``main`` last), so a file there is the old one or the new one, never half of either. Ctrl-C
    before then leaves the folder as it was. Then each ``stale`` name this run did not write is
    removed where it is a picture handful wrote (tagged): no result of an earlier run stays beside
    the new ones. Other files in the folder (the user's) are left as they are. Call
    ``check_folder_replaceable`` first."""
    import shutil
    import tempfile

    from ..bundle.store import chmod_like_new
    from ..evaluate.png import written_by_handful
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name[:40]}.tmp-", dir=folder.parent))  # fits 255 bytes
    try:
        write(tmp)
        for path in [tmp, *tmp.iterdir()]:
            chmod_like_new(path)  # mkdtemp makes 0700
        if not folder.exists():
            os.replace(tmp, folder)
            return folder
        names = sorted((p.name for p in tmp.iterdir()), key=lambda name: name == main)
        for name in names:
            os.replace(tmp / name, folder / name)
        for name in set(stale) - set(names):
            if written_by_handful(folder / name):
                (folder / name).unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when the folder was new
    return folder


def write_text_file(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file beside it and one rename: Ctrl-C
    or an error midway leaves the old file (or none), never half of one. Call ``check_replaceable``
    first."""
    import tempfile

    from ..bundle.store import chmod_like_new
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.tmp-")  # fits 255 bytes
    tmp = Path(name)
    try:
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        chmod_like_new(tmp)  # mkstemp makes 0600
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone already once renamed
    return path


def _default(value) -> str:
    """Anything else in a --json result (a Path, a config object) as its text."""
    return str(value)


def pct(value: float | None) -> str:
    """"93.3%"; a share strictly between 0 and 1 gets the decimals it needs not to read as 0%
    or 100% (1,999 right of 2,000 is "99.95%", not "100.0%")."""
    if value is None:
        return "-"
    for decimals in range(1, 6):
        shown = f"{100 * value:.{decimals}f}"
        if not 0 < value < 1 or 0 < float(shown) < 100:
            return f"{shown}%"
    return "<0.00001%" if value < 0.5 else ">99.99999%"


def plural(n: int, noun: str, many: str | None = None) -> str:
    """The count with its noun, singular only for 1: ``plural(1, "class")`` is "1 class",
    ``plural(3, "class")`` "3 classes", ``plural(2, "query", "queries")`` "2 queries"."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {many or (noun + 'es' if noun.endswith(('s', 'x', 'ch', 'sh')) else noun + 's')}"
