"""Session 23 fixes to zeroshot's class names and suggest's left-out inputs, beyond the audit's tests:
the name matching rules, a training text in a CSV of unlabeled texts, k-means' duplicate warning,
and the server's /suggest sharing the fixes."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from fastapi.testclient import TestClient

from handful.cli import main
from handful.errors import DataError
from handful.server import Catalog, ServerSettings, create_app, extras
from handful.zeroshot import match_class_names, parse_class_list
from server_utils import color_png, train_colors


@pytest.mark.parametrize("names, labels, expected", [
    # one name matches a folder: it stays there, the other takes the other folder
    (["strawberry", "lettuce"], ["broccoli", "strawberry"], {"strawberry": "strawberry", "broccoli": "lettuce"}),
    (["bee", "grasshopper"], ["ants", "bees"], {"bees": "bee", "ants": "grasshopper"}),
    # a word match pins too: "honey bee" names bees/, never ants/
    (["honey bee", "cricket"], ["ants", "bees"], {"bees": "honey bee", "ants": "cricket"}),
    # of three, one matches; the other two go in the other labels' sorted order
    (["x", "cat", "y"], ["a", "b", "cats"], {"cats": "cat", "a": "x", "b": "y"}),
])
def test_a_name_matching_a_label_stays_with_it_and_only_the_rest_go_in_order(names, labels, expected):
    # the whole list went by sorted order once any name failed to match: broccoli/ was scored
    # as "strawberry", and strawberry/ as "lettuce"
    assert match_class_names(names, labels) == expected


def test_no_name_matching_still_goes_in_the_labels_sorted_order():
    # the documented rule for names that match nothing (labels 0/1 named by sentiment)
    assert match_class_names(["negative", "positive"], ["1", "0"]) == {"0": "negative", "1": "positive"}


def test_a_name_matching_two_labels_is_refused_naming_it():
    # "ant" is the singular of both ants/ and ANTS/ (one folder each on Linux): neither can be
    # chosen for it, and giving it either by sorted order would be a guess
    with pytest.raises(DataError, match=r"'ant' matches 2 labels \['ANTS', 'ants'\]") as err:
        match_class_names(["ant", "bee", "wasp"], ["ants", "ANTS", "bees"])
    assert "match one label" in str(err.value)


def test_singular_and_plural_in_classes_are_refused_naming_both():
    with pytest.raises(DataError, match="'ants' more than once") as err:
        parse_class_list("ant,bee,ants")
    assert "'ant' and 'ants' are one class" in str(err.value)


@pytest.mark.parametrize("text", [",bee", "bee,"])
def test_one_name_and_an_empty_one_is_an_empty_name_error(text):
    # the name left out is the problem, not that the list has one class
    with pytest.raises(DataError, match="--classes has an empty name"):
        parse_class_list(text)


def test_suggest_leaves_out_a_training_text_found_among_the_unlabeled_ones(capsys, text_csv, tmp_path):
    assert main(["train", str(text_csv), "--out", str(tmp_path / "m"), "--backbone", "test_tiny_text",
                 "--head", "logistic", "--no-advise"]) == 0
    inbox = tmp_path / "inbox.csv"
    # a training text, spaced and cased differently, among two new ones
    inbox.write_text('text\n"The  team WON the match"\n"the striker missed a penalty"\n"roast the chicken"\n')
    capsys.readouterr()
    assert main(["suggest", str(tmp_path / "m"), str(inbox), "--out", str(tmp_path / "s"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    listed = [r["text"] for r in out["suggestions"]]
    assert len(listed) == 2 and not any("team" in t.lower() for t in listed), listed
    reasons = [s["reason"] for s in out["skipped"]]
    assert any(r.startswith("already labeled as sports (copy of ") for r in reasons), reasons


def test_typical_ranking_asks_no_more_clusters_than_distinct_inputs():
    # 5 distinct pictures, each 3 times, and --n 18: KMeans(20 clusters) on 5 distinct points
    # printed sklearn's "Number of distinct clusters (..) found smaller than n_clusters" warning
    from handful.select.typical import rank_typical

    rng = np.random.default_rng(0)
    distinct = rng.normal(size=(5, 8)).astype(np.float32)
    inputs = np.repeat(distinct, 3, axis=0)
    labeled = rng.normal(size=(2, 8)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        picked = rank_typical(inputs, 18, n_labeled=2, labeled=labeled)
    assert len(set(picked)) == len(picked) and len(picked) == 15, picked  # every input, once


def test_uncertainty_ranking_leaves_out_a_copy_when_the_pool_is_the_picture_and_its_copy():
    # ranked apart (as the unfamiliar inputs are), a picture and its copy made a pool whose centred
    # embeddings were both 0: "1 apart", so both were listed (a flat picture has no thumbnail
    # signature to catch the copy by)
    from handful.select.active import rank_for_labeling

    X = np.repeat(np.array([[0.3, -1.0, 2.0, 0.5]], dtype=np.float32), 2, axis=0)
    proba = np.array([[0.5, 0.5], [0.5, 0.5]])
    assert rank_for_labeling(X, proba, 5) == [0]


# -- the server's /suggest ------------------------------------------------------------------------

needs_suggest = pytest.mark.skipif(not extras.has_suggest(), reason="handful.select.active not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("s23suggest") / "home"
    with TestClient(create_app(Catalog(home), ServerSettings(preload=False))) as client:
        yield client, train_colors(client, 7, {"backbone": "test_tiny_image", "head": "logistic"})


def _yellow_png() -> bytes:
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (40, 32), (250, 240, 20)).save(buf, format="PNG")
    return buf.getvalue()


@needs_suggest
def test_server_suggest_skips_a_copy_of_a_training_image_naming_its_class(server):
    client, pid = server
    files = [("photo_0042.png", color_png("red", 0)),  # the bytes of training example red_0.png
             ("new_green.png", color_png("green", 4242)), ("new_blue.png", color_png("blue", 4343))]
    res = client.post(f"/api/projects/{pid}/suggest", params={"n": 5},
                      files=[("files", (name, data, "image/png")) for name, data in files])
    assert res.status_code == 200, res.text
    body = res.json()
    assert "photo_0042.png" not in [r["input"] for r in body["suggestions"]], body["suggestions"]
    skipped = {s["name"]: s["reason"] for s in body["skipped"]}
    assert skipped.get("photo_0042.png", "").startswith("already labeled as red (copy of red_0.png"), skipped


@needs_suggest
def test_server_suggest_does_not_count_a_dropped_copy_as_held_back(server):
    client, pid = server
    odd = _yellow_png()  # like no training colour
    files = [("new_red.png", color_png("red", 5151)), ("new_green.png", color_png("green", 5252)),
             ("odd.png", odd), ("odd_copy.png", odd)]
    res = client.post(f"/api/projects/{pid}/suggest", params={"n": 20},
                      files=[("files", (name, data, "image/png")) for name, data in files])
    assert res.status_code == 200, res.text
    body = res.json()
    assert [r["familiar"] for r in body["suggestions"]].count(False) == 1  # odd.png, listed
    # the list had room: the copy was left out as a copy, not held back for being unfamiliar
    assert body["n_held_back"] == 0, body
    assert {s["name"]: s["reason"] for s in body["left_out"]} == {
        "odd_copy.png": "a copy of odd.png, which is listed"}, body["left_out"]
