"""``handful suggest`` says which picks are unlike the training examples, and ranks those after the
familiar ones unless asked to mix them (uncertainty sampling favours inputs of no class)."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from conftest import COLORS, make_color_image, make_color_tree, run_json
from handful import Classifier
from handful.cli import main
from handful.select import contact_sheet as sheet_module
from handful.select.active import rank_familiar_first
from test_familiar_server import COOKING, SPORTS


@pytest.fixture
def model(tmp_path):
    """A red/green/blue model that keeps its training examples (familiarity data: 21 images, 20+)."""
    path = tmp_path / "m"
    clf = Classifier("test_tiny_image", head="prototype").fit(make_color_tree(tmp_path / "colors", 7))
    assert clf.familiarity_ is not None
    clf.save(path)
    return path


@pytest.fixture
def inbox(tmp_path):
    """Two red, two green and two blue photos (like the training ones) and a white one: far from
    every training example (familiarity about 0 against a threshold near 0.9 with test_tiny_image)
    and the input the model is least sure of, as a daisy among ants and bees."""
    folder = tmp_path / "inbox"
    for name, colour in COLORS.items():
        for i in range(2):
            make_color_image(folder / f"{name}_{i}.png", colour, 300 + i)
    make_color_image(folder / "white.png", (255, 255, 255), 500)
    return folder


def _name(row: dict) -> str:
    return row["input"].rsplit("/", 1)[-1]


def test_an_input_far_from_the_training_examples_is_flagged_in_json_csv_and_on_the_sheet(
        capsys, model, inbox, tmp_path, monkeypatch):
    seen = {}
    real = sheet_module.contact_sheet

    def keep(paths, captions, out, columns=5, **kwargs):
        seen["paths"], seen["flags"] = [p.rsplit("/", 1)[-1] for p in paths], kwargs.get("flags")
        return real(paths, captions, out, columns, **kwargs)

    monkeypatch.setattr(sheet_module, "contact_sheet", keep)
    out = run_json(capsys, ["suggest", str(model), str(inbox), "--n", "7", "--out", str(tmp_path / "s")])
    familiar = {_name(r): r["familiar"] for r in out["suggestions"]}
    assert familiar.pop("white.png") is False, "a white photo is nothing like red, green or blue ones"
    # (near-duplicates may leave some of the coloured ones out; those listed are like the training ones)
    assert len(familiar) >= 2 and all(familiar.values()), familiar
    assert out["n_unfamiliar"] == 1 and out["unfamiliar_ranked"] == "last"
    with open(tmp_path / "s" / "suggestions.csv", newline="") as handle:
        written = {_name(r): r["familiar"] for r in csv.DictReader(handle)}
    assert written["white.png"] == "false" and set(written.values()) == {"true", "false"}, "as predict's CSV says it"
    assert json.loads((tmp_path / "s" / "suggestions.json").read_text())[-1]["familiar"] is False
    # the sheet marks exactly the unfamiliar picture
    assert [name for name, flag in zip(seen["paths"], seen["flags"], strict=True) if flag] == ["white.png"]
    assert (tmp_path / "s" / "contact_sheet.png").is_file()


def test_by_default_unfamiliar_inputs_come_after_the_familiar_ones_and_the_summary_says_so(
        capsys, model, inbox, tmp_path):
    # the white photo is the most uncertain input: plain uncertainty sampling puts it first
    mixed = run_json(capsys, ["suggest", str(model), str(inbox), "--n", "2", "--mix-unfamiliar",
                              "--out", str(tmp_path / "mixed")])
    assert _name(mixed["suggestions"][0]) == "white.png" and mixed["unfamiliar_ranked"] == "mixed"
    assert main(["suggest", str(model), str(inbox), "--n", "2", "--out", str(tmp_path / "s")]) == 0
    text = capsys.readouterr().out
    rows = json.loads((tmp_path / "s" / "suggestions.json").read_text())
    assert [r["familiar"] for r in rows] == [True, True], "the 2 places go to familiar inputs first"
    # held back, not dropped silently: the user is told how many and how to see them
    assert "1 of the 7 inputs looks unlike the training examples" in " ".join(text.split())
    assert "--mix-unfamiliar" in text


def test_unfamiliar_inputs_fill_the_places_the_familiar_ones_leave_and_are_counted(capsys, model, inbox,
                                                                                   tmp_path):
    assert main(["suggest", str(model), str(inbox), "--n", "10", "--out", str(tmp_path / "s")]) == 0
    text = " ".join(capsys.readouterr().out.split())
    rows = json.loads((tmp_path / "s" / "suggestions.json").read_text())
    assert _name(rows[-1]) == "white.png" and rows[-1]["familiar"] is False
    assert all(r["familiar"] for r in rows[:-1]) and len(rows) >= 3
    assert f"1 of the {len(rows)} is unlike the training examples" in text and "check it belongs" in text
    assert "unlike training data" in text
    assert "left out" not in text, "nothing unfamiliar was held back"


def test_a_model_saved_without_familiarity_data_still_suggests_without_a_flag(capsys, model, inbox, tmp_path):
    # models saved before handful kept their training examples have no "familiarity" in model.json
    doc = json.loads((model / "model.json").read_text())
    (model / doc.pop("familiarity")["file"]).unlink()
    (model / "model.json").write_text(json.dumps(doc))
    out = run_json(capsys, ["suggest", str(model), str(inbox), "--n", "3", "--out", str(tmp_path / "s")])
    assert len(out["suggestions"]) == 3 and _name(out["suggestions"][0]) == "white.png", "ranked as before"
    assert not any("familiar" in r for r in out["suggestions"]) and "n_unfamiliar" not in out
    with open(tmp_path / "s" / "suggestions.csv", newline="") as handle:
        assert "familiar" not in next(csv.reader(handle))
    assert (tmp_path / "s" / "contact_sheet.png").is_file()


def test_a_text_far_from_the_training_texts_is_flagged(capsys, tmp_path):
    # 20 texts: 20+ to judge familiarity by (MIN_JUDGED)
    Classifier("test_tiny_text", head="prototype").fit(
        SPORTS + COOKING, labels=["sports"] * len(SPORTS) + ["cooking"] * len(COOKING)).save(tmp_path / "m")
    inbox = tmp_path / "inbox.txt"  # words of neither topic share nothing with the training texts
    inbox.write_text("the team won the match\nquantum lattice gauge symmetry breaking\n")
    out = run_json(capsys, ["suggest", str(tmp_path / "m"), str(inbox), "--n", "2", "--mix-unfamiliar",
                            "--out", str(tmp_path / "s")])
    flags = {r["text"]: r["familiar"] for r in out["suggestions"]}
    assert flags == {"the team won the match": True, "quantum lattice gauge symmetry breaking": False}


def test_rank_familiar_first_fills_with_unfamiliar_items_only_when_the_familiar_run_out():
    familiar = np.array([False, True, False, True])

    def by_index_descending(rows, k):  # positions in ``rows``, as rank_for_labeling returns them
        return list(np.argsort(-rows)[:k])

    assert rank_familiar_first(by_index_descending, familiar, 2) == [3, 1]
    assert rank_familiar_first(by_index_descending, familiar, 3) == [3, 1, 2]
    assert rank_familiar_first(by_index_descending, np.zeros(2, dtype=bool), 5) == [1, 0]


def test_the_contact_sheet_frames_a_flagged_thumbnail_and_not_the_others(tmp_path):
    paths = [str(make_color_image(tmp_path / f"{i}.png", (40, 60, 220), i)) for i in range(2)]
    out = sheet_module.contact_sheet(paths, ["#1", "#2"], tmp_path / "sheet.png", flags=["unlike", None])
    sheet = Image.open(out).convert("RGB")
    bottom_left = (1, sheet_module.THUMB - 2)  # inside the frame, outside the pasted picture
    assert sheet.getpixel(bottom_left) == sheet_module.FLAG_COLOR
    assert sheet.getpixel((sheet_module.THUMB + 1, sheet_module.THUMB - 2)) == (255, 255, 255)
