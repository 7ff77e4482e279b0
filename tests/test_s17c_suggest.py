"""``handful suggest``: no two versions of one picture in the list, and a contact sheet whose
captions say which file each thumbnail is."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from conftest import make_color_image
from handful import Classifier
from handful.cli import main
from handful.select import contact_sheet as sheet_module
from handful.select.active import picture_signatures, rank_for_labeling, rank_images_for_labeling


def _photo(path, seed, size=(96, 72)):
    """A smooth random picture (blobs of colour), as unlike another seed's as two photos are."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    img.save(path, quality=95)
    return path


@pytest.fixture
def photos_with_copies(tmp_path):
    """12 distinct pictures; picture 0 also as a half-size copy and a JPEG quality-60 copy."""
    paths = [str(_photo(tmp_path / f"p{i}.jpg", i)) for i in range(12)]
    original = Image.open(paths[0])
    original.resize((48, 36)).save(tmp_path / "small_p0.png")
    original.save(tmp_path / "q60_p0.jpg", quality=60)
    return paths + [str(tmp_path / "small_p0.png"), str(tmp_path / "q60_p0.jpg")]


def test_resized_and_reencoded_copies_of_a_pick_are_left_out(photos_with_copies):
    paths = photos_with_copies
    # the copies' embeddings as far from the original as another photo's: on hymenoptera a
    # half-size copy sat 0.22-0.37 (centered cosine) from it, distinct photos from 0.28
    X = np.random.default_rng(1).normal(size=(len(paths), 32))
    proba = np.tile([0.97, 0.03], (len(paths), 1))
    proba[[0, 12, 13]] = [[0.55, 0.45], [0.56, 0.44], [0.57, 0.43]]  # the picture it is unsure of
    picked = rank_images_for_labeling(paths, X, proba, 5)
    assert len(picked) == 5 and picked[0] == 0
    assert not {12, 13} & set(picked), f"copies of picture 0 suggested again: {picked}"
    # the embeddings alone let them through: the situation this guards against
    assert {12, 13} <= set(rank_for_labeling(X, proba, 5))


def test_distinct_pictures_are_not_taken_for_copies(photos_with_copies):
    signatures = picture_signatures(photos_with_copies)
    correlation = signatures @ signatures.T
    assert correlation[0, 12] > 0.98 and correlation[0, 13] > 0.98  # the copies match
    distinct = correlation[:12, :12][~np.eye(12, dtype=bool)]
    assert distinct.max() < 0.98, "two different pictures counted as one"


def test_an_unreadable_file_matches_no_picture(tmp_path, photos_with_copies):
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    rows = picture_signatures([str(tmp_path / "bad.jpg"), photos_with_copies[0]])
    assert not rows[0].any() and rows[1] @ rows[1] == pytest.approx(1.0)


def test_contact_sheet_captions_name_the_file_and_say_the_probability_as_the_table(
        monkeypatch, color_tree, tmp_path):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    inbox = tmp_path / "inbox"
    for i in range(3):
        make_color_image(inbox / f"purple_{i}.png", (130, 30, 130), 100 + i)
    seen = {}
    real = sheet_module.contact_sheet

    def keep(paths, captions, out, columns=5, **kwargs):
        seen["paths"], seen["captions"] = list(paths), list(captions)
        return real(paths, captions, out, columns, **kwargs)

    monkeypatch.setattr(sheet_module, "contact_sheet", keep)
    assert main(["suggest", str(tmp_path / "m"), str(inbox), "--n", "3", "--out", str(tmp_path / "s")]) == 0
    for path, caption in zip(seen["paths"], seen["captions"], strict=True):
        first, runner_up, name = caption.split("\n")
        # "or blue" under a thumbnail left the user to find which file it was in the CSV
        assert name == path.rsplit("/", 1)[-1]
        assert runner_up.startswith("else ")
        assert first.split()[-1].endswith("%") and "." in first.split()[-1], "99.6%, not 100%"
    assert (tmp_path / "s" / "contact_sheet.png").is_file()


@pytest.mark.parametrize("text", ["short.jpg", "a_very_long_file_name_from_a_camera_0123456789.jpeg",
                                  "#3 a_class_with_a_long_name 51.0%"])
def test_a_caption_line_too_wide_for_its_thumbnail_is_shortened_in_the_middle(text):
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    width = sheet_module.THUMB - 8
    fitted = sheet_module._fit(draw, text, width)
    assert draw.textlength(fitted) <= width, "it ran into the next thumbnail's caption"
    if draw.textlength(text) <= width:
        assert fitted == text
    else:  # both ends kept: the rank and the file's extension stay readable
        assert "..." in fitted and fitted[:3] == text[:3] and fitted[-3:] == text[-3:]


def test_the_servers_suggestions_leave_out_copies_of_a_pick_too(photos_with_copies):
    # POST /projects/{id}/suggest ranked by embeddings only (extras.suggest), so the web UI still
    # listed a half-size copy beside its original
    from handful.server import extras

    paths = photos_with_copies
    X = np.random.default_rng(1).normal(size=(len(paths), 32))
    proba = np.tile([0.97, 0.03], (len(paths), 1))
    proba[[0, 12, 13]] = [[0.55, 0.45], [0.56, 0.44], [0.57, 0.43]]
    ranked, uncertainty = extras.suggest(X, proba, 5, paths)
    assert ranked[0] == 0 and not {12, 13} & set(ranked), ranked
    assert uncertainty.shape == (len(paths),)
