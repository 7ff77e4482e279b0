"""s23 fixes found by the lead engineer (not by an audit): the version's single source."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import handful

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_written_once_and_the_package_metadata_reads_it():
    # two literal versions (pyproject + _version.py) drift apart at the first release bump:
    # the build reads the one in _version.py
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    module, name = attr.rsplit(".", 1)
    assert module == "handful._version" and getattr(handful, name) == handful.__version__
    assert version("handful") == handful.__version__


def test_augment_on_a_full_disk_names_the_out_folder_not_its_temp_and_leaves_nothing(capsys, tmp_path,
                                                                                     monkeypatch):
    import errno

    from PIL import Image

    from conftest import make_color_tree, one_error_line

    data = make_color_tree(tmp_path / "data", 2, classes=("red", "green"))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", full)
    line = one_error_line(capsys, ["augment", str(data), "--out", str(tmp_path / "aug")])
    # the user gave 'aug'; the '.aug.tmp-…' folder it is written in is ours and is gone
    assert "'" + str(tmp_path / "aug") + "'" in line and "tmp-" not in line, line
    assert "No space left" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_augmented_names_of_a_long_non_ascii_stem_fit_and_stay_valid_utf8():
    from pathlib import Path

    from handful.augment.offline import MAX_NAME_BYTES, augmented_name

    stem = "é" * 126  # 252 bytes: ".aug12.png" (10 bytes) must cut it, at a character boundary
    name = augmented_name(Path(stem + ".png"), 12)
    assert len(name.encode()) <= MAX_NAME_BYTES and name.endswith(".aug12.png")
    assert set(name[:-len(".aug12.png")]) == {"é"}  # no half character left over


def test_augment_of_a_table_says_it_augments_images(capsys, tmp_path):
    from conftest import one_error_line

    table = tmp_path / "texts.csv"
    table.write_text("text,label\ngood,pos\nbad,neg\n")
    line = one_error_line(capsys, ["augment", str(table), "--out", str(tmp_path / "aug")])
    assert "texts.csv" in line and "images" in line and "texts are not augmented" in line, line


def test_a_loaded_zero_shot_prior_model_fits_again_as_it_was_fitted(color_tree, tmp_path, tiny_text_names):
    import numpy as np

    import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
    from handful import Classifier, load

    # before: load() rebuilt Classifier(head='zeroshot_prior') without zero_shot_prior=True, and
    # fitting it again was refused ("has no class-name scores without zero_shot_prior=True")
    names = {"red": "red things", "green": "green things", "blue": "blue things"}
    clf = Classifier("test_imagenet_colors", head="prototype", zero_shot_prior=True, class_names=names,
                     zero_shot_template="a photo of {}").fit(color_tree)
    clf.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert (again.head, again.zero_shot_prior, again.class_names, again.zero_shot_template) == (
        "prototype", True, names, "a photo of {}")
    again.fit(color_tree)
    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    np.testing.assert_allclose(again.predict_proba(items), clf.predict_proba(items), atol=1e-6)
    assert float(again.head_.weight_[0]) == float(clf.head_.weight_[0])


def test_suggest_reads_the_training_data_where_it_was_trained_not_a_same_named_folder_here(
        capsys, tmp_path, monkeypatch):
    import json

    from conftest import make_color_tree
    from handful import Classifier
    from handful.cli import main

    # trained from A with the relative path "data"; suggest run from B, which has its own "data":
    # the copies of A's training photos are known, B's folder is not read as the training data
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    make_color_tree(tmp_path / "A" / "data", 3)
    monkeypatch.chdir(tmp_path / "A")
    Classifier("test_tiny_image", head="prototype").fit("data").save(tmp_path / "m")
    make_color_tree(tmp_path / "B" / "data", 3, seed=9)  # other pictures under the same name
    monkeypatch.chdir(tmp_path / "B")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "again.jpg").write_bytes((tmp_path / "A" / "data" / "red" / "red_0.jpg").read_bytes())
    (inbox / "other.jpg").write_bytes((tmp_path / "B" / "data" / "red" / "red_0.jpg").read_bytes())
    assert main(["suggest", str(tmp_path / "m"), str(inbox), "--n", "5", "--out", str(tmp_path / "s"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    reasons = {s["path"].rsplit("/", 1)[-1]: s["reason"] for s in result["skipped"]}
    assert "already labeled as red" in reasons.get("again.jpg", ""), result["skipped"]
    assert "other.jpg" not in reasons, result["skipped"]  # a copy of B's picture, never trained on


def test_advise_of_the_working_folder_names_its_default_out_after_that_folder(capsys, tmp_path, monkeypatch):
    from conftest import make_color_tree
    from handful.cli import main

    make_color_tree(tmp_path / "photos", 4)
    monkeypatch.chdir(tmp_path / "photos")
    # before: `advise .` made "advice-" from Path(".").stem == "" ("advice-data"), and inside the
    # data folder it was refused, asking for an --out the user never gave
    code = main(["advise", ".", "--backbone", "test_tiny_image", "--repeats", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    # beside the data: inside it, the advice folder would be read as a class by the next command
    assert (tmp_path / "advice-photos" / "advice.json").is_file()
    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["blue", "green", "red"]
