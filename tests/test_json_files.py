"""Every JSON file handful writes is strict JSON: NaN and infinities are written as null."""

import json
import math

import numpy as np
import pytest

from handful.jsontext import json_text


def refuse(token):
    raise ValueError(f"{token} is not JSON")


def test_json_text_writes_nan_and_infinities_at_any_depth_as_null():
    value = {"loss": float("nan"), "rows": [{"acc": np.float32("inf")}, (1.5, -math.inf)],
             "array": np.array([0.5, np.nan]), "n": np.int64(3)}
    doc = json.loads(json_text(value, indent=2), parse_constant=refuse)
    assert doc == {"loss": None, "rows": [{"acc": None}, [1.5, None]], "array": [0.5, None], "n": 3}


def test_json_text_refuses_what_it_cannot_write_unless_given_a_default():
    with pytest.raises(TypeError):
        json_text({"where": object()})
    assert json_text({"where": object()}, default=lambda v: "obj") == '{"where": "obj"}'
