"""Simulated basket camera: renders the frames a camera over the basket would see.

An item photo (from ``../shared/data/grocery-store`` when given, else a plain carton) carries a
barcode rendered by zxing-cpp on a white label. The item moves into the basket over a few frames
and comes to rest; each frame is degraded the way real ones are: perspective (the item tilted),
motion blur while it moves, defocus blur, glare (a specular highlight), low light with sensor
noise. The result is plain BGR pixels: the real camera reader decodes them.

Thread-free and cheap: ``CameraSim(...).frames(8)`` renders eight 640x480 frames in a few
milliseconds each; ``write_frames(folder, n)`` saves them for the camera driver's folder replay.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True)
class Conditions:
    """How hard the frames are. All zero/one gives a clean frame."""

    blur: float = 0.0  # defocus, Gaussian sigma in pixels
    motion: float = 1.0  # motion-blur length per unit of speed (0: none)
    perspective: float = 0.0  # corner jitter as a fraction of the item's size (0..0.3)
    glare: float = 0.0  # strength of a specular highlight (0..1)
    light: float = 1.0  # exposure gain (low light: 0.2..0.5)
    noise: float = 2.0  # sensor noise, standard deviation in grey levels

    def __post_init__(self) -> None:
        if not (
            0 <= self.perspective <= 0.3
            and 0 <= self.glare <= 1
            and 0 < self.light <= 2
            and self.blur >= 0
            and self.motion >= 0
            and self.noise >= 0
        ):
            raise ValueError(f"conditions out of range: {self}")


HARD = Conditions(blur=1.0, motion=1.0, perspective=0.12, glare=0.6, light=0.45, noise=4.0)


def grocery_photos(root: Path | str) -> list[Path]:
    """Photo paths listed in ``grocery-store/train.txt`` (empty when the folder is absent)."""
    root = Path(root)
    listing = root / "train.txt"
    if not listing.is_file():
        return []
    out = []
    for line in listing.read_text(encoding="utf-8").splitlines():
        rel = line.split(",", 1)[0].strip()
        if rel:
            out.append(root / rel)
    return out


def render_barcode(code: str, fmt: str = "EAN13", module_px: int = 2) -> np.ndarray:
    """A grey barcode label (with quiet zones) rendered by zxing-cpp."""
    import zxingcpp

    barcode = zxingcpp.create_barcode(code, getattr(zxingcpp.BarcodeFormat, fmt))
    img = np.asarray(barcode.to_image(scale=module_px, add_quiet_zones=True))
    return np.ascontiguousarray(img, dtype=np.uint8)


_NOISE: dict[tuple[int, int, float], np.ndarray] = {}


def _noise_field(h: int, w: int, sigma: float) -> np.ndarray:
    key = (h, w, float(sigma))
    field = _NOISE.get(key)
    if field is None:
        field = np.random.default_rng(12345).normal(0, sigma, (h + 64, w + 64, 3))
        field = field.round().astype(np.int16)
        field.setflags(write=False)
        if len(_NOISE) > 8:
            _NOISE.clear()
        _NOISE[key] = field
    return field


class CameraSim:
    """Renders frames of one item going into the basket."""

    def __init__(
        self,
        photo: np.ndarray | Path | str | None = None,
        code: str | None = "4006381333931",
        fmt: str = "EAN13",
        size: tuple[int, int] = (640, 480),
        conditions: Conditions = Conditions(),
        seed: int = 0,
        module_px: int = 2,
    ) -> None:
        self.size = size
        self.conditions = conditions
        self.rng = np.random.default_rng(seed)
        self.code = code
        self.background = self._basket(size)
        self.item = self._item(photo, code, fmt, module_px)
        h, w = self.item.shape[:2]
        s = conditions.perspective
        jitter = self.rng.uniform(-s, s, size=(4, 2)) * np.array([w, h])
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        self._warp = cv2.getPerspectiveTransform(src, (src + jitter).astype(np.float32))
        self._glare = None
        if conditions.glare > 0:  # a fixed specular highlight (the lamp does not move)
            gx, gy = self.rng.uniform(0.2, 0.8, size=2)
            w, h = size
            yy, xx = np.ogrid[:h, :w]
            blob = np.exp(-(((xx - gx * w) / (0.12 * w)) ** 2 + ((yy - gy * h) / (0.08 * h)) ** 2))
            self._glare = cv2.cvtColor(
                (255 * conditions.glare * blob).astype(np.uint8), cv2.COLOR_GRAY2BGR
            )

    # -- scene ------------------------------------------------------------------------------

    @staticmethod
    def _basket(size) -> np.ndarray:
        w, h = size
        bg = np.full((h, w, 3), (58, 62, 66), np.uint8)  # dark basket floor
        for x in range(0, w, 40):  # wire grid
            cv2.line(bg, (x, 0), (x, h), (120, 124, 128), 3)
        for y in range(0, h, 40):
            cv2.line(bg, (0, y), (w, y), (120, 124, 128), 3)
        return bg

    def _item(self, photo, code, fmt, module_px) -> np.ndarray:
        if photo is None:
            item = np.full((300, 260, 3), (40, 110, 200), np.uint8)  # a plain carton
        else:
            item = (
                cv2.imread(str(photo), cv2.IMREAD_COLOR)
                if not isinstance(photo, np.ndarray)
                else photo
            )
            if item is None:
                raise ValueError(f"{photo}: not a readable image")
            scale = 300 / max(item.shape[:2])
            item = cv2.resize(item, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        item = item.copy()
        if code is not None:
            label = render_barcode(code, fmt, module_px)
            pad = 6
            lh, lw = label.shape[0] + 2 * pad, label.shape[1] + 2 * pad
            if lw > item.shape[1] - 8 or lh > item.shape[0] - 8:  # grow the item to hold it
                grown = np.zeros(
                    (max(lh + 8, item.shape[0]), max(lw + 8, item.shape[1]), 3), np.uint8
                )
                grown[: item.shape[0], : item.shape[1]] = item
                item = grown
            y0 = item.shape[0] - lh - 4
            x0 = (item.shape[1] - lw) // 2
            item[y0 : y0 + lh, x0 : x0 + lw] = 255
            item[y0 + pad : y0 + pad + label.shape[0], x0 + pad : x0 + pad + label.shape[1]] = (
                label[:, :, None]
            )
        return item

    # -- frames -----------------------------------------------------------------------------

    def frame(self, pos: float, speed: float = 0.0) -> np.ndarray:
        """The scene with the item ``pos`` of the way in (0: above the view, 1: at rest in the
        middle of the basket), moving at ``speed`` (pixels per frame, for motion blur)."""
        w, h = self.size
        c = self.conditions
        frame = self.background.copy()
        ih, iw = self.item.shape[:2]
        cx = (w - iw) / 2
        cy = -ih + pos * ((h - ih) / 2 + ih)
        m = self._warp.copy()
        m = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], np.float64) @ m
        mask = cv2.warpPerspective(np.full((ih, iw), 255, np.uint8), m, (w, h))
        item = cv2.warpPerspective(self.item, m, (w, h), flags=cv2.INTER_LINEAR)
        cv2.copyTo(item, mask, frame)
        length = round(c.motion * speed)
        if length >= 2:  # vertical motion: a box filter along the direction of travel
            frame = cv2.blur(frame, (1, length))
        if c.blur > 0:
            frame = cv2.GaussianBlur(frame, (0, 0), c.blur)
        if self._glare is not None:
            frame = cv2.add(frame, self._glare)
        if c.light != 1.0:
            frame = cv2.convertScaleAbs(frame, alpha=c.light)
        if c.noise > 0:
            noise = _noise_field(h, w, c.noise)  # shared; each frame takes a shifted window
            dy, dx = self.rng.integers(0, 64, size=2)
            frame = cv2.add(frame, noise[dy : dy + h, dx : dx + w], dtype=cv2.CV_8U)
        return frame

    def frames(self, n: int, rest: int = 0) -> list[np.ndarray]:
        """``n`` frames of the item moving in, then ``rest`` frames of it lying still."""
        if n < 1:
            raise ValueError("need at least one frame")
        h = self.size[1]
        travel = (h - self.item.shape[0]) / 2 + self.item.shape[0]
        out = []
        for i in range(n):
            pos = (i + 1) / n
            speed = 0.0 if i == n - 1 else travel / n
            out.append(self.frame(pos, speed))
        out.extend(self.frame(1.0) for _ in range(rest))
        return out

    def empty(self, n: int = 1) -> list[np.ndarray]:
        """Frames of the empty basket (sensor noise only)."""
        return [self.frame(-1.0) for _ in range(n)]

    def write_frames(self, folder: Path | str, n: int, rest: int = 0) -> list[Path]:
        """Save frames as ``frame-0000.png``... for the camera driver's folder replay."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, f in enumerate(self.frames(n, rest)):
            p = folder / f"frame-{i:04d}.png"
            if not cv2.imwrite(str(p), f):
                raise OSError(f"cannot write {p}")
            paths.append(p)
        return paths


def camera_scans(
    code: str,
    fmt: str = "EAN13",
    t0_ms: int = 0,
    frames: int = 4,
    rest: int = 1,
    conditions: Conditions = Conditions(),
    photo: np.ndarray | Path | str | None = None,
    seed: int = 0,
    frame_ms: int = 33,
    reader=None,
    name: str = "basket",
) -> list:
    """Render an item going into the basket and run the real camera reader over the frames:
    the ``Scan`` events a camera would emit (usually one; none when the conditions are too
    hard). Thread-free; costs about 5 ms to render plus a few ms to decode per frame on one
    x86 core. Pass one ``reader`` (``drivers.camera.CameraReader``) across calls to keep its
    duplicate suppression between items."""
    from drivers.camera import CameraConfig, CameraReader

    if reader is None:
        reader = CameraReader(CameraConfig(name=name, source="sim"))
    sim = CameraSim(photo, code=code, fmt=fmt, conditions=conditions, seed=seed)
    out = []
    for i, frame in enumerate(sim.frames(frames, rest)):
        out += reader.process(frame, t0_ms + i * frame_ms)
    return out


@functools.lru_cache(maxsize=4096)
def camera_reads(
    code: str,
    fmt: str = "EAN13",
    frames: int = 4,
    rest: int = 1,
    conditions: Conditions = Conditions(),
    seed: int = 0,
    frame_ms: int = 33,
) -> tuple[tuple[int, str, str], ...]:
    """What the camera reads of one item, as ``((offset_ms, code, symbology), ...)`` from the
    moment the item starts to enter. Deterministic for its arguments and memoised, so a
    simulation that sees the same product again pays nothing: simulated trips use this."""
    scans = camera_scans(code, fmt, 0, frames, rest, conditions, None, seed, frame_ms)
    return tuple((s.t_ms, s.code, s.symbology) for s in scans)
