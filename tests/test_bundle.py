"""Model directories: exact round trips, atomic replacement, clear errors for foreign/damaged dirs."""

import json

import numpy as np
import pytest

import handful
from handful import Classifier
from handful.bundle import write_dir_atomically
from handful.errors import BundleError, DataNotFoundError
from handful.heads import HEADS


# zeroshot_prior needs class-name scores (Classifier(zero_shot_prior=True)): its save/load is
# test_prior_model_saves_loads_and_predicts_identically in test_zeroshot_prior.py
@pytest.mark.parametrize("head", [name for name in HEADS if name != "zeroshot_prior"])
def test_save_load_gives_identical_probabilities(color_tree, tmp_path, head):
    params = {"max_epochs": 20} if head == "mlp" else {}
    clf = Classifier("test_tiny_image", head=head, head_params=params).fit(color_tree)
    clf.save(tmp_path / "m")
    paths = sorted(str(p) for p in color_tree.rglob("*.png"))
    again = handful.load(tmp_path / "m")
    np.testing.assert_allclose(again.predict_proba(paths), clf.predict_proba(paths), atol=1e-12)
    assert list(again.classes_) == ["blue", "green", "red"]


def test_model_json_records_what_is_needed_and_no_pickle(color_tree, tmp_path):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["format_version"] == 1 and doc["classes"] == ["blue", "green", "red"]
    assert doc["backbone"]["name"] == "test_tiny_image" and doc["head"]["type"] == "prototype"
    assert doc["training"]["counts"] == {"blue": 6, "green": 6, "red": 6}
    # JSON and safetensors only: the head (no familiarity.safetensors: 18 examples are too few to judge
    # familiarity by, tests/test_s19_familiar_small_model.py)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["head.safetensors", "model.json"]


def test_existing_output_needs_force_and_a_non_model_dir_is_never_replaced(color_tree, tmp_path):
    clf = Classifier("test_tiny_image", head="prototype").fit(color_tree)
    clf.save(tmp_path / "m")
    with pytest.raises(BundleError, match="already exists.*--force"):
        clf.save(tmp_path / "m")
    clf.save(tmp_path / "m", force=True)
    user_dir = tmp_path / "photos"
    user_dir.mkdir()
    (user_dir / "precious.jpg").write_bytes(b"x")
    with pytest.raises(BundleError, match="not a handful model"):
        clf.save(user_dir, force=True)
    assert (user_dir / "precious.jpg").read_bytes() == b"x"


def test_a_save_that_dies_midway_leaves_the_old_model_intact(color_tree, tmp_path):
    clf = Classifier("test_tiny_image", head="prototype").fit(color_tree)
    clf.save(tmp_path / "m")
    before = (tmp_path / "m" / "model.json").read_text()

    def dies(tmp):
        (tmp / "model.json").write_text("{half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dir_atomically(tmp_path / "m", dies, force=True)
    assert (tmp_path / "m" / "model.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".m")] == []


def _edit_classes(model, edit):
    doc = json.loads((model / "model.json").read_text())
    doc["classes"] = edit(doc["classes"])  # a hand edit: two classes would answer to one name
    (model / "model.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("damage, match", [
    (lambda d: (d / "model.json").unlink(), "not a handful model"),
    (lambda d: (d / "model.json").write_text("{not json"), "damaged"),
    (lambda d: (d / "head.safetensors").write_bytes(b"garbage"), "missing or damaged"),
    (lambda d: (d / "model.json").write_text(json.dumps({"format_version": 99})), "newer"),
    (lambda d: _edit_classes(d, lambda c: [c[0], c[0], *c[2:]]), r"\['blue'\] more than once"),
    (lambda d: _edit_classes(d, lambda c: "blue"), "distinct names"),
])
def test_loading_a_damaged_model_names_the_file_and_the_fix(color_tree, tmp_path, damage, match):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    damage(tmp_path / "m")
    with pytest.raises(BundleError, match=match):
        handful.load(tmp_path / "m")


def test_a_head_from_a_model_with_another_backbone_is_a_bundle_error_not_a_traceback(color_tree, tmp_path):
    # model.json names a backbone whose embeddings the head cannot take (edited, or files mixed
    # up): predict raised sklearn's "X has 8 features, but ... 32" with a traceback
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    doc["backbone"]["name"] = "test_tiny_conv"  # an image backbone with 8-d embeddings, not 32-d
    (tmp_path / "m" / "model.json").write_text(json.dumps(doc))
    with pytest.raises(BundleError, match="head takes 32-d embeddings.*'test_tiny_conv' gives 8-d.*Re-train"):
        handful.load(tmp_path / "m")


def test_loading_a_missing_model_is_not_found():
    with pytest.raises(DataNotFoundError, match="handful train"):
        handful.load("no/such/model")


@pytest.mark.parametrize("command", [["train"], ["finetune"]])
def test_train_commands_refuse_an_existing_out_before_reading_any_data(command, tmp_path, capsys):
    from handful.cli.main import main

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "model.json").write_text("{}")  # a model there (an empty folder would simply be used)
    # the data folder does not exist either: which error comes first shows when --out is checked
    assert main([*command, str(tmp_path / "no-such-data"), "--out", str(taken), "--json"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "no-such-data" not in err


def test_a_model_directory_is_as_readable_as_any_new_folder(color_tree, tmp_path):
    import os
    import stat

    clf = Classifier("test_tiny_image", head="prototype").fit(color_tree)
    old = os.umask(0o022)
    try:
        path = clf.save(tmp_path / "m")
    finally:
        os.umask(old)
    # mkdtemp makes 0700 and safetensors 0600: a service account could not read the model
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()} == {0o644}


def test_concurrent_chmods_never_leave_the_process_umask_changed(tmp_path, monkeypatch):
    # chmod_like_new read the umask by setting it to 022 and back: two threads at once (the server
    # saves on worker threads) could leave 022 behind for the whole process
    import os
    import stat
    import threading
    import time

    from handful.bundle.store import chmod_like_new

    real_umask = os.umask

    def slow_umask(mask):  # widens the window between setting and putting back, as a busy CPU does
        previous = real_umask(mask)
        time.sleep(0.002)
        return previous

    files = [tmp_path / f"f{i}" for i in range(6)]
    for file in files:
        file.write_text("x")
    old = real_umask(0o077)
    try:
        monkeypatch.setattr(os, "umask", slow_umask)
        threads = [threading.Thread(target=lambda f=f: [chmod_like_new(f) for _ in range(20)]) for f in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        monkeypatch.setattr(os, "umask", real_umask)
        after = real_umask(0o077)
    finally:
        real_umask(old)
    assert after == 0o077
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}  # 0666 less 077, every time
