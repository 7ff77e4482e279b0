"""s23 README audit: places where README.md and the product disagree, run as a new user would.

Each test was xfail (strict) until the code or the README, whichever was wrong, was fixed.
"""

from __future__ import annotations

import json

from handful.cli import main


def _run(capsys, argv: list[str]) -> tuple[int, dict]:
    """Exit code and the last --json stdout line of ``handful ARGV --json``."""
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out.strip().splitlines()[-1])


def test_embed_that_found_nothing_usable_does_not_block_the_corrected_rerun(capsys, color_tree, tmp_path):
    # README: input with nothing usable is an error (exit 2), "never an empty success"; the user then
    # fixes the input and runs the same command again. The failed run left emb.npy (one NaN row),
    # emb.index.csv and emb.meta.json behind, and the corrected run was refused: "emb.npy holds 1 rows
    # ...; this run lists 18 inputs. Pass --overwrite". predict, in the same case, lets it run.
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "junk.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "emb.npy"
    code, failed = _run(capsys, ["embed", str(wrong), "--out", str(out), "--backbone", "test_tiny_image"])
    assert code == 2 and "could be used" in failed["error"]
    code, rerun = _run(capsys, ["embed", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image"])
    assert code == 0, rerun  # the failed run wrote no embedding, so there is nothing to resume
    assert rerun["n"] == 18


def test_train_with_the_zero_shot_prior_calibrates_or_says_it_did_not(capsys, tmp_path, tiny_text_names):
    # README: "Confidence is calibrated ... A head named with --head is cross-validated and
    # calibrated too; with fewer than 20 distinct examples answered out of fold, a head stays as it
    # is", and "Because confidence is calibrated, the threshold [--min-confidence] means roughly what
    # it says". With --zero-shot-prior (the setup README recommends for texts) model.json's
    # calibration is null and train prints no "Confidence:" line at all: the user is not told.
    import zeroshot_support  # noqa: F401  (registers test_imagenet_colors)
    from conftest import make_color_tree

    data = make_color_tree(tmp_path / "colors", n_per_class=8)  # 24 answers out of fold: >= 20
    out = tmp_path / "m"
    code = main(["train", str(data), "--out", str(out), "--backbone", "test_imagenet_colors",
                 "--zero-shot-prior", "--no-advise"])
    captured = capsys.readouterr()
    said = captured.out + captured.err  # the human lines: stdout without --json
    assert code == 0, said
    calibration = json.loads((out / "model.json").read_text(encoding="utf-8"))["calibration"]
    assert calibration is not None or "Confidence:" in said, said


def test_predict_prints_a_threshold_just_under_1_as_typed_not_as_100_percent(capsys, color_tree, tmp_path):
    # README: --min-confidence answers "the inputs whose top probability is at least" the threshold;
    # the summary printed "Answered 18 of 18 (100.0%) at ≥ 100% confidence" for 0.9999999
    # (abstain.percent formats with %g: 6 significant digits), a threshold no probability
    # below 1 passes, while the answered rows had p < 1. A threshold as typed is 99.99999%.
    model = tmp_path / "m"
    assert main(["train", str(color_tree), "--out", str(model), "--backbone", "test_tiny_image",
                 "--no-advise"]) == 0
    capsys.readouterr()
    assert main(["predict", str(model), str(color_tree), "--min-confidence", "0.9999999"]) == 0
    said = capsys.readouterr()
    summary = [line for line in (said.out + said.err).splitlines() if line.startswith("Answered")]
    assert summary and "≥ 100%" not in summary[0], summary
