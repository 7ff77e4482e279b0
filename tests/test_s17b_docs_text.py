"""docs/text.md states the rule for a headerless .txt as README's Texts section and the code
(data/table.py) apply it: one text per line to predict; a label after each text to train; a
file of sentences that merely hold commas refused as having no labels."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from handful.data import read_table
from handful.data.table import MIN_ROWS_TO_JUDGE_LABELS
from handful.errors import DataError

DOC = Path(__file__).resolve().parents[1] / "docs" / "text.md"
SENTENCES = [f"The {thing} was {verdict}, {tail}" for thing, verdict, tail in [
    ("soup", "cold", "so we sent it back"), ("train", "late", "as every Monday"),
    ("room", "tiny", "but the view made up for it"), ("staff", "kind", "even at midnight"),
    ("film", "long", "though nobody left"), ("bread", "stale", "which surprised us")]]
LABELS = ["negative", "negative", "positive", "positive", "positive", "negative"]


def txt_rule() -> str:
    """The bullet of docs/text.md's Input section about a .txt without a header, on one line."""
    input_section = DOC.read_text(encoding="utf-8").split("## Input", 1)[1].split("\n## ", 1)[0]
    bullets = [" ".join(b.split()) for b in re.split(r"^- ", input_section, flags=re.M)]
    found = [b for b in bullets if b.startswith("A `.txt` without a header")]
    assert found, "docs/text.md should say how a headerless .txt is read (README's Texts section does)"
    return found[0]


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_doc_names_both_ways_to_label_a_txt_and_the_refusal():
    rule = txt_rule()
    for phrase in ("one text per line for `predict`, `embed` and `--unlabeled`", "`text<TAB>label`",
                   "a first line `text,label`", "refused as having no labels"):
        assert phrase in rule, f"missing {phrase!r}: {rule}"
    # the threshold the doc gives is the one the code judges by
    assert f"{MIN_ROWS_TO_JUDGE_LABELS} or more lines" in rule, rule


@pytest.mark.parametrize("lines", [
    [f"{s}\t{label}" for s, label in zip(SENTENCES, LABELS)],  # text<TAB>label: commas kept in the text
    ["text,label", *[f"{s},{label}" for s, label in zip(SENTENCES, LABELS)]],  # under a text,label line
], ids=["tab", "header"])
def test_a_txt_labeled_either_way_the_doc_shows_trains_with_its_sentences_whole(tmp_path, lines):
    examples = read_table(write(tmp_path, lines))
    assert list(examples.items) == SENTENCES and list(examples.labels) == LABELS


def test_a_txt_of_sentences_with_commas_is_refused_to_train_and_read_whole_to_predict(tmp_path):
    path = write(tmp_path, SENTENCES)
    with pytest.raises(DataError, match="no labels.*'text,label'"):
        read_table(path)
    with warnings.catch_warnings():  # a sentence cannot be a header: no 'first row' warning
        warnings.simplefilter("error")
        texts = read_table(path, labeled=False).items
    assert list(texts) == SENTENCES  # one text per line, commas and all
