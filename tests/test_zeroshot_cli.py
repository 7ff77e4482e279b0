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


def test_zeroshot_on_a_folder_of_one_class_scores_it_among_the_named_classes(capsys, tmp_path):
    # "are my strawberries told from broccoli?" with only strawberries at hand was refused
    for i in range(3):
        make_color_image(tmp_path / "test" / "strawberry" / f"r{i}.png", (220, 30, 30), i)
    out = run_json(capsys, ["zeroshot", str(tmp_path / "test"), "--classes", "strawberry,broccoli",
                            "--backbone", "test_imagenet_colors"])
    assert out["n"] == 3 and out["accuracy"] == 1.0
    assert main(["zeroshot", str(tmp_path / "test"), "--backbone", "test_imagenet_colors"]) == 2
    assert "at least 2 class" in capsys.readouterr().err  # without --classes one name is no choice


def test_zeroshot_names_beyond_the_folders_are_candidates_not_dropped(capsys, tmp_path):
    # `--classes strawberry,broccoli,orange` on folders strawberry/ and broccoli/ silently left
    # orange out of the choice
    for i in range(2):
        make_color_image(tmp_path / "test" / "strawberry" / f"r{i}.png", (220, 30, 30), i)
        make_color_image(tmp_path / "test" / "broccoli" / f"g{i}.png", (30, 200, 30), 10 + i)
    out = run_json(capsys, ["zeroshot", str(tmp_path / "test"), "--classes", "strawberry,broccoli,orange",
                            "--backbone", "test_imagenet_colors"])
    assert out["classes"] == {"broccoli": "broccoli", "strawberry": "strawberry", "orange": "orange"}
    assert len(out["confusion_matrix"]) == 3 and out["per_class"]["orange"]["support"] == 0


def test_zeroshot_out_interrupted_midway_keeps_the_earlier_predictions(capsys, color_tree, tmp_path,
                                                                       monkeypatch):
    # the CSV was written in place: Ctrl-C after its first row left a header where the last run's
    # predictions were
    import csv

    from handful.cli import zeroshot as zeroshot_cli

    preds = tmp_path / "p.csv"
    argv = ["zeroshot", str(color_tree), "--backbone", "test_imagenet_colors", "--out", str(preds)]
    run_json(capsys, argv)
    earlier = preds.read_text()

    class Interrupted:  # the csv module, but the second row is never written
        @staticmethod
        def writer(handle):
            real, rows = csv.writer(handle), []

            class Writer:
                def writerow(self, row):
                    rows.append(row)
                    if len(rows) == 2:
                        raise KeyboardInterrupt
                    return real.writerow(row)

            return Writer()

    monkeypatch.setattr(zeroshot_cli, "csv", Interrupted)
    assert main(argv) == 130
    assert preds.read_text() == earlier and len(earlier.splitlines()) == 19
    assert sorted(p.name for p in tmp_path.iterdir()) == ["colors", "p.csv"]  # no temporary file left
