"""Every Python snippet of README.md and docs/ runs as written, on tiny data and test backbones.

A bare expression with a Python literal in its trailing comment (``clf.predict(x)   # ['cats']``)
must give that value, as a doctest would.
"""

import ast
import re
from pathlib import Path

import pytest

from conftest import COLORS, make_color_image
from handful import Classifier
from handful.select.models import AUTO_BACKBONES

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_snippets() -> list[tuple[str, str]]:
    """(``file:line``, code) of each ```python block."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
            found.append((f"{doc.name}:{text[:match.start()].count(chr(10)) + 1}", match.group(1)))
    return found


def expected_value(line: str):
    """The literal in ``line``'s trailing comment, or a marker that there is none."""
    comment = line.partition("#")[2].strip()
    try:
        return ast.literal_eval(comment)
    except (SyntaxError, ValueError):
        return NOTHING


NOTHING = object()


def run_snippet(code: str) -> int:
    """Execute ``code`` statement by statement, checking the commented results; returns how many."""
    namespace: dict = {}
    lines, checked = code.splitlines(), 0
    for statement in ast.parse(code).body:
        source = compile(ast.Module([statement], []), "<snippet>", "exec")
        expected = expected_value(lines[statement.end_lineno - 1]) if isinstance(statement, ast.Expr) \
            else NOTHING
        if expected is NOTHING:
            exec(source, namespace)
            continue
        value = eval(compile(ast.Expression(statement.value), "<snippet>", "eval"), namespace)
        assert value == expected, ast.unparse(statement)
        checked += 1
    return checked


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """What the snippets name, in the current folder: photos/{cats,dogs}, new.jpg, a few-shot model
    at models/glyphs with support/ and queries/; and `auto` searching the tiny test backbones."""
    for label, color in (("cats", "red"), ("dogs", "blue")):
        for i in range(4):
            make_color_image(tmp_path / "photos" / label / f"{label}_{i}.png", COLORS[color], 10 * i + len(label))
    make_color_image(tmp_path / "new.jpg", COLORS["red"], 99)
    for i, color in enumerate(("red", "green", "blue")):
        make_color_image(tmp_path / "support" / color / "0.png", COLORS[color], 200 + i)
    make_color_image(tmp_path / "queries" / "a.png", COLORS["green"], 300)
    make_color_image(tmp_path / "queries" / "b.png", COLORS["blue"], 301)
    with pytest.warns(UserWarning, match="single example"):  # a support set: one per class
        Classifier("test_tiny_image", head="prototype", head_params={"metric": "euclidean"}).fit(
            tmp_path / "support").save(tmp_path / "models" / "glyphs")
    monkeypatch.setitem(AUTO_BACKBONES, "image", ("test_tiny_image",))
    monkeypatch.setitem(AUTO_BACKBONES, "text", ("test_tiny_text",))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_docs_have_python_snippets_to_run():
    assert len(python_snippets()) >= 3  # the quick start, lists, the few-shot workflow


@pytest.mark.parametrize("where, code", python_snippets(), ids=[w for w, _ in python_snippets()])
def test_python_snippet_runs_as_written(where, code, workspace, capsys):
    run_snippet(code)
    if "fit_support" in code:  # the few-shot snippet prints its predictions
        assert capsys.readouterr().out.strip() == "['green', 'blue']"
    if 'save("models/pets")' in code:
        assert (workspace / "models" / "pets" / "model.json").is_file()


def test_commented_results_are_checked():
    assert run_snippet("x = [1]\nx + [2]   # [1, 2]\nlen(x)  # words, not a literal\n") == 1
    with pytest.raises(AssertionError):
        run_snippet("1 + 1   # 3\n")
