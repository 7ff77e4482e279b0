"""`protonet train --extra-train`: a bad extra folder is named as the option the user typed."""

from conftest import make_color_image, one_error_line
from fewshot_glyphs import make_glyph_tree


def test_a_missing_extra_folder_is_named_as_the_option(capsys, tmp_path):
    glyphs = make_glyph_tree(tmp_path / "glyphs")
    err = one_error_line(capsys, ["protonet", "train", str(glyphs), "--out", str(tmp_path / "m"), "--nested",
                                  "--extra-train", str(tmp_path / "nope")])
    # "Data folder '...'" read as the DATA argument, which exists: the user would look in the wrong place
    assert f"--extra-train folder '{tmp_path / 'nope'}' does not exist" in err


def test_an_extra_folder_of_one_class_is_named_as_the_option(capsys, tmp_path):
    glyphs = make_glyph_tree(tmp_path / "glyphs")
    extra = tmp_path / "extra"
    for i in range(3):
        (extra / "only").mkdir(parents=True, exist_ok=True)
        make_color_image(extra / "only" / f"{i}.png", (200, 200, 200), seed=i)
    err = one_error_line(capsys, ["protonet", "train", str(glyphs), "--out", str(tmp_path / "m"), "--nested",
                                  "--extra-train", str(extra)])
    assert f"--extra-train folder '{extra}' needs at least 2 class sub-folders" in err
