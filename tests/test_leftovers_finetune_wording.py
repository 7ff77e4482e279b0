"""Fine-tuning messages read as English at 0 and 1 blocks, and at 1 skipped file."""

import json

import pytest
from PIL import Image

from handful.cli import main
from handful.cli.finetune import tuned_part
from handful.data import Examples
from handful.errors import DataError
from handful.finetune.data import load_image_set


@pytest.mark.parametrize("n, expected", [(0, "head only (backbone frozen)"),
                                         (1, "last block and the final 1x1 conv"),
                                         (3, "last 3 blocks and the final 1x1 conv")])
def test_tuned_part_is_singular_at_one_block_and_says_head_only_at_zero(n, expected):
    # "the last 1 blocks" and "the last 0 blocks" were printed as they came
    assert tuned_part(n) == expected


@pytest.mark.slow  # real EfficientNet-Lite0 weights
def test_finetune_cli_says_the_last_block_for_unfreeze_1(capsys, color_splits, tmp_path):
    code = main(["finetune", str(color_splits), "--out", str(tmp_path / "m"), "--unfreeze", "1",
                 "--epochs", "1", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["finetune"]["unfreeze"] == 1
    # was "the last 1 blocks"
    assert "Fine-tuned the last block and the final 1x1 conv on" in captured.err, captured.err
    assert "1 blocks" not in captured.err


def test_a_class_lost_to_one_bad_file_says_1_file_skipped(tmp_path):
    good, bad = tmp_path / "a.png", tmp_path / "b.png"
    Image.new("RGB", (8, 8), (200, 0, 0)).save(good)
    bad.write_bytes(b"not an image")
    examples = Examples((str(good), str(bad)), ("red", "blue"), "image", source=str(tmp_path))
    with pytest.raises(DataError, match=r"\(1 file skipped\)"):  # was "(1 files skipped)"
        load_image_set(examples, 32)
