"""Run-time pre-processing is training's evaluation pre-processing, pixel for pixel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import preprocess
from models.training.dataset import augment, eval_view, read_split

MODELS = Path(__file__).resolve().parents[2] / "models"


NON_SQUARE = (  # 464 x 348 and 348 x 464 photos of the train split
    "train/Fruit/Apple/Golden-Delicious/Golden-Delicious_007.jpg",
    "train/Fruit/Pear/Anjou/Anjou_039.jpg",
    "train/Vegetables/Pepper/Yellow-Bell-Pepper/Yellow-Bell-Pepper_024.jpg",
)


def test_runtime_input_equals_training_eval_view(grocery, classifier):
    paths = [p for p, _, _ in read_split(grocery, "val")[::25]]
    paths += [grocery / p for p in NON_SQUARE]
    shapes = set()
    for path in paths:
        rgb = preprocess.load_rgb(path)
        shapes.add(rgb.shape[:2])
        training = eval_view(path)
        runtime = classifier.prepare(rgb)
        assert runtime.dtype == np.uint8 and runtime.shape == (224, 224, 3)
        np.testing.assert_array_equal(runtime, training)
    assert {(348, 348), (464, 348), (348, 464)} <= shapes


def test_non_square_photos_are_centre_cropped(grocery):
    rgb = preprocess.load_rgb(grocery / NON_SQUARE[0])
    assert rgb.shape[:2] == (464, 348)
    np.testing.assert_array_equal(preprocess.center_square(rgb), rgb[58:406])


def test_decoding_gives_rgb_not_bgr(tmp_path):
    import cv2

    bgr = np.zeros((16, 16, 3), np.uint8)
    bgr[..., 2] = 255  # red in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "red.png"), bgr)
    rgb = preprocess.load_rgb(tmp_path / "red.png")
    assert rgb[0, 0].tolist() == [255, 0, 0]


def test_model_takes_raw_pixels(classifier):
    """Training scaled pixels as (x - 127) / 128 inside the network: the int8 model's input must
    be quantised with scale 1 and zero point 0 so that raw uint8 pixels go straight in."""
    d = classifier._in
    assert classifier.input_dtype == np.uint8
    assert d["quantization"] == (1.0, 0)


def test_shipped_model_reproduces_training_outputs(grocery, classifier):
    """``reference.json`` holds the trained float (PyTorch) model's top-5 on val photos, computed
    by the training pipeline; the shipped int8 model must agree with it."""
    ref = json.loads((MODELS / "reference.json").read_text())["images"]
    assert len(ref) >= 10
    agree = 0
    for entry in ref:
        top = classifier.classify_file(grocery / entry["path"], k=5)
        want_label, want_p = entry["top"][0]
        agree += top[0][0] == want_label
        got = dict(top)
        if want_p > 0.6:
            assert got.get(want_label, 0.0) == pytest.approx(want_p, abs=0.25)
    assert agree >= len(ref) - 1


@pytest.mark.slow
@given(h=st.integers(8, 700), w=st.integers(8, 700), seed=st.integers(0, 2**32 - 1))
def test_prepare_shapes(h, w, seed):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = preprocess.prepare(rgb)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    side = min(h, w)
    sq = preprocess.center_square(rgb)
    assert sq.shape[:2] == (side, side)
    # a flat image stays flat whatever its size
    flat = np.full((h, w, 3), 77, np.uint8)
    assert (preprocess.prepare(flat) == 77).all()
    # augmentation keeps the same output contract
    aug = augment(rgb, rng)
    assert aug.shape == (224, 224, 3) and aug.dtype == np.uint8


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((10, 10, 3)),
        np.zeros((4, 100, 3), np.uint8),
        [[1, 2, 3]],
    ],
)
def test_prepare_rejects_bad_frames(bad):
    with pytest.raises(preprocess.ImageError):
        preprocess.prepare(bad)


def test_unreadable_files_raise_image_error(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8 not really a jpeg" * 10)
    for name in ("empty.jpg", "junk.jpg", "missing.jpg"):
        with pytest.raises(preprocess.ImageError, match=name):
            preprocess.load_rgb(tmp_path / name)
