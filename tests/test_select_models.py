"""Backbone x head search, the concatenation candidate, the baseline, negative transfer."""

import hashlib
import json
import re
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from handful import Classifier, load
from handful.backbones import register_backbone
from handful.backbones.testing import TinyImageBackbone
from handful.cli import main
from handful.select import majority_baseline, models, search_models, transfer_warning
from handful.select.search import Leaderboard, cv_splits


class NoiseBackbone(TinyImageBackbone):
    """Features from a hash of the pixels: deterministic, and useless for any class."""

    def __init__(self):
        super().__init__()
        self.info = replace(self.info, name="test_tiny_noise")

    def embed(self, batch):
        seeds = [int(hashlib.md5(np.asarray(x).tobytes()).hexdigest()[:8], 16) for x in batch]
        return np.stack([np.random.default_rng(s).normal(0, 1, self.dim) for s in seeds]).astype(np.float32)


@register_backbone("test_tiny_noise", "image", "test backbone: noise", hidden=True)
def _noise_backbone(**kwargs):
    return NoiseBackbone(**kwargs)


def _blobs(rng, n=12, dim=8, gap=6.0):
    y = np.repeat(["a", "b", "c"], n)
    centers = rng.normal(0, gap, (3, dim))
    return centers[np.searchsorted(["a", "b", "c"], y)] + rng.normal(0, 1, (3 * n, dim)), y


def test_search_ranks_every_backbone_and_the_concatenation_and_picks_the_informative_one():
    rng = np.random.default_rng(0)
    good, y = _blobs(rng)
    noise = rng.normal(0, 1, good.shape)
    board = search_models({"noise": noise, "good": good}, y, ["noise", "good", "noise+good"])
    assert board.best["backbone"] in ("good", "noise+good") and board.best["mean"] == 1.0
    assert {r["backbone"] for r in board.rows} == {"noise", "good", "noise+good"}
    means = [r["mean"] for r in board.rows]
    assert means == sorted(means, reverse=True)
    # the slow head is tried only on the backbone that led with the fast heads
    assert {r["backbone"] for r in board.rows if r["head"] == "mlp"} == {board.best["backbone"]}


def test_majority_baseline_is_the_share_of_the_largest_class_on_the_same_folds():
    y = np.array(["a"] * 8 + ["b"] * 4, dtype=object)
    splits, _ = cv_splits(y)
    assert majority_baseline(y, splits)["mean"] == pytest.approx(8 / 12)


def test_features_no_better_than_the_baseline_raise_the_negative_transfer_warning():
    rng = np.random.default_rng(1)
    y = np.repeat(["a", "b"], 15)
    board = search_models({"noise": rng.normal(0, 1, (30, 16))}, y)
    assert "Negative transfer" in transfer_warning(board)
    good, y3 = _blobs(rng)
    assert transfer_warning(search_models({"good": good}, y3)) is None
    assert transfer_warning(Leaderboard([{"mean": None}], "no CV")) is None


def test_the_selection_bias_is_the_mean_per_fold_lead_of_the_folds_own_best_over_the_choice():
    # Two candidates that each win one fold by luck: either choice's 75% is half luck.
    rows = [{"mean": 0.75, "fold_scores": [1.0, 0.5]}, {"mean": 0.75, "fold_scores": [0.5, 1.0]}]
    sel = Leaderboard(rows, "1x2-fold").selection()
    assert sel["selection_bias"] == pytest.approx(0.25) and sel["adjusted_accuracy"] == pytest.approx(0.5)
    # One candidate: nothing was picked, nothing to take off.
    one = Leaderboard(rows[:1], "1x2-fold").selection()
    assert one["selection_bias"] == 0 and one["adjusted_accuracy"] == 0.75 and one["candidates"] == 1
    assert Leaderboard([{"mean": None}], "no CV").selection() is None


def test_train_prints_the_adjusted_cv_score_when_luck_picked_the_winner(capsys, tmp_path):
    # Random labels: the winner's CV score is luck, and train says how much of it to discount.
    rng = np.random.default_rng(3)
    root = tmp_path / "noise"
    for i, label in enumerate(rng.permutation(np.repeat(["a", "b"], 8))):
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(root / label / f"{i}.png")
    assert main(["train", str(root), "--out", str(tmp_path / "m"), "--no-advise", "--backbone",
                 "test_tiny_image", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["metrics"]["cv_accuracy_adjusted"] < out["metrics"]["cv_accuracy"]
    main(["train", str(root), "--out", str(tmp_path / "n"), "--no-advise", "--backbone", "test_tiny_image"])
    printed = capsys.readouterr().out
    assert "allowing for that choice, about" in printed and "on new data" in printed


def test_on_noise_the_adjusted_accuracy_is_nearer_chance_than_the_winners_cv_score():
    # Random labels on random features: every candidate is at chance (50%) on new data, so the
    # best of 18 CV scores is luck, and the adjustment should take most of it back.
    gaps_best, gaps_adjusted = [], []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        y = rng.permutation(np.repeat(["a", "b"], 10))
        embeddings = {name: rng.normal(0, 1, (20, 16)) for name in ("n1", "n2")}
        sel = search_models(embeddings, y, ["n1", "n2", "n1+n2"]).selection()
        assert sel["candidates"] == 19 and sel["selection_bias"] > 0
        gaps_best.append(sel["cv_accuracy"] - 0.5)
        gaps_adjusted.append(sel["adjusted_accuracy"] - 0.5)
    assert np.mean(gaps_best) > 0.1  # the winner's CV score flatters it
    assert abs(np.mean(gaps_adjusted)) < np.mean(gaps_best) / 2


def test_the_leaderboard_json_keeps_the_selection_and_drops_the_per_fold_scores():
    rng = np.random.default_rng(0)
    good, y = _blobs(rng)
    doc = search_models({"good": good}, y).to_json()
    assert all("fold_scores" not in row for row in doc["rows"])
    assert doc["selection"]["cv_accuracy"] == doc["rows"][0]["mean"]
    json.dumps(doc, allow_nan=False)


@pytest.fixture
def tiny_auto(monkeypatch):
    monkeypatch.setitem(models.AUTO_BACKBONES, "image",
                        ("test_tiny_noise", "test_tiny_image", "test_tiny_noise+test_tiny_image"))


def test_auto_backbone_picks_by_cv_and_the_saved_model_predicts(color_tree, tmp_path, tiny_auto):
    clf = Classifier().fit(color_tree)
    assert clf._backbone.name in ("test_tiny_image", "test_tiny_noise+test_tiny_image")
    assert {r["backbone"] for r in clf.leaderboard_.rows} >= {"test_tiny_noise", "test_tiny_image"}
    clf.save(tmp_path / "m")
    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    assert load(tmp_path / "m").predict(items) == [p.split("/")[-2] for p in items]


def test_a_concatenated_backbone_is_saved_by_name_and_rebuilt_on_load(color_tree, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setitem(models.AUTO_BACKBONES, "image", ("test_tiny_noise+test_tiny_image",))
    Classifier(head="prototype").fit(color_tree).save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["backbone"]["name"] == "test_tiny_noise+test_tiny_image"
    model = load(tmp_path / "m")
    assert model._backbone.dim == 64
    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    assert model.predict(items) == [p.split("/")[-2] for p in items]


def test_train_prints_the_leaderboard_with_backbones_and_the_baseline(capsys, color_tree, tmp_path,
                                                                      tiny_auto):
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--no-advise"]) == 0
    printed = capsys.readouterr().out
    assert "test_tiny_noise" in printed and "majority class (baseline)" in printed
    # The winner is one of many candidates, but none beat it on any fold: nothing to take off.
    assert re.search(r"Cross-validated accuracy: 100.0% \(the best of \d+ candidates; none beat it on any "
                     r"fold, so picking it flatters nothing\)", printed)
    assert main(["train", str(color_tree), "--out", str(tmp_path / "n"), "--no-advise",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["leaderboard"]["baseline"]["mean"] == pytest.approx(1 / 3, abs=0.1)
    assert out["transfer_warning"] is None and out["metrics"]["cv_accuracy"] == 1.0
    assert out["metrics"]["cv_accuracy_adjusted"] == 1.0  # every informative candidate is perfect
    saved = json.loads((tmp_path / "n" / "model.json").read_text())
    assert saved["leaderboard"]["selection"]["adjusted_accuracy"] == 1.0


def test_a_concatenation_reuses_the_cached_embeddings_of_its_parts(color_tree):
    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    Classifier("test_tiny_image", head="prototype").fit(color_tree)  # caches test_tiny_image
    calls = TinyImageBackbone.n_embed_calls
    X, failures = Classifier("test_tiny_image+test_tiny_noise").embed(items, "image")
    assert TinyImageBackbone.n_embed_calls == calls  # that part came from the cache
    assert X.shape == (18, 64) and not failures


def test_a_concatenation_reports_progress_per_item_not_per_part_pass(color_tree):
    # a progress bar sized len(items) must end full, not len(parts) times over
    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    advanced = []
    Classifier("test_tiny_image+test_tiny_noise", cache=False).embed(items, "image", advanced.append)
    assert sum(advanced) == pytest.approx(len(items))


def test_a_head_given_by_name_stays_in_the_leaderboard_when_there_is_too_little_to_cross_validate():
    # with one example per class the search falls back to a default head; a head the user named
    # (scored alone) is the model's head, so the leaderboard must not name another one
    from handful.select import head_candidates, search_heads

    X, y = np.eye(2), np.array(["a", "b"], dtype=object)
    board = search_heads(X, y, head_candidates("logistic", {"C": 2.0}))
    assert [(r["head"], r["params"], r["mean"]) for r in board.rows] == [("logistic", {"C": 2.0}, None)]
    assert search_heads(X, y).rows[0]["head"] == "prototype"  # "auto" still falls back


def test_a_concatenated_backbone_in_a_narrow_leaderboard_breaks_after_its_plus(capsys, color_tree,
                                                                               tmp_path, tiny_auto):
    # at 80 columns, 'efficientnet_lite0+efficientnet_lite2' was cut mid-name ('...+effici|entnet_lite2')
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--no-advise"]) == 0
    lines = capsys.readouterr().out.splitlines()
    cells = [ln.split("│")[2].strip() for ln in lines if ln.count("│") >= 5]
    joined = [(a, b) for a, b in zip(cells, cells[1:]) if a.endswith("+")]
    assert joined, "a concatenation's row ends its first line at the '+'"
    assert all(a.replace("+", "") in ("test_tiny_noise", "test_tiny_image") and b in ("test_tiny_noise",
               "test_tiny_image") for a, b in joined), joined
