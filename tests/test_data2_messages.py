"""Image backbones at their edges: an unreadable file named in the message, an empty batch, and
labels given as numpy strings coming back as plain str."""

from pathlib import Path

import numpy as np
import pytest

from handful import Classifier, create_backbone
from handful.data.images import ImageDecodeError
from handful.data.items import examples_from
from handful.errors import DataError


@pytest.mark.parametrize("name, content, reason", [
    ("nope.jpg", None, "cannot be read"),
    ("empty.png", b"", "empty file"),
    ("notes.jpg", b"not an image at all", "not an image"),
])
def test_preprocess_of_an_unusable_file_names_the_file_the_reason_and_the_fix(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageDecodeError) as info:
        create_backbone("test_tiny_image").preprocess(str(path))
    message = str(info.value)
    assert f"Image '{path}' {reason}" in message and "Check the path" in message
    assert "\n" not in message
    assert isinstance(info.value, DataError)
    assert info.value.reason.startswith(reason)  # what skip lists show beside the path
    assert info.value.path == str(path)


def test_image_embed_of_an_empty_batch_is_an_empty_array_as_for_text():
    image, text = create_backbone("test_tiny_image"), create_backbone("test_tiny_text")
    for backbone in (image, text):  # text backbones already did this
        out = backbone.embed([])
        assert out.shape == (0, backbone.dim) and out.dtype == np.float32


def listed(color_tree: Path) -> tuple[list[Path], list[str]]:
    paths = sorted(color_tree.rglob("*.*"))
    return paths, [p.parent.name for p in paths]


def test_numpy_string_labels_become_plain_str_in_classes_and_predictions(color_tree):
    paths, labels = listed(color_tree)
    examples = examples_from(paths, np.array(labels), {}, None)
    assert {type(label) for label in examples.labels} == {str}
    clf = Classifier("test_tiny_image", head="prototype").fit(paths, np.array(labels))
    assert list(clf.classes_) == ["blue", "green", "red"]
    assert {type(c) for c in clf.classes_} == {str}  # np.str_ would print as np.str_('red') in reprs
    assert {type(p) for p in clf.predict(paths[:3])} == {str}
