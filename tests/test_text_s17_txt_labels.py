"""A headerless .txt is one text per line: sentences that merely hold commas are not split into a
text and a "label" (hundreds of one-example classes), while a .txt that really is text and label
(tab- or comma-separated, labels repeating) still trains."""

import pytest

from handful.cli import main
from handful.data import load_examples, read_table
from handful.errors import DataError

# distinct sentences with a comma each, as in a file of reviews or notes
SENTENCES = [f"{subject} was {verdict}, {tail}" for subject, verdict, tail in [
    ("The soup", "cold", "so we sent it back"), ("The train", "late", "as it is every Monday"),
    ("Our room", "tiny", "but the view made up for it"), ("The staff", "kind", "even at midnight"),
    ("The film", "long", "though nobody left early"), ("The bread", "stale", "which surprised us"),
    ("The concert", "loud", "and the crowd loved it"), ("My phone", "broken", "after one week"),
    ("The garden", "lovely", "with roses everywhere"), ("The museum", "closed", "to our dismay"),
    ("The book", "gripping", "until the last chapter"), ("The coffee", "bitter", "yet strangely good"),
]]


def write_txt(tmp_path, lines, name="notes.txt"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_txt_of_sentences_with_commas_given_to_train_says_it_has_no_labels(tmp_path, capsys):
    # before: 12 classes of one example each, their names the sentences' second halves
    path = write_txt(tmp_path, SENTENCES)
    code = main(["train", str(path), "--out", str(tmp_path / "model"), "--backbone", "test_tiny_text"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ")  # one line, as every CLI error
    assert "one text per line with no labels" in err[0] and "'text,label'" in err[0]  # what and the fix
    assert not (tmp_path / "model").exists()


def test_fit_on_such_a_txt_is_refused_naming_the_pieces_read_as_labels(tmp_path):
    path = write_txt(tmp_path, SENTENCES)
    with pytest.raises(DataError, match=r"12 rows would give 12 different labels \(e\.g\. \['The soup was cold'"):
        load_examples(path)


def test_a_txt_of_sentences_with_several_commas_each_says_it_has_no_labels(tmp_path):
    # before: "has 3 columns ... add a first line naming the columns", advice for a table
    asides = ["sadly", "to be fair", "once again", "as feared", "oddly", "at first", "in short", "of course",
              "honestly", "so to speak", "alas", "for once"]
    lines = [s.replace(" was ", f", {aside}, was ", 1) for s, aside in zip(SENTENCES, asides)]
    with pytest.raises(DataError, match="one text per line with no labels"):
        load_examples(write_txt(tmp_path, lines))


def test_predict_reads_the_same_txt_one_whole_text_per_line(tmp_path):
    examples = read_table(write_txt(tmp_path, SENTENCES), labeled=False)
    assert examples.items == tuple(SENTENCES)  # commas kept inside each text


@pytest.mark.parametrize("delimiter", ["\t", ","])
def test_a_txt_of_texts_and_repeating_labels_still_trains(tmp_path, delimiter):
    # tab-separated: every text has its comma; comma-separated: a third do (were all to, the file
    # would be 3 columns, which takes a header 'text,label' to read: test_data_table)
    texts = [t if delimiter == "\t" or i % 3 == 0 else t.replace(",", "") for i, t in enumerate(SENTENCES)]
    labels = ["good" if i % 2 else "bad" for i in range(len(texts))]
    lines = [f"{text}{delimiter}{label}" for text, label in zip(texts, labels)]
    # before, with tabs: the delimiter was sniffed as ',' (one per line, as many as the tabs), so
    # every text was cut at its comma and its second half, tab and label included, became the text
    examples = load_examples(write_txt(tmp_path, lines))
    assert examples.classes == ("bad", "good")
    assert examples.items == tuple(texts)  # an unquoted comma inside the text is joined back


def test_a_few_rows_are_too_few_to_tell_labels_from_pieces_and_are_read_as_labeled(tmp_path):
    # three rows with three labels could be a real 1-shot table: no refusal below 6 rows
    path = write_txt(tmp_path, ["hot soup,good", "cold soup,bad", "no soup,none"])
    assert read_table(path).classes == ("bad", "good", "none")


def test_a_headerless_csv_is_a_table_by_name_and_not_judged(tmp_path):
    # a .csv declares text,label columns; one example per class is a legitimate few-shot table
    lines = [f"{text.replace(',', '')},class {i}" for i, text in enumerate(SENTENCES)]
    assert len(read_table(write_txt(tmp_path, lines, name="shots.csv")).classes) == len(SENTENCES)
    with pytest.raises(DataError, match="one text per line with no labels"):  # the same lines as a .txt
        read_table(write_txt(tmp_path, lines, name="shots.txt"))
