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


@pytest.mark.parametrize("size", [(40000, 1), (3, 50000)])
def test_a_thin_strip_image_is_preprocessed_without_a_giant_intermediate(size, tmp_path, monkeypatch):
    # a 40000x1 PNG (a spacer image, ~200 bytes, far under the pixel limit) was resized to
    # 10,240,000x256 before the crop: ~8 GB of memory for one image (4000x1 already took 1.4 GB)
    from PIL import Image

    from handful.backbones.base import BackboneInfo
    from handful.backbones.image_input import preprocess_image

    path = tmp_path / "strip.png"
    Image.new("RGB", size, (200, 40, 10)).save(path)
    info = BackboneInfo(name="x", modality="image", dim=1, input_size=224, resize_size=256)
    resize = Image.Image.resize

    def bounded(self, new_size, *args, **kwargs):  # refuses before allocating, so the test stays cheap
        assert new_size[0] * new_size[1] <= 16 * 256 * 256, f"resize to {new_size}"
        return resize(self, new_size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", bounded)
    pixels = preprocess_image(str(path), info)
    assert pixels.shape == (224, 224, 3)
    assert np.abs(pixels.astype(int) - [200, 40, 10]).max() <= 1  # the strip's own color, stretched


def test_the_thin_strip_path_matches_resize_then_crop_where_both_fit(tmp_path):
    # a 6:1 image takes the crop-first path: it must give what resize-then-crop gives
    from PIL import Image

    from handful.backbones.base import BackboneInfo
    from handful.backbones.image_input import resize_and_crop

    rng = np.random.default_rng(0)
    smooth = Image.fromarray(rng.integers(0, 255, (8, 48, 3), dtype=np.uint8)).resize((1200, 200))
    info = BackboneInfo(name="x", modality="image", dim=1, input_size=224, resize_size=256)
    reference = smooth.resize((1536, 256), Image.BILINEAR, reducing_gap=3.0)
    left = (1536 - 224) // 2
    reference = np.asarray(reference.crop((left, 16, left + 224, 240)), dtype=int)
    assert np.abs(resize_and_crop(smooth, info).astype(int) - reference).max() <= 2


@pytest.mark.parametrize("call, key_phrase, fix", [
    # the factory passes keywords on to the class: the message lists the ones it takes
    (lambda: create_backbone("efficientnet_lite0", foo=1), "does not accept foo", "arguments: precision"),
    (lambda: create_backbone("test_tiny_image", dimm=8), "does not accept dimm", "arguments: dim"),
    # test_tiny_conv sets widths itself: not one of its options
    (lambda: create_backbone("test_tiny_conv", widths=(4,)), "multiple values", "arguments: extra"),
    (lambda: create_backbone("timm:resnet18", pretrained=False), "takes no keyword", "alone"),
    (lambda: create_backbone(3), "name string.*Got int 3", "handful backbones"),
    (lambda: list_backbones(3), "glob string.*Got int 3", "Pass a string"),
], ids=["unknown-keyword", "test-backbone-keyword", "keyword-set-by-factory", "hub-keyword",
        "name-not-a-string", "pattern-not-a-string"])
def test_wrong_backbone_arguments_are_handful_errors_that_name_the_fix(call, key_phrase, fix):
    from handful import HandfulError

    with pytest.raises(HandfulError, match=key_phrase) as caught:
        call()
    assert isinstance(caught.value, TypeError)  # what Python raised for these calls before
    assert fix in str(caught.value) and "\n" not in str(caught.value)


def test_a_type_error_inside_a_backbone_is_not_taken_for_a_wrong_keyword():
    from handful import HandfulError

    with pytest.raises(TypeError) as caught:
        create_backbone("test_tiny_image", dim="8")  # a known keyword, a bad value: the class's own error
    assert not isinstance(caught.value, HandfulError)


@pytest.mark.parametrize("name, keyword, fixed", [
    ("test_tiny_conv", {"input_size": 3}, {"widths", "input_size"}),  # the factory sets both itself
    ("test_tiny_conv", {"bogus": 1}, {"widths", "input_size"}),
    ("test_tiny_conv_gaussian", {"bogus": 1}, {"widths", "input_size", "extra"}),
    ("efficientnet_lite0", {"bogus": 1}, {"variant"}),  # the name picks the variant
])
def test_a_wrong_keyword_lists_only_the_keywords_the_factory_accepts(name, keyword, fixed):
    from handful import HandfulError

    with pytest.raises(HandfulError, match="Its keyword arguments: ") as caught:
        create_backbone(name, **keyword)
    listed = str(caught.value).split("Its keyword arguments: ")[1].split(";")[0].split(", ")
    assert not fixed & set(listed), listed
    assert "precision" in listed  # passed on to the class, so it is accepted


def test_a_wrong_keyword_lists_a_factorys_own_keywords_when_it_names_them(monkeypatch):
    from handful import HandfulError
    from handful.backbones import registry
    from handful.backbones.testing import TinyImageBackbone

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # registered for this test only

    @registry.register_backbone("test_sized", "image", hidden=True)
    def test_sized(size: int = 8) -> TinyImageBackbone:
        return TinyImageBackbone(dim=size)

    with pytest.raises(HandfulError, match="Its keyword arguments: size;"):
        create_backbone("test_sized", dim=8)


@pytest.mark.parametrize("name", ["test_tiny_image", "test_tiny_conv",
                                  pytest.param("efficientnet_lite0", marks=pytest.mark.slow)])
def test_embed_given_paths_instead_of_preprocessed_images_names_the_fix(name, tmp_path):
    from conftest import make_color_image
    from handful import HandfulError

    backbone, path = create_backbone(name), str(make_color_image(tmp_path / "a.png", (200, 20, 20), 0))
    with pytest.raises(HandfulError, match=r"not paths.*backbone.preprocess\(p\)"):
        backbone.embed([path])  # was torch's "can't convert np.ndarray of type numpy.str_"
    assert backbone.embed([backbone.preprocess(path)]).shape == (1, backbone.dim)  # the fix works
