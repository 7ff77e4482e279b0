"""``handful zeroshot``: accuracy on labeled data, predictions on unlabeled data, clear errors."""

import json

import pytest

import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
from conftest import make_color_image
from handful.cli import main
from handful.zeroshot import scorer


@pytest.fixture(autouse=True)
def tiny_text_names(monkeypatch):
    monkeypatch.setattr(scorer, "DEFAULT_TEXT_BACKBONE", "test_tiny_text")


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out.strip().splitlines()[-1])


def test_zeroshot_on_a_labeled_folder_reports_accuracy_with_names_mapped_to_folders(
        capsys, color_tree, tmp_path):
    # Folders blue/green/red; names given in sorted-folder order, mapped in that order.
    out = run_json(capsys, ["zeroshot", str(color_tree), "--classes", "orange,broccoli,strawberry",
                            "--backbone", "test_imagenet_colors", "--out", str(tmp_path / "p.csv")])
    assert out["classes"] == {"blue": "orange", "green": "broccoli", "red": "strawberry"}
    assert out["accuracy"] == 1.0 and out["n"] == 18 and out["method"] == "conse"
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 19  # header + 18 rows


def test_zeroshot_on_unlabeled_images_needs_class_names_and_counts_predictions(capsys, tmp_path):
    for i in range(3):
        make_color_image(tmp_path / "inbox" / f"r{i}.png", (220, 30, 30), i)
    assert main(["zeroshot", str(tmp_path / "inbox"), "--backbone", "test_imagenet_colors"]) == 2
    assert "--classes" in capsys.readouterr().err
    out = run_json(capsys, ["zeroshot", str(tmp_path / "inbox"), "--classes", "strawberry,broccoli",
                            "--backbone", "test_imagenet_colors"])
    assert out["counts"] == {"strawberry": 3, "broccoli": 0}


def test_zeroshot_on_texts_uses_the_template(capsys, tmp_path):
    (tmp_path / "r.csv").write_text("text,label\nreally great,1\ngreat fun,1\nawful mess,0\n"
                                    "so awful,0\n")
    out = run_json(capsys, ["zeroshot", str(tmp_path / "r.csv"), "--classes", "awful,great",
                            "--backbone", "test_tiny_text", "--template", "simply {}"])
    assert out["classes"] == {"0": "awful", "1": "great"} and out["accuracy"] == 1.0
    assert out["method"] == "cosine"


@pytest.mark.parametrize("argv, message", [
    (["--classes", "a,b,c", "--template", "no placeholder"], "exactly once"),
    (["--classes", "a,b,c,d"], "one name per label"),
    (["--backbone", "open_clip:ViT-B-32/laion2b_s34b_b79k"], "open_clip"),
])
def test_zeroshot_user_errors_are_one_line(capsys, color_tree, argv, message):
    assert main(["zeroshot", str(color_tree), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
