"""OnnxClassifier.predict_proba_items: float32 whether or not any batch ran."""

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from handful import Classifier  # noqa: E402
from handful.export import OnnxClassifier, export_onnx  # noqa: E402


def test_no_usable_item_gives_an_empty_float32_array_like_a_real_batch(color_tree, tmp_path):
    Classifier("test_tiny_image", head="prototype").fit(color_tree).save(tmp_path / "m")
    export_onnx(tmp_path / "m", tmp_path / "x.onnx")
    model = OnnxClassifier(tmp_path / "x.onnx")
    good = str(next(color_tree.rglob("*.png")))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    real, ok, _ = model.predict_proba_items([good])
    assert real.dtype == np.float32 and ok == [0]
    # no items: no batch runs, and the fallback was a float64 np.zeros, so a caller's dtype
    # depended on whether anything was given
    empty, none_ok, failures = model.predict_proba_items([])
    assert empty.dtype == real.dtype and empty.shape == (0, 3), (empty.dtype, empty.shape)
    assert none_ok == [] and failures == {}
    broken_only, _, failures = model.predict_proba_items([str(broken)])  # a batch of none runs
    assert broken_only.dtype == real.dtype and set(failures) == {0}
