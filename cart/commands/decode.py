"""``cart decode IMAGE...``, ``cart bench decode DIR...`` and ``cart bench camera``."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("decode", help="decode barcodes in image files (one JSON line each)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument(
        "--zxing-only",
        action="store_true",
        help="zxing-cpp alone with default options (no extra passes)",
    )
    p.set_defaults(func=_decode)

    for name, what in (("scanner", "URL"), ("camera", "SOURCE")):
        q = sub.add_parser(
            name,
            help=f"read a barcode {name} and print its events as JSON lines "
            "(for bringing a device up)",
        )
        q.add_argument(
            "target",
            metavar=what,
            help="serial URL or path (/dev/ttyACM0, simscanner://NAME)"
            if name == "scanner"
            else "V4L2 index or path, video file, or image folder",
        )
        q.add_argument("--profile", help="take the other settings from this hardware profile")
        q.add_argument("--name", default=None, help=f"the [{name}.NAME] section to use")
        q.add_argument("--count", type=int, default=0, help="stop after this many scans")
        q.add_argument("--seconds", type=float, default=0, help="stop after this long")
        q.set_defaults(func=_listen, device=name)


def register_bench(sub) -> None:
    p = sub.add_parser("decode", help="decode rate, false positives and speed vs zxing-cpp")
    p.add_argument(
        "dirs",
        nargs="+",
        metavar="DIR",
        help="folders of N.(png|jpg|webp) with N.txt expectations; "
        "falsepositives-* folders hold images with no barcode",
    )
    p.add_argument("--repeat", type=int, default=1, help="timing repetitions (default 1)")
    p.add_argument("--quiet", action="store_true", help="print only the final JSON line")
    p.set_defaults(func=_bench_decode)

    c = sub.add_parser("camera", help="camera pipeline frames/s on one core at 640x480")
    c.add_argument("--frames", type=int, default=150, help="frames per scenario (default 150)")
    c.add_argument(
        "--photos", default=None, help="grocery photo folder (default ../shared/data/grocery-store)"
    )
    c.set_defaults(func=_bench_camera)


def _decode(args) -> int:
    from cart.common.text import visible_json
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
        print(visible_json(line), flush=True)
    return status


def _bench_decode(args) -> int:
    from cart.bench.decode import run

    return run(args.dirs, repeat=args.repeat, quiet=args.quiet)


def _bench_camera(args) -> int:
    from cart.bench.camera import bench_camera

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
            print(
                f"cart {args.device}: no [{args.device}.{name}] in {args.profile}", file=sys.stderr
            )
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
