"""Barcode decoding from images: zxing-cpp, plus extra passes for hard photos.

``Decoder.decode(image)`` runs zxing-cpp once on the image as given (all formats, zxing-cpp's
own defaults: rotations, downscaling, inversion). Only when that finds nothing does it try
extra passes, restricted to retail formats (EAN/UPC, GS1 DataBar) and stopping at the first
pass that reads something:

1. ``up2``    - the grey image enlarged 2x (bicubic): thin bars in small or distant codes get
               enough pixels for the edge detector.
2. ``clahe``  - local contrast equalisation: glare, shadows and low light across the code.
3. ``sharp``  - unsharp mask: mild defocus and motion blur.
4. ``up2sharp`` - both: small *and* soft codes.
5. ``gamma``  - a gamma of 2 darkens mid-tones: washed-out, over-exposed prints and glare.
6. ``up2gamma`` - enlarged and darkened: small washed-out codes.

Extra passes only add recall on images where the first pass found nothing, so they cost time
only on hard images. Two different texts from overlapping places in one image (a misread next
to the true read) are a conflict: both are re-read in the ``up2`` pass and only a text it
confirms is kept; if none is confirmed, neither is returned. The cart never guesses.

Text is kept as read (``TextMode.Plain``: GS1 DataBar as plain digits, AI 01 first); the AIM
symbology identifier comes separately. Interpretation is ``cart.store.barcodes``' business.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
import zxingcpp

TEXT_MODE = zxingcpp.TextMode.Plain
RETAIL = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.AllRetail)
LINEAR = frozenset(
    f.name
    for f in zxingcpp.barcode_formats_list(
        zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.AllLinear)
    )
)


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    format: str  # zxing-cpp format name, e.g. "EAN13", "DataBarOmni"
    symbology_identifier: str  # AIM identifier, e.g. "]E0"
    corners: tuple[tuple[int, int], ...]  # quadrilateral in the input image's pixels
    stage: str = "zxing"  # which pass read it

    def as_json(self) -> dict:
        return {
            "text": self.text,
            "format": self.format,
            "symbology_identifier": self.symbology_identifier,
        }


def to_gray(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise ValueError("expected a non-empty uint8 image array")
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    raise ValueError(f"unsupported image shape {image.shape}")


def _results(barcodes, scale: float, stage: str) -> list[Decoded]:
    out = []
    for b in barcodes:
        p = b.position
        corners = tuple(
            (round(q.x / scale), round(q.y / scale))
            for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        )
        out.append(Decoded(b.text, b.format.name, b.symbology_identifier, corners, stage))
    return out


def zxing_decode(
    image: np.ndarray, formats: zxingcpp.BarcodeFormats | None = None
) -> list[Decoded]:
    """zxing-cpp alone with its default options (text as plain digits). The baseline."""
    if formats is None:
        found = zxingcpp.read_barcodes(image, text_mode=TEXT_MODE)
    else:
        found = zxingcpp.read_barcodes(image, formats=formats, text_mode=TEXT_MODE)
    return _results(found, 1.0, "zxing")


# -- extra passes ---------------------------------------------------------------------------


def _up2(g: np.ndarray) -> tuple[np.ndarray, float]:
    return cv2.resize(g, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC), 2.0


_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def _clahe(g: np.ndarray) -> tuple[np.ndarray, float]:
    return _CLAHE.apply(g), 1.0


def _sharpen(g: np.ndarray) -> np.ndarray:
    soft = cv2.GaussianBlur(g, (0, 0), 2.0)
    return cv2.addWeighted(g, 1.8, soft, -0.8, 0)


def _sharp(g: np.ndarray) -> tuple[np.ndarray, float]:
    return _sharpen(g), 1.0


def _up2sharp(g: np.ndarray) -> tuple[np.ndarray, float]:
    big, s = _up2(g)
    return _sharpen(big), s


_GAMMA = (np.linspace(0.0, 1.0, 256) ** 2.0 * 255.0).round().astype(np.uint8)


def _gamma(g: np.ndarray) -> tuple[np.ndarray, float]:
    return cv2.LUT(g, _GAMMA), 1.0


def _up2gamma(g: np.ndarray) -> tuple[np.ndarray, float]:
    big, s = _up2(g)
    return cv2.LUT(big, _GAMMA), s


PASSES: dict[str, Callable[[np.ndarray], tuple[np.ndarray, float]]] = {
    "up2": _up2,
    "clahe": _clahe,
    "sharp": _sharp,
    "up2sharp": _up2sharp,
    "gamma": _gamma,
    "up2gamma": _up2gamma,
}
DEFAULT_PASSES = ("up2", "clahe", "sharp", "up2sharp", "gamma", "up2gamma")


def _whole(gray: np.ndarray) -> tuple[int, int, int, int]:
    return (0, 0, gray.shape[1], gray.shape[0])


def _shifted(found: list[Decoded], dx: int, dy: int) -> list[Decoded]:
    if not dx and not dy:
        return found
    return [replace(d, corners=tuple((x + dx, y + dy) for x, y in d.corners)) for d in found]


GATE_SIDE = 320  # analysis resolution (longest side) of the region gate
GATE_COHERENCE = 0.75  # how strongly one gradient direction must dominate (0..1)
GATE_EDGE = 40.0  # minimum local gradient magnitude (Sobel units) of a stripe region
GATE_MIN_AREA = 0.002  # smallest region kept, as a fraction of the analysed image
GATE_MAX_REGIONS = 3


def candidate_regions(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` around places that look like a linear barcode: many strong
    edges all running the same way (high coherence of the local structure tensor). Extra
    passes run on these crops only, so an image with no stripes costs one cheap look, and a
    small code in a large frame is enlarged without enlarging the whole frame."""
    h, w = gray.shape
    scale = min(1.0, GATE_SIDE / max(h, w))
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        scale = size[0] / w
    else:
        small = gray
    small = small.astype(np.float32)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.boxFilter(gx * gx, -1, (9, 9))
    jyy = cv2.boxFilter(gy * gy, -1, (9, 9))
    jxy = cv2.boxFilter(gx * gy, -1, (9, 9))
    trace = jxx + jyy + 1e-3
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy * jxy) / trace
    mask = ((coherence > GATE_COHERENCE) & (trace > GATE_EDGE**2)).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return []
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:GATE_MAX_REGIONS] + 1
    boxes = []
    for i in order:
        x, y, bw, bh, area = stats[i]
        if area < GATE_MIN_AREA * mask.size:
            break
        mx, my = 0.15 * bw + 4, 0.15 * bh + 4  # margin: quiet zone and the ends of the bars
        x0 = max(0, int((x - mx) / scale))
        y0 = max(0, int((y - my) / scale))
        x1 = min(w, int((x + bw + mx) / scale) + 1)
        y1 = min(h, int((y + bh + my) / scale) + 1)
        boxes.append((x0, y0, x1, y1))
    if any((b[2] - b[0]) * (b[3] - b[1]) > 0.6 * w * h for b in boxes):
        return [_whole(gray)]  # the code fills the picture: no crop
    return boxes


def _overlap(a: Decoded, b: Decoded, slack: float = 0.25) -> bool:
    """Whether two reads are of the same place. A linear code's reported outline can be a
    single scan line, so each box is widened by ``slack`` times its longest side first."""
    boxes = []
    for d in (a, b):
        xs = [p[0] for p in d.corners]
        ys = [p[1] for p in d.corners]
        pad = slack * max(max(xs) - min(xs), max(ys) - min(ys))
        boxes.append((min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad))
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes
    return not (ax1 < bx0 or bx1 < ax0 or ay1 < by0 or by1 < ay0)


class Decoder:
    """zxing-cpp with extra passes for hard photos. Stateless between calls; thread-safe."""

    def __init__(
        self,
        formats=None,
        passes: Sequence[str] = DEFAULT_PASSES,
        pass_formats=RETAIL,
        max_side: int = 1600,
        pass_downscale: bool = True,
        pass_invert: bool = False,
        region_gate: bool = True,
    ) -> None:
        unknown = [p for p in passes if p not in PASSES]
        if unknown:
            raise ValueError(f"unknown decode pass(es) {unknown}; known: {list(PASSES)}")
        self.formats = formats
        self.passes = tuple(passes)
        self.pass_formats = pass_formats
        self.max_side = int(max_side)  # extra passes skip enlarging images bigger than this
        # Enlarged images are not downscaled again (that would undo the pass); light-on-dark
        # codes were already tried by the first pass.
        self.pass_downscale = pass_downscale
        self.pass_invert = pass_invert
        self.region_gate = (
            region_gate  # extra passes only where stripes are (see candidate_regions)
        )

    def decode(self, image: np.ndarray) -> list[Decoded]:
        gray = to_gray(image)
        first = zxing_decode(gray, self.formats)
        if first:
            return self._resolve(gray, first)
        if not self.passes:
            return []
        regions = candidate_regions(gray) if self.region_gate else [_whole(gray)]
        for name in self.passes:
            found = []
            for x0, y0, x1, y1 in regions:
                found += _shifted(self._pass(gray[y0:y1, x0:x1], name), x0, y0)
            if found:
                return self._resolve(gray, found)
        return []

    def _pass(self, gray: np.ndarray, name: str) -> list[Decoded]:
        if name.startswith("up2") and max(gray.shape) * 2 > self.max_side:
            return []
        img, scale = PASSES[name](gray)
        found = zxingcpp.read_barcodes(
            img,
            formats=self.pass_formats,
            text_mode=TEXT_MODE,
            try_downscale=self.pass_downscale and scale == 1.0,
            try_invert=self.pass_invert,
        )
        return _results(found, scale, name)

    def _resolve(self, gray: np.ndarray, found: list[Decoded]) -> list[Decoded]:
        """Drop duplicates; check weak reads; settle overlapping reads that disagree."""
        unique: list[Decoded] = []
        for d in found:
            if not any(u.text == d.text and _overlap(u, d) for u in unique):
                unique.append(d)
        weak = [d for d in unique if _weak(d)]
        conflicted = [
            a
            for a in unique
            if any(a.text != b.text and _overlap(a, b) for b in unique if b is not a)
        ]
        if not weak and not conflicted:
            return unique
        check = self._confirmations(gray)
        texts = {c.text for c in check}
        keep: list[Decoded] = []
        for d in unique:
            if d in conflicted:
                rivals = {u.text for u in unique if u.text != d.text and _overlap(u, d)}
                if d.text in texts and not rivals & texts:
                    keep.append(d)
            elif d in weak and d.text not in texts:
                # Read on a line or two only: a stronger read of the same place overrules it.
                better = [c for c in check if not _weak(c) and _overlap(c, d)]
                keep.extend(b for b in better if b.text not in {k.text for k in keep})
                if not better:
                    keep.append(d)
            else:
                keep.append(d)
        out: list[Decoded] = []
        for d in keep:
            if not any(o.text == d.text and _overlap(o, d) for o in out):
                out.append(d)
        return out

    def _confirmations(self, gray: np.ndarray) -> list[Decoded]:
        for name in ("up2", "sharp"):
            found = self._pass(gray, name)
            if found:
                return found
        return []


def _weak(d: Decoded) -> bool:
    """A linear read found on only a line or two of the symbol (height tiny against its length):
    the kind of read where a misread can still pass the check digit."""
    if d.format not in LINEAR:
        return False
    (a, b, _, e) = d.corners
    length = math.dist(a, b)
    return math.dist(a, e) < max(4.0, 0.03 * length)


_DEFAULT: Decoder | None = None


def decode_image(image: np.ndarray) -> list[Decoded]:
    """Decode with the default :class:`Decoder`."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Decoder()
    return _DEFAULT.decode(image)


def read_image(path) -> np.ndarray:
    """Load an image file as BGR; raises ``ValueError`` naming the file when it cannot."""
    data = np.fromfile(str(path), dtype=np.uint8)
    img = None
    if data.size:
        logging = cv2.utils.logging
        level = logging.getLogLevel()
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)  # we raise our own error below
        try:
            img = cv2.imdecode(data, cv2.IMREAD_COLOR)
        finally:
            logging.setLogLevel(level)
    if img is None:
        raise ValueError(f"{path}: not a readable image")
    return img
