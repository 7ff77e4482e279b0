"""Texts past a text backbone's window are announced on every run: from the texts, not from the
embeddings, so a run whose embeddings all come from the cache says it as the first run did."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pytest

from handful.backbones import create_backbone, register_backbone
from handful.backbones.base import BackboneInfo
from handful.backbones.testing import TinyTextBackbone
from handful.backbones.text_encoders import TokenWindow
from handful.cache import FeatureCache
from handful.cli import main

WINDOW = 5  # words


class ShortWindowBackbone(TokenWindow, TinyTextBackbone):
    """The bag-of-words test backbone, reading a text's first ``WINDOW`` words only (as MiniLM
    reads its first 256 word pieces): a token is a word, and the window is tiny."""

    max_tokens = WINDOW

    def __init__(self):
        super().__init__()
        self.info = BackboneInfo(name="test_short_window", modality="text", dim=self.dim, weights="none",
                                 description="test backbone: bag of the first 5 words")

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(text.split()) for text in texts]

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        self._warn_unchecked(batch)
        return super().embed([" ".join(text.split()[:WINDOW]) for text in batch])


@register_backbone("test_short_window", "text", "test backbone with a 5-word window", hidden=True)
def short_window(**kwargs) -> ShortWindowBackbone:
    return ShortWindowBackbone(**kwargs)


SHORT = ["the team won", "a great goal", "bake the bread", "add salt now"]
LONG = ["the player scored twice in the final minutes", "stir the sauce slowly over a low flame"]
EXACT = "one two three four five"  # exactly the window: nothing is cut


def long_text_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "longer than test_short_window's" in str(w.message)]


def embed_recording(cache: FeatureCache, texts: list[str], batch_size: int = 32) -> list[str]:
    backbone = create_backbone("test_short_window")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache.get_or_compute(backbone, texts, batch_size)
    return long_text_warnings(caught)


def test_a_run_from_the_cache_warns_about_long_texts_as_the_first_run_did(tmp_path):
    texts = [*SHORT, EXACT, *LONG]
    first = embed_recording(FeatureCache(tmp_path), texts)
    calls = TinyTextBackbone.n_embed_calls
    again = embed_recording(FeatureCache(tmp_path), texts)
    assert TinyTextBackbone.n_embed_calls == calls  # the second run embedded nothing: all hits
    # the second run's embeddings were cached, and used to say nothing; it must say the same
    expected = ("2 of the 7 texts are longer than test_short_window's 5 tokens; only their first 5 "
                "are embedded.")
    assert first == again == [expected]


def test_the_run_that_embeds_says_it_once_not_batch_by_batch(tmp_path):
    # embed warned per batch of misses (1 each here); the cache's count covers them already
    assert embed_recording(FeatureCache(tmp_path), [*SHORT, *LONG], batch_size=1) == [
        "2 of the 6 texts are longer than test_short_window's 5 tokens; only their first 5 are embedded."]


def test_partly_cached_texts_are_counted_whole(tmp_path):
    embed_recording(FeatureCache(tmp_path), [LONG[0]])
    # one long text is a hit, the other a miss: both are cut, both are counted
    assert embed_recording(FeatureCache(tmp_path), [*LONG, SHORT[0]]) == [
        "2 of the 3 texts are longer than test_short_window's 5 tokens; only their first 5 are embedded."]


@pytest.mark.parametrize("enabled", [True, False])
def test_short_texts_say_nothing(tmp_path, enabled):
    assert embed_recording(FeatureCache(tmp_path, enabled=enabled), [*SHORT, EXACT]) == []


def test_embed_called_directly_still_says_how_many_of_its_batch_are_cut():
    backbone = create_backbone("test_short_window")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backbone.embed([SHORT[0], LONG[0]])
    assert long_text_warnings(caught) == [
        "1 of the 2 texts is longer than test_short_window's 5 tokens; only its first 5 are embedded."]


def test_train_twice_with_one_cache_shows_the_long_text_warning_both_times(tmp_path, capsys):
    data = tmp_path / "texts.csv"
    rows = [f"{t},sports" for t in ["the team won", "a great goal", "fans cheered loudly", LONG[0]]]
    rows += [f"{t},cooking" for t in ["bake the bread", "add salt now", "chop the onions", LONG[1]]]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    shown = []
    for run in ("first", "second"):
        with warnings.catch_warnings(record=True) as caught:
            code = main(["train", str(data), "--out", str(tmp_path / run), "--backbone", "test_short_window",
                         "--head", "logistic"])
        assert code == 0, capsys.readouterr().err
        shown.append(sorted(set(long_text_warnings(caught))))
    # the second run read every embedding from the cache (HANDFUL_CACHE is the test's) and was silent
    assert shown[0] == shown[1] == [
        "2 of the 8 texts are longer than test_short_window's 5 tokens; only their first 5 are embedded."]


def test_minilm_counts_word_pieces_from_the_cache_too(tmp_path):
    backbone = create_backbone("minilm")
    texts = ["short text", "word " * 400]  # 400 word pieces + 2 special tokens: past 256
    for run in ("computed", "cached"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            FeatureCache(tmp_path).get_or_compute(backbone, texts)
        assert [str(w.message) for w in caught if "word pieces" in str(w.message)] == [
            "1 of the 2 texts is longer than minilm's 256 word pieces; only its first 256 are embedded "
            "(e5_small reads long texts whole)."], run
