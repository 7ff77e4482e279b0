"""Episode sampling, class splits, scorers and the Gaussian prototypes, on small arrays."""

from pathlib import Path

import numpy as np
import pytest
import torch

from fewshot_glyphs import make_glyph_tree
from handful.errors import DataError
from handful.fewshot.episodes import (
    EpisodeSampler,
    cosine_scorer,
    euclidean_scorer,
    evaluate_episodes,
    split_classes,
)
from handful.fewshot.gaussian import gaussian_logits
from handful.fewshot.protonet import prototype_logits
from handful.fewshot.sources import scan_many, with_rotations

CLASSES = [f"{a}/c{i}" for a in "ABCDEFGH" for i in range(3)]


def test_split_by_parent_keeps_every_parent_on_one_side_and_is_reproducible():
    train, held = split_classes(CLASSES, 0.25, by_parent=True, seed=3)
    parents_train = {c.split("/")[0] for c in train}
    parents_held = {c.split("/")[0] for c in held}
    assert parents_train.isdisjoint(parents_held)
    assert len(parents_held) == 2  # 25% of 8 parents
    assert sorted(train + held) == sorted(CLASSES)
    assert split_classes(CLASSES, 0.25, by_parent=True, seed=3) == (train, held)


def test_split_by_class_holds_out_the_fraction_of_classes():
    train, held = split_classes(CLASSES, 0.25, seed=0)
    assert len(held) == 6 and set(train).isdisjoint(held)


@pytest.mark.parametrize("classes, kwargs, phrase", [
    (["a", "b", "c"], {"by_parent": True}, "needs nested classes"),
    (["a", "b", "c"], {"by_parent": True}, "not one alphabet"),  # --nested on a single alphabet
    (CLASSES, {"eval_fraction": 1.5}, "between 0 and 1"),
    (["A/x", "A/y"], {"by_parent": True}, "2 or more parent folders, or drop --split-by-parent"),
])
def test_split_errors_name_the_fix(classes, kwargs, phrase):
    kwargs = {"eval_fraction": 0.25, **kwargs}
    with pytest.raises(DataError, match=phrase):
        split_classes(classes, **kwargs)


@pytest.mark.parametrize("call, message", [
    # "The eval fraction must be ..." named no option; "Cannot split 1 group(s)" named neither it nor a fix
    (lambda: split_classes(CLASSES, 1.5), r"^--eval-fraction must be between 0 and 1 \(exclusive\)\. Got 1\.5"),
    (lambda: split_classes(CLASSES, 0.0, option="--val-fraction"), r"^--val-fraction must be between"),
    (lambda: split_classes(["A/x", "A/y"], 0.25, by_parent=True), r"^--split-by-parent .* there is 1 \('A'\)"),
    (lambda: split_classes(["solo"], 0.25), r"^--eval-fraction .* there is 1 \('solo'\).* drop --eval-fraction"),
    (lambda: EpisodeSampler(["a", "b"] * 3, 1, 1, 1), r"--ways 2 or more.* Got --ways 1"),
])
def test_fewshot_errors_name_the_option_the_user_typed(call, message):
    with pytest.raises(DataError, match=message):
        call()


def test_unknown_precision_variant_and_a_too_wide_shift_name_their_options(tmp_path):
    from handful.fewshot.encoder import FewShotEncoder
    from handful.fewshot.protonet import resolve_precision
    from handful.fewshot.training import train_model

    with pytest.raises(DataError, match="Unknown --precision 'fp8'"):
        resolve_precision("fp8")
    with pytest.raises(DataError, match="Unknown --variant 'big'"):
        train_model([tmp_path], tmp_path / "m", variant="big")
    encoder = FewShotEncoder.from_backbone("test_tiny_conv")  # 16 px input: shifts up to 4 px
    with pytest.raises(DataError, match=r"^--tta-shift must be from 0 to 4 pixels"):
        encoder.set_tta_shift(9)  # said "tta_shift of 'test_tiny_conv' must be ..."


def test_episodes_have_disjoint_support_and_query_of_the_drawn_classes():
    labels = np.repeat([f"c{i}" for i in range(10)], 6)
    sampler = EpisodeSampler(labels, n_way=4, n_shot=2, n_query=3)
    ep = sampler.sample(np.random.default_rng(0))
    assert ep.support.shape == (8,) and ep.query.shape == (12,)
    assert set(ep.support).isdisjoint(ep.query)
    for k, cls in enumerate(ep.classes):  # episode label k really is class ep.classes[k]
        assert set(labels[ep.support[ep.support_y == k]]) == {cls}
        assert set(labels[ep.query[ep.query_y == k]]) == {cls}


def test_same_seed_gives_the_same_episodes_whatever_the_model():
    labels = np.repeat([f"c{i}" for i in range(10)], 6)
    a = list(EpisodeSampler(labels, 5, 1, 2).episodes(3, seed=4))
    b = list(EpisodeSampler(labels, 5, 1, 2).episodes(3, seed=4))
    assert all((x.query == y.query).all() and x.classes == y.classes for x, y in zip(a, b))


def test_classes_too_small_for_the_episode_are_left_out_or_refused():
    labels = np.array(["a"] * 5 + ["b"] * 5 + ["c"] * 2)
    sampler = EpisodeSampler(labels, 2, 1, 3)
    assert sampler.too_small == ["c"] and sampler.classes == ["a", "b"]
    with pytest.raises(DataError, match="3-way episodes need 3 classes.*Lower --ways"):
        EpisodeSampler(labels, 3, 1, 3)


def test_separable_embeddings_score_100_percent_and_noise_scores_near_chance():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(12), 10).astype(str)
    clean = np.eye(12)[labels.astype(int)] * 5 + rng.normal(0, 0.1, (120, 12))
    sampler = EpisodeSampler(labels, 5, 1, 5)
    for scorer in (euclidean_scorer, cosine_scorer):
        result = evaluate_episodes(clean, sampler, 50, scorer)
        assert result["accuracy"] == 1.0 and result["ci95_halfwidth"] == 0.0
    noise = rng.normal(size=(120, 12))
    result = evaluate_episodes(noise, sampler, 300, euclidean_scorer)
    # chance is 20%; 300 episodes x 25 queries put the mean within a few points of it
    assert 0.14 < result["accuracy"] < 0.26
    assert result["ci95"][0] < result["accuracy"] < result["ci95"][1]


def test_prototype_logits_are_minus_squared_distance_to_class_means():
    support = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]])
    logits = prototype_logits(support, torch.tensor([0, 0, 1]), torch.tensor([[1.0, 1.0]]), 2)
    assert torch.allclose(logits, torch.tensor([[-1.0, -162.0]]))


def test_gaussian_prototype_leans_to_the_confident_example_and_scales_distance():
    support = torch.tensor([[0.0], [4.0]])
    y = torch.tensor([0, 0])
    confident_second = torch.tensor([[-20.0], [5.0]])  # precision ~1 and ~6
    logits = gaussian_logits(support, confident_second, y, torch.tensor([[4.0]]), 1)
    # prototype = (1*0 + 6*4) / 7 ~ 3.43, class precision ~7: logit ~ -7 * 0.57^2
    assert logits.item() == pytest.approx(-7.0 * (4 - 24.03 / 7.007) ** 2, rel=0.02)


def test_equal_confidences_rank_classes_like_plain_prototypes():
    torch.manual_seed(0)
    support, query = torch.randn(10, 4), torch.randn(7, 4)
    y = torch.arange(5).repeat(2)
    plain = prototype_logits(support, y, query, 5)
    gauss = gaussian_logits(support, torch.zeros(10, 1), y, query, 5)
    assert torch.equal(plain.argmax(1), gauss.argmax(1))


@pytest.mark.parametrize("k", [1, 6])  # one confidence per example (radius), or one per dimension
def test_gaussian_logits_are_the_precision_weighted_squared_distances(k):
    """The matmul form must equal the definition, sum_j s_cj (q_j - p_cj)^2, term by term."""
    torch.manual_seed(k)
    support, raw, query = torch.randn(8, 6) * 3, torch.randn(8, k), torch.randn(5, 6) * 3
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    precision = 1.0 + torch.nn.functional.softplus(raw)
    expected = torch.empty(5, 4)
    for c in range(4):
        s = precision[y == c].sum(0)  # class precision
        proto = (precision[y == c] * support[y == c]).sum(0) / s
        expected[:, c] = -((query - proto) ** 2 * s).sum(1)
    assert torch.allclose(gaussian_logits(support, raw, y, query, 4), expected, rtol=1e-4, atol=1e-3)


def test_scan_many_merges_roots_and_drops_duplicate_files(tmp_path: Path):
    make_glyph_tree(tmp_path / "one", n_alphabets=2, n_chars=2, n_drawings=3, seed=1)
    make_glyph_tree(tmp_path / "two", n_alphabets=3, n_chars=2, n_drawings=3, seed=1)  # A, B repeated
    examples, n_dup = scan_many([tmp_path / "one", tmp_path / "two"], nested=True)
    assert n_dup == 12  # alphabets A and B: 2 chars x 3 drawings each, identical bytes
    assert len(examples.classes) == 6 and len(examples) == 18
    assert "alphabet_C/character01" in examples.classes


def test_with_rotations_makes_each_quarter_turn_a_class_of_its_own(tmp_path: Path):
    make_glyph_tree(tmp_path / "bg", n_alphabets=1, n_chars=2, n_drawings=3)
    examples, _ = scan_many([tmp_path / "bg"], nested=True)
    arrays = np.arange(6 * 4 * 4, dtype=np.uint8).reshape(6, 4, 4)
    turned, rotated = with_rotations(arrays, examples)
    assert turned.shape == (24, 4, 4) and len(rotated) == 24
    assert len(rotated.classes) == 8  # 2 characters x 4 rotations
    row = rotated.labels.index("alphabet_A/character01@rot90")
    # the rot90 copy of drawing 0 is drawing 0 turned, and its label is its class's
    assert np.array_equal(turned[row], np.rot90(arrays[0]))
    assert rotated.labels[:6] == examples.labels  # the unturned copies keep their names
    with pytest.raises(DataError, match="square"):
        with_rotations(np.zeros((6, 4, 5), dtype=np.uint8), examples)


def test_the_reported_interval_stays_within_0_and_1_for_few_near_perfect_episodes():
    from handful.fewshot.episodes import summarize

    result = summarize([1.0, 1.0, 0.9])  # 3 episodes: the t-interval reaches past 100%
    assert result["ci95"][1] == 1.0 and result["ci95"][0] < result["accuracy"]
    assert result["ci95_halfwidth"] > 1.0 - result["accuracy"]  # the half-width is the t-interval's
