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

    for name, what in (("scanner", "URL"), ("camera", "SOURCE")):
        q = sub.add_parser(
            name, help=f"read a barcode {name} and print its events as JSON lines "
                       "(for bringing a device up)")
        q.add_argument("target", metavar=what,
                       help="serial URL or path (/dev/ttyACM0, simscanner://NAME)" if name ==
                       "scanner" else "V4L2 index or path, video file, or image folder")
        q.add_argument("--profile", help="take the other settings from this hardware profile")
        q.add_argument("--name", default=None, help=f"the [{name}.NAME] section to use")
        q.add_argument("--count", type=int, default=0, help="stop after this many scans")
        q.add_argument("--seconds", type=float, default=0, help="stop after this long")
        q.set_defaults(func=_listen, device=name)


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
    ours_score, base_score = _score([decoder.decode, zxing_decode], kept, images, args.repeat)
    ours, base = ours_score.summary(), base_score.summary()
    if not args.quiet:
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


def _listen(args) -> int:
    """Print a device's events as JSON lines until --count scans, --seconds, or Ctrl-C."""
    import dataclasses
    import queue
    import time
    import tomllib

    section: dict = {}
    name = args.name or ("handheld" if args.device == "scanner" else "basket")
    if args.profile:
        try:
            with open(args.profile, "rb") as f:
                profile = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            print(f"cart {args.device}: {args.profile}: {exc}", file=sys.stderr)
            return 2
        tables = profile.get(args.device, {})
        section = tables.get(name, {}) if isinstance(tables, dict) else {}
        if not isinstance(section, dict):
            print(f"cart {args.device}: [{args.device}.{name}] must be a table", file=sys.stderr)
            return 2
        section = dict(section)
        if not section and args.name:
            print(f"cart {args.device}: no [{args.device}.{name}] in {args.profile}",
                  file=sys.stderr)
            return 2
    if args.device == "scanner":
        from drivers.scanner import Scanner, ScannerConfig, ScannerConfigError

        section["url"] = args.target
        try:
            device = Scanner(ScannerConfig.from_profile(name, section))
        except ScannerConfigError as exc:
            print(f"cart scanner: {exc}", file=sys.stderr)
            return 2
    else:
        from drivers.camera import Camera, CameraConfig, CameraConfigError

        section["source"] = args.target
        try:
            device = Camera(CameraConfig.from_profile(name, section))
        except CameraConfigError as exc:
            print(f"cart camera: {exc}", file=sys.stderr)
            return 2
    deadline = time.monotonic() + args.seconds if args.seconds > 0 else None
    scans = 0
    with device:
        while not (args.count and scans >= args.count):
            wait = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if wait <= 0:
                break
            try:
                event = device.get(timeout=wait)
            except queue.Empty:
                continue
            line = {"event": type(event).__name__, **dataclasses.asdict(event)}
            print(json.dumps(line, ensure_ascii=True), flush=True)  # escapes stay escaped
            if line["event"] == "Scan":
                scans += 1
            elif line.get("detail") == "end of replay":
                break
    return 0
