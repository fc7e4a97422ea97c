"""Image pre-processing shared by training and the cart (numpy and OpenCV only).

One function turns a photo into the model's input, and training uses the very same function for
its evaluation view, so the cart sees pixels exactly as the model saw them at selection time:

1. decode (OpenCV), convert BGR to RGB;
2. centre-crop the longer side to a square (about 5 % of the reference photos are 348 x 464);
3. resize to ``size`` x ``size`` with ``cv2.INTER_AREA``;
4. keep ``uint8``: the pixel scaling ``(x - 127) / 128`` that the EfficientNet-Lite0 weights expect
   is done inside the model (the int8 model's input is quantised with scale 1, so raw pixels go in).

Training augmentation (random crops, flips, colour) happens *before* step 3 and is off at run time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_SIZE = 224
PIXEL_MEAN = 127.0
PIXEL_SCALE = 128.0


class ImageError(ValueError):
    """An image file could not be read or is not a usable photo."""


def load_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as an ``H x W x 3`` RGB ``uint8`` array; ``ImageError`` if unusable."""
    import cv2

    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if data.size == 0:
        raise ImageError(f"{path}: empty file")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageError(f"{path}: not a decodable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def check_rgb(rgb: np.ndarray) -> np.ndarray:
    """Validate an RGB frame (``H x W x 3``, ``uint8``, at least 8 x 8) and return it."""
    if not isinstance(rgb, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(rgb).__name__}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageError(f"expected an H x W x 3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise ImageError(f"image too small: {rgb.shape[1]} x {rgb.shape[0]}")
    return rgb


def center_square(rgb: np.ndarray) -> np.ndarray:
    """The largest centred square of ``rgb`` (a view, no copy)."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    top = (h - side) // 2
    left = (w - side) // 2
    return rgb[top : top + side, left : left + side]


def resize(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    import cv2

    if rgb.shape[0] == size and rgb.shape[1] == size:
        return np.ascontiguousarray(rgb)
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)


def prepare(rgb: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """The model input for one RGB frame: ``size x size x 3`` ``uint8``."""
    return resize(center_square(check_rgb(rgb)), size)


def prepare_file(path: str | Path, size: int = INPUT_SIZE) -> np.ndarray:
    return prepare(load_rgb(path), size)


def normalize(pixels: np.ndarray) -> np.ndarray:
    """Float input as the backbone expects it: ``(x - 127) / 128`` (inside the shipped model)."""
    return (pixels.astype(np.float32) - PIXEL_MEAN) / PIXEL_SCALE
