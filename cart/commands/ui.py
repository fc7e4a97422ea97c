"""``cart run --profile hardware/profiles/NAME.toml`` (the cart on its hardware) and
``cart bench ui`` (device event → total on screen, idle CPU, start-up, memory)."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("run", help="run the cart on the devices of a hardware profile")
    p.add_argument("--profile", required=True, help="hardware/profiles/NAME.toml")
    p.add_argument("--store", default=None, help="store folder (default: the demo store)")
    p.add_argument(
        "--journal",
        default=None,
        help="journal file (default: $CART_JOURNAL or var/journal.sqlite)",
    )
    p.add_argument("--high-contrast", action="store_true", help="black, white and yellow")
    p.set_defaults(func=_run)


def register_bench(sub) -> None:
    b = sub.add_parser("ui", help="device event to updated total on screen, idle CPU, memory")
    b.add_argument("--lines", type=int, default=200, help="basket lines before measuring")
    b.add_argument("--events", type=int, default=200, help="events timed")
    b.add_argument("--idle-seconds", type=float, default=5.0)
    b.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    b.add_argument("--no-classifier", action="store_true", help="do not load the classifier")
    b.set_defaults(func=_bench)


def screen_settings() -> None:
    """Before Textual is imported: up to 120 frames/s, so a change waits at most ~8 ms for the
    next frame (the frame timer only runs while something changed; idle costs nothing)."""
    import os

    os.environ.setdefault("TEXTUAL_FPS", "120")


# URL schemes of the simulated devices, and the simulator that registers each with pyserial
# when imported. Production code never imports a simulator; a profile that names one does.
SIMULATED_SCHEMES = {"simscanner": "cart.sim.scanner", "scalesim": "cart.sim.scale"}


def register_simulators(profile) -> list[str]:
    """Import the simulators a profile's device URLs name (tests, bench rigs: ``scalesim://``,
    ``simscanner://``), so that ``serial_for_url`` finds their schemes. Returns the modules
    imported; a profile that cannot be read imports none (``build`` reports it)."""
    import importlib
    import tomllib

    try:
        with open(profile, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError, RecursionError):
        return []

    def urls(node):
        if isinstance(node, dict):
            for value in node.values():
                yield from urls(value)
        elif isinstance(node, str) and "://" in node:
            yield node

    wanted = {SIMULATED_SCHEMES.get(url.split("://", 1)[0].lower()) for url in urls(doc)}
    modules = sorted(m for m in wanted if m)
    for module in modules:
        importlib.import_module(module)
    return modules


def _run(args) -> int:
    screen_settings()
    from cart.app.hardware import ProfileError, build

    register_simulators(args.profile)

    try:
        runtime = build(
            args.profile, store_path=args.store, journal_path=args.journal, production_check=True
        )
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from cart.ui.app import CartApp

    try:
        CartApp(runtime, high_contrast=args.high_contrast).run()
    finally:
        runtime.close()
    return 0


def _bench(args) -> int:
    import json

    screen_settings()
    from cart.bench.ui import run, ui_stack

    result = run(
        lambda: ui_stack(args.lines, classifier=not args.no_classifier),
        events=args.events,
        idle_s=args.idle_seconds,
        one_core=not args.all_cores,
    )
    print(json.dumps(result))
    return 0
