"""The from-scratch CNN: shapes, training with and without augmentation, bad files skipped."""

import numpy as np
import pytest
import torch

from handful.data import scan_folder
from handful.errors import DataError
from handful.finetune.data import center_square, load_image_set
from handful.finetune.scratch import ScratchConfig, SmallCNN, train_scratch

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py

def test_small_cnn_has_three_conv_pool_blocks_and_outputs_logits():
    net = SmallCNN(n_classes=5, size=64)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.modules()) == 3
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in net.modules()) == 3
    assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 5)


@pytest.mark.parametrize("augment", ["none", "default"])
def test_scratch_cnn_learns_colors(color_splits, augment):
    train, _ = load_image_set(scan_folder(color_splits / "train"), 32)
    val, _ = load_image_set(scan_folder(color_splits / "val"), 32, classes=train.classes)
    config = ScratchConfig(size=32, epochs=40, patience=0, lr=3e-3, dropout=0.0,
                           validation_fraction=0.0, augment=augment, batch_size=8)
    model, history = train_scratch(train, config)
    assert len(history.epochs) == 40 and history.best_epoch == 40
    predicted = model.predict(val.images)
    truth = [val.classes[k] for k in val.labels]
    assert predicted == truth  # red, green and blue differ in every pixel: any CNN gets them


@pytest.mark.parametrize("refit", [True, False])
def test_scratch_refit_trains_on_every_image_for_the_best_epoch_count(color_tree, refit):
    images, _ = load_image_set(scan_folder(color_tree), 32)
    config = ScratchConfig(size=32, epochs=4, patience=0, batch_size=8, validation_fraction=0.34,
                           refit=refit)
    model, history = train_scratch(images, config)
    if not refit:
        assert history.refit is None
        return
    assert history.refit["n_train"] == 18  # 12 trained + 6 validated in the first pass
    assert history.refit["epochs"] == history.best_epoch >= 1
    assert [e["epoch"] for e in history.refit["history"]] == list(range(1, history.best_epoch + 1))
    assert all("val_loss" not in e for e in history.refit["history"])
    assert model.predict_proba(images.images[:2]).shape == (2, 3)


def test_load_image_set_skips_a_broken_file_and_lists_it(color_tree):
    (color_tree / "red" / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n nope")
    images, kept = load_image_set(scan_folder(color_tree), 32)
    assert len(images) == 18 and len(kept) == 18
    assert any("zz_broken" in path for path, _ in kept.skipped)


def test_load_image_set_fails_when_a_class_has_no_readable_image(tmp_path, color_tree):
    examples = scan_folder(color_tree)
    for path in examples.items:
        if "/red/" in path:
            with open(path, "r+b") as f:
                f.truncate(20)  # header intact, pixels gone: decoding fails later
    with pytest.raises(DataError, match="Class 'red'"):
        load_image_set(examples, 32)


def test_center_square_resizes_short_side_and_crops():
    image = np.zeros((40, 100, 3), dtype=np.uint8)
    image[:, 45:55] = 255  # a white bar in the middle survives the center crop
    out = center_square(image, 20)
    assert out.shape == (20, 20, 3) and out[:, 10].min() == 255


def test_center_square_of_a_strip_never_builds_the_giant_resize():
    # A 20000x1 strip scaled to a 32-px short side would be 640,000x32 pixels (61 MB); the
    # central square is cropped first, so the result is the same with no giant intermediate.
    import tracemalloc

    strip = np.zeros((1, 20000, 3), dtype=np.uint8)
    strip[0, 9990:10010] = 255  # white around the middle: the central square
    tracemalloc.start()
    out = center_square(strip, 32)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == (32, 32, 3) and out.max() == 255
    assert peak < 5_000_000
    wide = np.random.default_rng(0).integers(0, 255, (40, 150, 3), dtype=np.uint8)  # ratio < 4
    assert center_square(wide, 20).shape == (20, 20, 3)


def test_decoding_images_on_threads_leaves_the_warning_filters_as_they_were(color_tree):
    # load_image silenced PIL inside warnings.catch_warnings(), which is not thread-safe: two threads
    # decoding at once left "ignore every warning" behind for the rest of the process, so the CLI's
    # own warnings (finetune's "No validation split", an unwritable cache ...) were never shown
    import warnings

    before = list(warnings.filters)
    for _ in range(10):
        load_image_set(scan_folder(color_tree), 64)
    assert warnings.filters == before
