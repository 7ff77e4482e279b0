"""The zero-shot prior: its weight, what it does at K=1, and that models keep it."""

import json

import numpy as np
import pytest

import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
from handful import Classifier, load
from handful.cli import main
from handful.heads import create_head
from handful.zeroshot import ZeroShotMap, scorer
from handful.zeroshot.prior import NO_CV_MAX_WEIGHT, ZeroShotPriorHead, weight_without_cv

NAMES = {"blue": "orange", "green": "broccoli", "red": "strawberry"}  # see zeroshot_support


@pytest.fixture
def tiny_text_names(monkeypatch):
    """ConSE names embedded by the bag-of-words test backbone instead of MiniLM."""
    monkeypatch.setattr(scorer, "DEFAULT_TEXT_BACKBONE", "test_tiny_text")


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0, out
    return json.loads(out[-1])


def _noisy_problem(seed=0, n=40):
    """Two classes told apart by dims 0-1 (weakly, buried in 30 noise dims) -- the zero-shot
    map looks only at dims 0-1, the way class names know what matters."""
    rng = np.random.default_rng(seed)
    y = np.repeat(["a", "b"], n)
    X = rng.normal(0, 1, (2 * n, 32))
    X[:, 0] += np.where(y == "a", 2.0, -2.0)
    X[:, 1] += np.where(y == "a", -2.0, 2.0)
    class_emb = np.zeros((2, 32), dtype=np.float32)
    class_emb[0, :2], class_emb[1, :2] = [0.7, -0.7], [-0.7, 0.7]
    return X, y, ZeroShotMap(("a", "b"), class_emb)


@pytest.mark.parametrize("probability_right, expected", [
    (0.999, NO_CV_MAX_WEIGHT), (0.5, 0.0), (0.01, 0.0)])
def test_without_cv_the_weight_follows_the_zero_shot_evidence(probability_right, expected):
    # Scores whose softmax gives the true class probability_right: sure and right -> full
    # weight, a coin toss or wrong -> none.
    logit = np.log(probability_right / (1 - probability_right)) * 0.05
    scores = np.array([[logit, 0.0], [0.0, logit]])
    assert weight_without_cv(scores, np.array([0, 1])) == pytest.approx(expected, rel=0.01)


def test_a_helpful_prior_lifts_one_shot_accuracy():
    X, y, zs = _noisy_problem()
    Xq, yq, _ = _noisy_problem(seed=1, n=200)
    base_acc, prior_acc = [], []
    for seed in range(10):  # ten 1-shot draws
        rng = np.random.default_rng(seed)
        idx = [rng.choice(np.flatnonzero(y == c)) for c in ("a", "b")]
        base = create_head("prototype").fit(X[idx], y[idx])
        head = ZeroShotPriorHead("prototype", kind="cosine").with_zero_shot(zs).fit(X[idx], y[idx])
        base_acc.append((base.predict(Xq) == yq).mean())
        prior_acc.append((head.predict(Xq) == yq).mean())
        assert head.weight_[0] > 0  # the zero-shot scores get both examples right
    assert np.mean(prior_acc) > np.mean(base_acc) + 0.05


def test_a_misleading_prior_gets_weight_zero_and_changes_nothing():
    X, y, zs = _noisy_problem()
    wrong = ZeroShotMap(("a", "b"), zs.class_embeddings[::-1].copy())  # names swapped
    head = ZeroShotPriorHead("logistic", kind="cosine").with_zero_shot(wrong).fit(X, y)
    assert head.weight_[0] == 0.0 and head.weight_source_ == "cross-validation"
    base = create_head("logistic").fit(X, y)
    np.testing.assert_allclose(head.predict_proba(X), base.predict_proba(X), atol=1e-9)


def test_prior_model_saves_loads_and_predicts_identically(color_tree, tmp_path, tiny_text_names):
    clf = Classifier("test_imagenet_colors", head="prototype", zero_shot_prior=True,
                     class_names=NAMES).fit(color_tree)
    items = sorted(str(p) for p in color_tree.rglob("*.*"))
    clf.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["head"]["type"] == "zeroshot_prior" and doc["head"]["params"]["base"] == "prototype"
    np.testing.assert_allclose(load(tmp_path / "m").predict_proba(items), clf.predict_proba(items))


def test_kshot_with_the_prior_reports_the_weight_of_every_run(capsys, color_splits,
                                                              tiny_text_names):
    out = run_json(capsys, ["kshot", str(color_splits / "train"), "--test", str(color_splits / "val"),
                            "--shots", "1,2", "--repeats", "3", "--backbone", "test_imagenet_colors",
                            "--zero-shot-prior", "--classes", "orange,broccoli,strawberry"])
    for k in ("1", "2"):
        assert len(out["shots"][k]["prior_weights"]) == 3
        assert out["shots"][k]["mean"] == 1.0  # colors: separable with or without the prior
    assert out["zero_shot_prior"]["classes"] == NAMES


def test_train_on_texts_with_a_prior_from_templated_names(capsys, tmp_path):
    rows = ["text,label"] + [f"{w} is {w} indeed,{w}" for w in ("good", "bad") for _ in range(4)]
    rows += ["i think it was good,good", "so bad and sad,bad"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    out = run_json(capsys, ["train", str(tmp_path / "t.csv"), "--out", str(tmp_path / "m"),
                            "--backbone", "test_tiny_text", "--head", "prototype",
                            "--zero-shot-prior", "--template", "it was {}", "--no-advise"])
    assert out["zero_shot_prior"]["method"] == "cosine"
    assert out["zero_shot_prior"]["template"] == "it was {}"
    pred = run_json(capsys, ["predict", str(tmp_path / "m"), "very good stuff"])
    assert pred["predictions"][0]["label"] == "good"


def test_classes_without_the_prior_flag_is_an_error(capsys, color_tree, tmp_path):
    assert main(["train", str(color_tree), "--out", str(tmp_path / "m"), "--classes", "a,b,c"]) == 2
    assert "add --zero-shot-prior" in capsys.readouterr().err


def test_train_with_the_prior_says_its_data_need_curve_leaves_the_prior_out(capsys, color_tree,
                                                                            tmp_path, tiny_text_names):
    # the learning curve refits the base head without class-name scores; a sentence that named
    # only "the prototype head" read as the saved model's curve, which the prior lifts at small K
    out = run_json(capsys, ["train", str(color_tree), "--out", str(tmp_path / "m"), "--backbone",
                            "test_imagenet_colors", "--head", "prototype", "--zero-shot-prior",
                            "--classes", "orange,broccoli,strawberry"])
    advice = out["advice"]
    assert (advice["head"]["type"], advice["head"]["replaces"]) == ("prototype", "zeroshot_prior")
    assert "The prototype head is without the zero-shot prior" in advice["sentence"], advice["sentence"]


def test_the_prior_weight_is_printed_to_three_figures(capsys):
    # a weight set from the zero-shot evidence printed as "weight 3.49168"
    from handful.cli.output import Output
    from handful.cli.zeroshot import print_selection

    print_selection(Output(False), {"zero_shot_prior": {"method": "conse", "weight": 3.4916812,
                                                        "chosen_by": "the zero-shot evidence"}})
    assert "weight 3.49, chosen by the zero-shot evidence" in capsys.readouterr().out
