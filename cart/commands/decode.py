"""``cart decode IMAGE...``, ``cart bench decode DIR...`` and ``cart bench camera``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".pgm", ".ppm"}


def register(sub) -> None:
    p = sub.add_parser("decode", help="decode barcodes in image files (one JSON line each)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--zxing-only", action="store_true",
                   help="zxing-cpp alone with default options (no extra passes)")
    p.set_defaults(func=_decode)


def register_bench(sub) -> None:
    p = sub.add_parser("decode", help="decode rate, false positives and speed vs zxing-cpp")
    p.add_argument("dirs", nargs="+", metavar="DIR",
                   help="folders of N.(png|jpg|webp) with N.txt expectations; "
                        "falsepositives-* folders hold images with no barcode")
    p.add_argument("--repeat", type=int, default=1, help="timing repetitions (default 1)")
    p.add_argument("--quiet", action="store_true", help="print only the final JSON line")
    p.set_defaults(func=_bench_decode)

    c = sub.add_parser("camera", help="camera pipeline frames/s on one core at 640x480")
    c.add_argument("--frames", type=int, default=150, help="frames per scenario (default 150)")
    c.add_argument("--photos", default=None,
                   help="grocery photo folder (default ../shared/data/grocery-store)")
    c.set_defaults(func=_bench_camera)


def _decode(args) -> int:
    from drivers.decode import decode_image, read_image, zxing_decode

    fn = zxing_decode if args.zxing_only else decode_image
    status = 0
    for path in args.images:
        line: dict = {"path": path}
        try:
            img = read_image(path)
        except (ValueError, OSError) as exc:
            line["results"] = []
            line["error"] = str(exc)
            status = 1
        else:
            line["results"] = [d.as_json() for d in fn(img)]
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return status


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


def _score(name, fn, items, images, repeat):
    import time

    stats = {"decoded": 0, "total": 0, "misreads": 0, "false_positives": 0, "negatives": 0,
             "seconds": 0.0, "calls": 0}
    per_set: dict[str, list[int]] = {}
    failures = []
    for (set_name, path, expected), rotations in zip(items, images, strict=True):
        for angle, img in rotations:
            t0 = time.perf_counter()
            for _ in range(repeat):
                found = fn(img)
            stats["seconds"] += (time.perf_counter() - t0) / repeat
            stats["calls"] += 1
            texts = [d.text for d in found]
            row = per_set.setdefault(set_name, [0, 0])
            if expected is None:
                stats["negatives"] += 1
                if texts:
                    stats["false_positives"] += 1
                    failures.append((str(path), angle, "false positive", texts))
                continue
            stats["total"] += 1
            row[1] += 1
            wrong = [t for t in texts if t != expected]
            if wrong:
                stats["misreads"] += 1
                failures.append((str(path), angle, "misread", texts))
            elif texts:
                stats["decoded"] += 1
                row[0] += 1
    total = max(stats["total"], 1)
    return {
        "decode_rate": round(stats["decoded"] / total, 4),
        "decoded": stats["decoded"],
        "images": stats["total"],
        "misreads": stats["misreads"],
        "false_positives": stats["false_positives"],
        "negatives": stats["negatives"],
        "ms_per_image": round(1000 * stats["seconds"] / max(stats["calls"], 1), 3),
        "per_set": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per_set.items())},
    }, failures


def _bench_decode(args) -> int:
    import cv2

    from drivers.decode import Decoder, read_image, zxing_decode

    cv2.setNumThreads(1)  # both decoders measured on one core, as on a loaded Pi
    items, skipped = _collect(args.dirs)
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
    ours, our_fail = _score("cart", decoder.decode, kept, images, args.repeat)
    base, _ = _score("zxing", zxing_decode, kept, images, args.repeat)
    if not args.quiet:
        for path, angle, what, texts in our_fail:
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
        **{k: ours[k] for k in ("decode_rate", "false_positives", "ms_per_image", "misreads",
                                "decoded", "images", "negatives", "per_set")},
        "time_ratio_vs_zxing": round(ratio, 3) if ratio else None,
        "unreadable_files": len(unreadable),
        "zxing": {k: base[k] for k in ("decode_rate", "false_positives", "ms_per_image",
                                       "misreads", "decoded", "images", "per_set")},
        "opencv_threads": cv2.getNumThreads(),
    }
    print(json.dumps(result), flush=True)
    return 0


def _bench_camera(args) -> int:
    from drivers.camera import bench_camera

    result = bench_camera(frames=args.frames, photos=args.photos)
    print(json.dumps(result), flush=True)
    return 0
