"""``cart bench soak``: paid trips in a row through the real screen, and its memory; and
``cart bench flood``: devices talking as fast as they can, and the screen under them."""

from __future__ import annotations

import json
import sys


def register_bench(sub) -> None:
    b = sub.add_parser("soak", help="paid trips in a row through the screen: memory over time")
    b.add_argument("--trips", type=int, default=200, help="paid trips to play")
    b.add_argument("--warmup", type=int, default=50, help="trips before the warm-up figure")
    b.add_argument("--seed", type=int, default=3)
    b.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="the journal's SQLite synchronous setting (the cart's: FULL)",
    )
    b.add_argument("--every", type=int, default=500, help="a progress line every N trips")
    b.add_argument(
        "--minutes", type=float, default=None, help="stop after this long (report what was played)"
    )
    b.set_defaults(func=_soak)
    f = sub.add_parser("flood", help="devices flooding the runtime: screen staleness, key answers")
    f.add_argument("--rate", type=int, default=10_000, help="scanner codes a second")
    f.add_argument("--seconds", type=float, default=5.0, help="how long the flood lasts")
    f.add_argument("--events", type=int, default=500, help="scans timed per basket size")
    f.add_argument("--sizes", default="10,1000", help="basket sizes (lines) for events/s")
    f.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    f.add_argument("--no-throttle", action="store_true", help="only the unthrottled flood")
    f.set_defaults(func=_flood)


def _soak(args) -> int:
    if args.trips < 1 or args.warmup < 1:
        print("--trips and --warmup must be at least 1", file=sys.stderr)
        return 2
    from cart.bench.soak import SoakError, run

    try:
        result = run(
            args.trips,
            warmup=args.warmup,
            seed=args.seed,
            synchronous=args.synchronous,
            every=max(1, args.every),
            minutes=args.minutes,
            progress=lambda p: print(json.dumps(p), file=sys.stderr, flush=True),
        )
    except SoakError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


def _flood(args) -> int:
    try:
        sizes = tuple(int(x) for x in args.sizes.split(","))
    except ValueError:
        print(f"--sizes: not a list of numbers: {args.sizes!r}", file=sys.stderr)
        return 2
    if args.rate < 1 or args.seconds <= 0 or not sizes or min(sizes) < 1:
        print("--rate, --seconds and --sizes must be positive", file=sys.stderr)
        return 2
    from cart.bench.flood import run

    result = run(
        rate=args.rate,
        seconds=args.seconds,
        sizes=sizes,
        events=args.events,
        synchronous=args.synchronous,
        throttle=not args.no_throttle,
    )
    print(json.dumps(result))
    return 0
