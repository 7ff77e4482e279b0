"""Meta-training and fine-tuning from Python take one folder as a str or Path, as ``Classifier.fit``
does, rather than reading a string's characters as folders or failing on an attribute."""

from pathlib import Path

import pytest

from conftest import make_color_tree
from handful import load
from handful.errors import DataError
from handful.fewshot.protonet import ProtoNetConfig
from handful.fewshot.training import train_model
from handful.finetune.tune import FinetuneConfig, finetune

TINY = ProtoNetConfig(n_way=2, n_shot=1, n_query=1, max_episodes=2, max_minutes=1, val_every=100)


@pytest.mark.parametrize("as_given", [str, Path], ids=["str", "Path"])
def test_protonet_train_model_takes_one_folder_as_a_str_or_path(as_given, color_tree, tmp_path):
    more = make_color_tree(tmp_path / "more", 2, classes=("red", "blue"))
    report = train_model(as_given(color_tree), tmp_path / "m", TINY, backbone="test_tiny_conv",
                         val_fraction=0, extra_train=as_given(more),
                         log=lambda msg: None)  # a str was read as folders '/', 't', ...; a Path failed
    assert report["data"] == [str(color_tree)] and report["extra_train"]["classes"] == 2
    assert sorted(load(tmp_path / "m").classes_) == ["blue", "green", "red"]


@pytest.mark.slow
def test_finetune_takes_a_folder_and_reads_its_train_split(color_splits):
    result = finetune(str(color_splits), "efficientnet_lite0",  # was 'str' has no attribute 'modality'
                      FinetuneConfig(unfreeze=1, refit=False, epochs=1, patience=0, batch_size=8))
    assert result.summary["n_train"] + result.summary["n_val"] == 18  # train/: 6 per class, not val/


def test_finetune_refuses_what_is_neither_a_folder_nor_examples(color_tree):
    with pytest.raises(DataError, match="takes a folder of class sub-folders"):
        finetune([color_tree])
