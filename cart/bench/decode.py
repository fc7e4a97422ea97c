"""``cart bench decode DIR...``: decode rate, false positives and ms per image, with zxing-cpp
alone as the peer measured in the same run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from drivers.camera import IMAGE_SUFFIXES


def _expectation(image: Path) -> str | None:
    txt = image.with_suffix(".txt")
    if not txt.is_file():
        return None
    return txt.read_text(encoding="utf-8").strip()


def _collect(dirs):
    """(set name, image path, expected text or None for a false-positive set)."""
    items, skipped = [], []
    folders = []
    for d in map(Path, dirs):
        if not d.is_dir():
            raise SystemExit(f"cart bench decode: {d} is not a folder")
        has_images = any(p.suffix.lower() in IMAGE_SUFFIXES for p in d.iterdir())
        # A folder of sets (../shared/data/barcodes) stands for the sets in it.
        folders += [d] if has_images else sorted(p for p in d.iterdir() if p.is_dir())
    for d in folders:
        negative = d.name.startswith("falsepositives")
        for p in sorted(d.iterdir()):
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            expected = None if negative else _expectation(p)
            if not negative and expected is None:
                skipped.append(str(p))
                continue
            items.append((d.name, p, expected))
    return items, skipped


class _Score:
    """Tally of one decoder over the benchmark images."""

    def __init__(self) -> None:
        self.decoded = self.total = self.misreads = self.false_positives = self.negatives = 0
        self.seconds = 0.0
        self.calls = 0
        self.per_set: dict[str, list[int]] = {}
        self.failures: list[tuple[str, int, str, list[str]]] = []

    def add(self, set_name, path, angle, expected, texts, seconds) -> None:
        self.seconds += seconds
        self.calls += 1
        row = self.per_set.setdefault(set_name, [0, 0])
        if expected is None:
            self.negatives += 1
            if texts:
                self.false_positives += 1
                self.failures.append((str(path), angle, "false positive", texts))
            return
        self.total += 1
        row[1] += 1
        if any(t != expected for t in texts):
            self.misreads += 1
            self.failures.append((str(path), angle, "misread", texts))
        elif texts:
            self.decoded += 1
            row[0] += 1

    def summary(self) -> dict:
        return {
            "decode_rate": round(self.decoded / max(self.total, 1), 4),
            "decoded": self.decoded,
            "images": self.total,
            "misreads": self.misreads,
            "false_positives": self.false_positives,
            "negatives": self.negatives,
            "ms_per_image": round(1000 * self.seconds / max(self.calls, 1), 3),
            "per_set": {k: f"{v[0]}/{v[1]}" for k, v in sorted(self.per_set.items())},
        }


def _score(fns, items, images, repeat):
    """Run every decoder on every image and rotation, interleaved image by image so that both
    see the same machine load; returns one :class:`_Score` per decoder."""
    import time

    scores = [_Score() for _ in fns]
    for (set_name, path, expected), rotations in zip(items, images, strict=True):
        for angle, img in rotations:
            for fn, score in zip(fns, scores, strict=True):
                t0 = time.perf_counter()
                for _ in range(repeat):
                    found = fn(img)
                dt = (time.perf_counter() - t0) / repeat
                score.add(set_name, path, angle, expected, [d.text for d in found], dt)
    return scores


def run(dirs, *, repeat: int = 1, quiet: bool = False) -> int:
    """Score our decoder and plain zxing-cpp on every image at 0° and 180°; prints the JSON line."""
    import cv2

    from drivers.decode import Decoder, read_image, zxing_decode

    cv2.setNumThreads(1)  # both decoders measured on one core, as on a loaded Pi
    items, skipped = _collect(dirs)
    if not items:
        print("cart bench decode: no images found", file=sys.stderr)
        return 2
    images, kept, unreadable = [], [], []
    for item in items:
        try:
            img = read_image(item[1])
        except ValueError:
            unreadable.append(str(item[1]))
            continue
        kept.append(item)
        images.append([(0, img), (180, cv2.rotate(img, cv2.ROTATE_180))])
    decoder = Decoder()
    ours_score, base_score = _score([decoder.decode, zxing_decode], kept, images, repeat)
    ours, base = ours_score.summary(), base_score.summary()
    if not quiet:
        for path, angle, what, texts in ours_score.failures:
            print(json.dumps({"path": path, "rotation": angle, "problem": what, "texts": texts}))
        for path in unreadable:
            print(json.dumps({"path": path, "problem": "unreadable image (not counted)"}))
        for path in skipped:
            print(json.dumps({"path": path, "problem": "no .txt expectation (not counted)"}))
    ratio = ours["ms_per_image"] / base["ms_per_image"] if base["ms_per_image"] else None
    result = {
        "bench": "decode",
        "sets": sorted({i[0] for i in kept}),
        "rotations": [0, 180],
        **{
            k: ours[k]
            for k in (
                "decode_rate",
                "false_positives",
                "ms_per_image",
                "misreads",
                "decoded",
                "images",
                "negatives",
                "per_set",
            )
        },
        "time_ratio_vs_zxing": round(ratio, 3) if ratio else None,
        "unreadable_files": len(unreadable),
        "zxing": {
            k: base[k]
            for k in (
                "decode_rate",
                "false_positives",
                "ms_per_image",
                "misreads",
                "decoded",
                "images",
                "per_set",
            )
        },
        "opencv_threads": cv2.getNumThreads(),
    }
    print(json.dumps(result), flush=True)
    return 0
