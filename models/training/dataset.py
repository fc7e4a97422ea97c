"""The reference grocery photos: class list, splits and training augmentation (numpy/OpenCV)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.preprocess import INPUT_SIZE, center_square, load_rgb, prepare, resize


@dataclass(frozen=True, slots=True)
class ClassInfo:
    fine_id: int
    name: str
    coarse_id: int
    coarse: str


def read_classes(root: Path) -> list[ClassInfo]:
    """``classes.csv`` of the Grocery Store dataset, ordered by fine class id (0..80)."""
    out = []
    with open(root / "classes.csv", newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows)
        for row in rows:
            if row:
                out.append(ClassInfo(int(row[1]), row[0].strip(), int(row[3]), row[2].strip()))
    out.sort(key=lambda c: c.fine_id)
    if [c.fine_id for c in out] != list(range(len(out))):
        raise ValueError(f"{root / 'classes.csv'}: fine class ids are not 0..{len(out) - 1}")
    return out


def read_split(root: Path, split: str) -> list[tuple[Path, int, int]]:
    """``(image path, fine id, coarse id)`` for each line of ``<split>.txt``."""
    items = []
    for n, line in enumerate((root / f"{split}.txt").read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            raise ValueError(f"{root / split}.txt line {n}: expected 'path, fine, coarse'")
        items.append((root / parts[0], int(parts[1]), int(parts[2])))
    return items


def augment(rgb: np.ndarray, rng: np.random.Generator, size: int = INPUT_SIZE) -> np.ndarray:
    """One training view: random crop (35-100 % of the area), mirror, mild colour change.

    Colour is changed gently: it separates e.g. Granny Smith from Golden Delicious.
    """
    import cv2

    h, w = rgb.shape[:2]
    for _ in range(10):
        area = rng.uniform(0.35, 1.0) * h * w
        ratio = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        cw = round(float(np.sqrt(area * ratio)))
        ch = round(float(np.sqrt(area / ratio)))
        if 0 < cw <= w and 0 < ch <= h:
            top = int(rng.integers(0, h - ch + 1))
            left = int(rng.integers(0, w - cw + 1))
            crop = rgb[top : top + ch, left : left + cw]
            break
    else:
        crop = center_square(rgb)
    out = resize(crop, size)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    hsv = cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-4, 4)) % 180  # OpenCV hue is 0..179
    hsv[..., 1] *= rng.uniform(0.8, 1.2)
    hsv[..., 2] *= rng.uniform(0.75, 1.25)
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)
    contrast = rng.uniform(0.8, 1.2)
    mean = out.mean()
    return np.clip((out.astype(np.float32) - mean) * contrast + mean, 0, 255).astype(np.uint8)


def eval_view(path: Path, size: int = INPUT_SIZE) -> np.ndarray:
    """The evaluation view: exactly what the cart's runtime feeds the model."""
    return prepare(load_rgb(path), size)
