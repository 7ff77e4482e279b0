"""Embedding texts: cached by content, rows in input order, long texts announced."""

import warnings

import numpy as np
import pytest

from handful.backbones import create_backbone
from handful.backbones.testing import TinyTextBackbone
from handful.cache import FeatureCache

TEXTS = ["a much longer sentence about the weather today and tomorrow", "short", "mid length text",
         "x", "another fairly long sentence with many words in it"]


def test_cached_text_embeddings_come_back_in_input_order(tmp_path):
    # the cache embeds texts sorted by length (less padding); rows must still match the input
    backbone = create_backbone("test_tiny_text")
    X, failures = FeatureCache(tmp_path).get_or_compute(backbone, TEXTS, batch_size=2)
    assert not failures
    assert np.allclose(X, backbone.embed([backbone.preprocess(t) for t in TEXTS]))


def test_same_text_with_other_whitespace_is_a_cache_hit(tmp_path):
    backbone = create_backbone("test_tiny_text")
    cache = FeatureCache(tmp_path)
    first, _ = cache.get_or_compute(backbone, ["the  cat sat", "a dog"])
    calls = TinyTextBackbone.n_embed_calls
    again, _ = cache.get_or_compute(backbone, ["the cat   sat\n", "a dog"])
    assert TinyTextBackbone.n_embed_calls == calls  # nothing went through the encoder
    assert np.array_equal(first, again)


def test_minilm_says_when_a_text_is_longer_than_its_window():
    backbone = create_backbone("minilm")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backbone.embed(["short text", "word " * 400])
    assert any("256 word pieces" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # short texts: no warning at all
        backbone.embed(["short text", "another short one"])


@pytest.mark.parametrize("name", ["minilm", "word2vec"])
def test_text_backbones_are_listed_for_texts(name):
    from handful.backbones import list_backbones

    assert name in list_backbones(modality="text")
