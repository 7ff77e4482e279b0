"""Augmentation transforms: fill modes behave like numpy.pad, shapes and dtypes are kept,
randomness comes only from the rng passed in."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handful.augment import FILL_MODES, PRESETS, TRANSFORMS, AugmentConfig, create_augment
from handful.augment import transforms as T
from handful.errors import DataError, UnknownNameError

SHIFT = 3


def gradient_image(height: int = 6, width: int = 12) -> np.ndarray:
    """Distinct values along x (10, 20, ...) so each uncovered column says where it came from."""
    row = (np.arange(width, dtype=np.uint8) + 1) * 10
    return np.repeat(np.tile(row, (height, 1))[..., None], 3, axis=2)


def shift_right(fill: str, fill_value: float = 0.0) -> np.ndarray:
    """Translate the gradient right by exactly SHIFT pixels (translate range pinned to one value)."""
    import albumentations as A

    albu = A.Affine(translate_px={"x": (SHIFT, SHIFT), "y": (0, 0)},
                    border_mode=T.border_mode(fill), fill=fill_value, p=1.0)
    step = T.Transform("shift", {}, lambda image: albu)
    return step(gradient_image(), np.random.default_rng(0))[0, :, 0]


ROW = gradient_image()[0, :, 0].astype(int)  # 10, 20, ..., 120


def test_fill_constant_puts_the_fill_value_in_the_uncovered_strip():
    out = shift_right("constant", fill_value=7)
    assert list(out[:SHIFT]) == [7, 7, 7]
    assert list(out[SHIFT:]) == list(ROW[:-SHIFT])  # the image itself just moved


def test_fill_edge_repeats_the_edge_pixel():
    out = shift_right("edge")
    assert list(out[:SHIFT]) == [ROW[0]] * SHIFT


def test_fill_reflect_mirrors_about_the_edge_pixel_without_repeating_it():
    out = shift_right("reflect")
    assert list(out[:SHIFT]) == [ROW[3], ROW[2], ROW[1]]  # d c b | a b c d
    assert list(out[:SHIFT]) == list(np.pad(ROW, (SHIFT, 0), mode="reflect")[:SHIFT])


def test_fill_symmetric_mirrors_including_the_edge_pixel():
    out = shift_right("symmetric")
    assert list(out[:SHIFT]) == [ROW[2], ROW[1], ROW[0]]  # c b a | a b c d
    assert list(out[:SHIFT]) == list(np.pad(ROW, (SHIFT, 0), mode="symmetric")[:SHIFT])


def test_fill_wrap_repeats_the_opposite_edge():
    out = shift_right("wrap")
    assert list(out[:SHIFT]) == list(ROW[-SHIFT:])  # the right edge reappears on the left
    assert list(out) == list(np.roll(ROW, SHIFT))


def test_every_fill_mode_name_is_tested_above():
    assert set(FILL_MODES) == {"constant", "edge", "reflect", "symmetric", "wrap"}


@pytest.mark.parametrize("fill", sorted(FILL_MODES))
def test_translate_builder_uses_the_fill_mode(fill):
    # A large random shift of a constant-bordered gradient: with "constant" and fill 0 zeros
    # appear; with every other mode no pixel is 0 because all values come from the image.
    image = gradient_image(16, 16)
    outs = [T.translate(0.3, fill=fill)(image, np.random.default_rng(s)) for s in range(5)]
    has_zero = any((o == 0).any() for o in outs)
    assert has_zero == (fill == "constant")


def test_unknown_fill_mode_suggests_the_close_name():
    with pytest.raises(UnknownNameError, match="Did you mean 'reflect'"):
        T.translate(0.1, fill="reflekt")


def _all_transforms():
    return [(name, factory()) for name, factory in TRANSFORMS.items()] + [
        (f"preset:{name}", create_augment(name)) for name in PRESETS]


@settings(max_examples=25, deadline=None)
@given(height=st.integers(8, 48), width=st.integers(8, 48), channels=st.sampled_from([0, 1, 3]),
       dtype=st.sampled_from([np.uint8, np.float32]), seed=st.integers(0, 2**32 - 1))
def test_every_transform_keeps_image_size_and_dtype(height, width, channels, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (height, width) if channels == 0 else (height, width, channels)
    image = rng.random(shape).astype(np.float32)
    image = (image * 255).astype(np.uint8) if dtype == np.uint8 else image
    for name, transform in _all_transforms():
        out = transform(image, rng)
        assert out.shape == image.shape, name
        assert out.dtype == image.dtype, name


def test_same_seed_same_images_and_different_seed_different_images():
    image = (np.random.default_rng(1).random((32, 40, 3)) * 255).astype(np.uint8)
    augment = create_augment("strong")
    a = augment(image, np.random.default_rng(5))
    b = augment(image, np.random.default_rng(5))
    c = augment(image, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_preset_none_is_the_identity():
    image = (np.random.default_rng(2).random((20, 30, 3)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(create_augment("none")(image, np.random.default_rng(0)), image)


def test_vertical_flip_is_off_in_every_preset():
    assert all(config.vflip == 0 for config in PRESETS.values())


def test_hflip_with_probability_one_mirrors():
    image = gradient_image()
    np.testing.assert_array_equal(T.hflip(p=1.0)(image, np.random.default_rng(0)), image[:, ::-1])


@pytest.mark.parametrize("settings_, match", [
    ({"rotate": -5}, "'rotate' augmentation setting"),
    ({"zoom": 2.0}, "'zoom' augmentation setting"),
])
def test_out_of_range_settings_name_the_setting(settings_, match):
    with pytest.raises(DataError, match=match):
        create_augment("default", **settings_)


def test_unknown_preset_and_setting_are_named():
    with pytest.raises(UnknownNameError, match="Did you mean 'strong'"):
        create_augment("strng")
    with pytest.raises(UnknownNameError, match="Unknown augmentation setting 'rotation'"):
        AugmentConfig.from_json({"rotation": 10})


def test_fingerprint_changes_with_the_config():
    assert create_augment("default").fingerprint != create_augment("default", fill="wrap").fingerprint
    assert create_augment("light").fingerprint == create_augment("light").fingerprint


@pytest.mark.parametrize("fill_value", ["red", 300, -1, float("nan"), [10, 20], None])
def test_fill_value_must_be_a_pixel_value_or_one_per_channel(fill_value):
    # "red" reached albumentations and failed there with a pydantic traceback; 300 and -1 were
    # silently clipped to 255 and 0
    with pytest.raises(DataError, match="'fill_value' augmentation setting must be a number in"):
        create_augment("default", fill="constant", fill_value=fill_value)


def test_fill_value_per_channel_is_accepted():
    image = np.full((20, 30, 3), 100, np.uint8)
    out = T.translate(0.4, fill="constant", fill_value=[10, 20, 30])(image, np.random.default_rng(0))
    assert {tuple(px) for px in out.reshape(-1, 3)} == {(100, 100, 100), (10, 20, 30)}
    create_augment("default", fill="constant", fill_value=[0, 128, 255.0])
