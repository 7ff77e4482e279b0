"""With few labels per class, suggestions are typical examples of uncovered clusters (TypiClust),
not the outliers the model is least sure of; from ``TYPICAL_BELOW`` per class, uncertainty again."""

import json
import shutil

import numpy as np
import pytest

from conftest import make_color_image, make_color_tree
from handful import Classifier
from handful.cli import main
from handful.select.active import TYPICAL_BELOW, rank_for_labeling, rank_unlabeled
from handful.select.typical import rank_typical

DIM = 16


@pytest.fixture
def pool():
    """Three dense clusters (A 60, B 40, C 30 items around unit centres) and 8 scattered
    outliers that the model is most unsure of; one labeled example sits at A's centre.
    Returns (X, proba, labeled, cluster of each row: 0-2, or -1 for an outlier)."""
    rng = np.random.default_rng(0)
    centres = np.eye(DIM)[:3] * 10
    sizes = (60, 40, 30)
    X = np.concatenate([c + rng.normal(0, 1, (s, DIM)) for c, s in zip(centres, sizes)]
                       + [rng.normal(0, 10, (8, DIM))])
    cluster = np.repeat([0, 1, 2, -1], [*sizes, 8])
    proba = np.tile([0.9, 0.05, 0.05], (len(X), 1))
    proba[cluster == -1] = [0.34, 0.33, 0.33]  # outliers: a coin toss for the model
    labeled = centres[:1] + rng.normal(0, 0.1, (1, DIM))
    return X, proba, labeled, cluster


def test_few_labels_pick_the_typical_items_of_the_uncovered_clusters_not_outliers(pool):
    X, proba, labeled, cluster = pool
    picked = rank_unlabeled(X, proba, 2, labeled=labeled)
    # A holds the label; B and C hold none, so their typical members are what the model lacks
    assert sorted(cluster[picked]) == [1, 2], f"picked clusters {cluster[picked]}"
    for i in picked:  # typical: close to the cluster's centre, not at its edge
        members = X[cluster == cluster[i]]
        distances = np.linalg.norm(members - members.mean(axis=0), axis=1)
        assert np.linalg.norm(X[i] - members.mean(axis=0)) <= np.quantile(distances, 0.25)
    # the uncertainty ranking (no labeled examples known) takes the outliers instead
    assert set(cluster[rank_unlabeled(X, proba, 2)]) == {-1}


def test_the_largest_uncovered_cluster_comes_first(pool):
    X, proba, labeled, cluster = pool
    # 1 labeled + 2 picks = 3 clusters, A B C: B (40 items) before C (30)
    assert list(cluster[rank_unlabeled(X, proba, 2, labeled=labeled)]) == [1, 2]


def test_enough_labels_per_class_bring_back_the_uncertainty_ranking(pool):
    X, proba, _, cluster = pool
    labeled = X[cluster == 0][: TYPICAL_BELOW * proba.shape[1]]  # TYPICAL_BELOW per class
    assert rank_unlabeled(X, proba, 5, labeled=labeled) == rank_for_labeling(X, proba, 5)


def test_typical_picks_leave_out_near_duplicates(pool):
    X, proba, labeled, cluster = pool
    first = rank_unlabeled(X, proba, 2, labeled=labeled)[0]
    X = np.concatenate([X, X[first:first + 1] + 1e-5])  # a copy of the first pick, also typical
    proba = np.concatenate([proba, proba[first:first + 1]])
    picked = rank_unlabeled(X, proba, 6, labeled=labeled)
    assert len(picked) == 6 and not {first, len(X) - 1} <= set(picked), picked


def test_typical_picks_still_rank_unfamiliar_items_last(pool):
    X, proba, labeled, cluster = pool
    familiar = cluster != 1  # say B, the largest uncovered cluster, looks unlike the training examples
    picked = rank_unlabeled(X, proba, 3, familiar=familiar, labeled=labeled)
    assert familiar[picked].all(), cluster[picked]  # B fills only places the familiar ones leave
    familiar = cluster == 2  # only C's 30 are familiar: 35 picks need 5 of the others after them
    picked = rank_unlabeled(X, proba, 35, familiar=familiar, labeled=labeled)
    assert familiar[picked[:30]].all() and not familiar[picked[30:]].any(), cluster[picked]


def test_rank_typical_without_known_labels_still_spreads_over_clusters(pool):
    X, _, _, cluster = pool
    picked = rank_typical(X, 3)
    assert sorted(cluster[picked]) == [0, 1, 2]  # one per cluster, no outlier


def _inbox(root):
    """Many dark-green and a few pale-green and purple images: with one red, green and blue
    example, dark green is the group the suggestions should show first."""
    for i in range(12):
        make_color_image(root / f"darkgreen_{i}.png", (20, 120, 20), 300 + i)
    for i in range(3):
        make_color_image(root / f"purple_{i}.png", (130, 30, 130), 400 + i)
    return root


def test_suggest_with_one_label_per_class_says_it_ranks_typical_examples(capsys, tmp_path):
    train = make_color_tree(tmp_path / "train", n_per_class=1)
    Classifier("test_tiny_image", head="prototype").fit(train).save(tmp_path / "m")
    args = ["suggest", str(tmp_path / "m"), str(_inbox(tmp_path / "inbox")), "--n", "3",
            "--out", str(tmp_path / "s")]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the model's training folder is still there: its 3 examples are known, 1 per class < TYPICAL_BELOW
    assert out["ranked_by"] == "typical" and len(out["suggestions"]) == 3
    assert main(args) == 0
    assert "typical examples" in capsys.readouterr().out  # the table's "unsure" is not why they are listed
    shutil.rmtree(train)  # moved away: the labeled examples are unknown, so uncertainty decides
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ranked_by"] == "uncertain"
