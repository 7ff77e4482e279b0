"""ConSE and cosine zero-shot maps, the ImageNet head read off a backbone, the scorer."""

import numpy as np
import pytest

import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
from handful.backbones import create_backbone
from handful.zeroshot import ZeroShotMap, ZeroShotScorer, imagenet_head
from zeroshot_support import COLOR_TO_NAME


def test_conse_semantic_embedding_is_the_probability_weighted_mean_of_the_top_t_labels():
    # 3 labels on a 2-d embedding; label 2 never makes the top 2, so it must not count.
    fc_weight = np.array([[2.0, 0.0], [0.0, 1.0], [-3.0, -3.0]], dtype=np.float32)
    labels = np.eye(3, dtype=np.float32)  # label j's text embedding = e_j
    zs = ZeroShotMap(("a", "b"), np.eye(3, dtype=np.float32)[:2], fc_weight,
                     np.zeros(3, dtype=np.float32), labels, top_t=2)
    x = np.array([[1.0, 1.0]], dtype=np.float32)  # logits 2, 1, -6
    p = np.exp([2.0, 1.0]) / np.exp([2.0, 1.0]).sum()
    expected = p / np.linalg.norm(p)
    np.testing.assert_allclose(zs.semantic(x)[0], [*expected, 0.0], atol=1e-6)
    np.testing.assert_allclose(zs.scores(x)[0], expected, atol=1e-6)
    assert zs.predict(x)[0] == "a"


def test_cosine_map_scores_normalized_embeddings_against_class_embeddings():
    zs = ZeroShotMap(("x", "y"), np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    np.testing.assert_allclose(zs.scores(np.array([[3.0, 4.0]])), [[0.6, 0.8]], atol=1e-6)
    assert zs.kind == "cosine"


def test_map_arrays_round_trip_and_select_reorders_classes():
    zs = ZeroShotMap(("a", "b", "c"), np.eye(3, dtype=np.float32))
    back = ZeroShotMap.from_arrays(zs.class_names, zs.state_arrays())
    np.testing.assert_array_equal(back.class_embeddings, zs.class_embeddings)
    assert zs.select(["c", "a"]).class_names == ("c", "a")
    np.testing.assert_array_equal(zs.select(["c", "a"]).class_embeddings, np.eye(3)[[2, 0]])


def test_efficientnet_logits_are_the_imagenet_head_applied_to_the_cached_embedding():
    # ConSE reads logits off cached embeddings: this holds only if embed() is what _fc sees.
    backbone = create_backbone("efficientnet_lite0")
    image = np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8)
    features, logits = backbone.embed_with_logits([image])
    W, b = imagenet_head(backbone)
    np.testing.assert_allclose(backbone.embed([image]) @ W.T + b, logits, atol=0.1)
    assert W.shape == (1000, 1280) and features.shape == (1, 1280)


def test_a_concatenation_averages_the_logits_of_the_parts_that_have_a_head():
    concat = create_backbone("test_tiny_image+test_imagenet_colors")
    W, b = imagenet_head(concat)
    W_part, _ = imagenet_head(create_backbone("test_imagenet_colors"))
    assert W.shape == (1000, 64)
    np.testing.assert_array_equal(W[:, :32], 0)  # test_tiny_image has no head
    np.testing.assert_allclose(W[:, 32:], W_part)  # the only head, weight 1


def test_scorer_classifies_color_images_by_imagenet_label_names(color_tree):
    names = [COLOR_TO_NAME[c] for c in ("red", "green", "blue")]
    scorer = ZeroShotScorer(names, backbone="test_imagenet_colors", text_backbone="test_tiny_text")
    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    truth = [COLOR_TO_NAME[p.split("/")[-2]] for p in items]
    assert scorer.predict(items) == truth  # each color's ImageNet label is its class name


def test_image_backbone_without_an_imagenet_head_cannot_do_zero_shot(color_tree):
    from handful.errors import BackboneUnavailableError

    scorer = ZeroShotScorer(["a", "b"], backbone="test_tiny_image", text_backbone="test_tiny_text")
    with pytest.raises(BackboneUnavailableError, match="open_clip"):
        scorer.predict([str(next(color_tree.rglob("*.png")))])


def test_a_concatenated_scorer_reuses_the_cached_embeddings_of_its_parts(color_tree):
    from handful import Classifier
    from handful.backbones.testing import TinyImageBackbone

    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    names = [COLOR_TO_NAME[c] for c in ("red", "green", "blue")]
    Classifier("test_tiny_image").embed(items, "image")  # caches one part ...
    ZeroShotScorer(names, backbone="test_imagenet_colors", text_backbone="test_tiny_text"
                   ).predict(items)  # ... and the other
    calls = TinyImageBackbone.n_embed_calls  # the part without a head: only items embed it
    scorer = ZeroShotScorer(names, backbone="test_tiny_image+test_imagenet_colors",
                            text_backbone="test_tiny_text")
    assert scorer.predict(items) == [COLOR_TO_NAME[p.split("/")[-2]] for p in items]
    assert TinyImageBackbone.n_embed_calls == calls  # its embeddings came from the cache
