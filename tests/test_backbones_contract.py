"""Every registered backbone satisfies the protocol: shape, dtype, determinism, batch invariance."""

import numpy as np
import pytest

from conftest import make_color_image
from handful.backbones import Backbone, create_backbone, list_backbones
from handful.errors import BackboneUnavailableError, UnknownNameError

ALL = list_backbones(include_hidden=True)
TEXTS = ["a cat sat on the mat", "stock markets fell sharply today", "bonjour tout le monde"]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("imgs")
    return [str(make_color_image(root / f"{i}.jpg", (40 * i, 200 - 30 * i, 90), i, size=(300, 200)))
            for i in range(3)]


@pytest.mark.parametrize("name", ALL)
def test_backbone_embeds_float32_rows_deterministically_and_batch_invariant(name, images):
    backbone = create_backbone(name)
    assert isinstance(backbone, Backbone)
    items = images if backbone.modality == "image" else TEXTS
    if hasattr(backbone, "fit_unlabeled"):  # word2vec learns its vectors from the user's text
        backbone.fit_unlabeled(TEXTS * 20)
    inputs = [backbone.preprocess(it) for it in items]
    batch = backbone.embed(inputs)
    assert batch.shape == (3, backbone.dim) and batch.dtype == np.float32
    assert np.isfinite(batch).all()
    np.testing.assert_allclose(backbone.embed(inputs), batch, rtol=0, atol=1e-6)  # deterministic
    singles = np.concatenate([backbone.embed([x]) for x in inputs])
    # bf16 kernels may pick other blockings per batch size: close, not bit-identical
    tol = 0.05 if backbone.info.precision == "bfloat16" else 1e-4
    np.testing.assert_allclose(singles, batch, atol=tol * np.abs(batch).max())


@pytest.mark.parametrize("name", ALL)
def test_backbone_fingerprint_names_the_backbone(name):
    assert create_backbone(name).fingerprint.startswith(name)


def test_list_backbones_filters_by_glob():
    assert list_backbones("efficientnet_*") == ["efficientnet_lite0", "efficientnet_lite2"]
    assert "test_tiny_image" not in list_backbones()


def test_unknown_backbone_suggests_the_close_name():
    with pytest.raises(UnknownNameError, match="Did you mean 'efficientnet_lite0'.*handful backbones"):
        create_backbone("efficientnet_lit0")


def test_dashes_are_accepted_for_underscores():
    assert create_backbone("test-tiny-image").name == "test_tiny_image"


@pytest.mark.parametrize("name", ["timm:resnet18", "open_clip:ViT-B-32/openai", "st:all-mpnet-base-v2"])
def test_hub_backbones_fail_offline_with_a_message_listing_offline_ones(name):
    # No network (and maybe no package) here: the error must say what to do instead.
    with pytest.raises(BackboneUnavailableError, match="efficientnet_lite0"):
        create_backbone(name)
