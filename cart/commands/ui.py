"""``cart run --profile hardware/profiles/NAME.toml`` (the cart on its hardware) and
``cart bench ui`` (device event → total on screen, tap → response, idle CPU, start-up,
memory)."""

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
    p.add_argument(
        "--log",
        default=None,
        help="log file, or 'journal' for the system journal (default: $CART_LOG or var/cart.log)",
    )
    p.set_defaults(func=_run)


def register_bench(sub) -> None:
    b = sub.add_parser("ui", help="device event to updated total on screen, idle CPU, memory")
    b.add_argument("--lines", type=int, default=200, help="basket lines before measuring")
    b.add_argument("--events", type=int, default=200, help="events timed")
    b.add_argument("--idle-seconds", type=float, default=5.0)
    b.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    b.add_argument("--no-classifier", action="store_true", help="do not load the classifier")
    b.add_argument("--clicks", type=int, default=40, help="taps timed, of each kind (0: none)")
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
    """The cart on its devices. Logging goes to ``--log`` (never the screen); under systemd the
    watchdog is fed while the runtime and the screen run. A profile, store or journal that
    cannot be used shows "Out of service" on the screen and ends with ``EXIT_CONFIG``."""
    import os

    screen_settings()
    from cart.app import logs
    from cart.app.watchdog import EXIT_CONFIG, Watchdog

    logs.setup(args.log or os.environ.get("CART_LOG") or "var/cart.log")
    from cart.app.hardware import ProfileError, build, load_profile, screen_modes

    register_simulators(args.profile)
    try:
        runtime = build(
            args.profile, store_path=args.store, journal_path=args.journal, production_check=True
        )
        modes = screen_modes(args.profile, load_profile(args.profile))
    except ProfileError as exc:
        return _out_of_service(str(exc), Watchdog.from_env(("screen",)), EXIT_CONFIG)
    from cart.ui.app import CartApp

    watchdog = Watchdog.from_env(("runtime", "screen"))
    runtime.heartbeat = watchdog.beater("runtime")
    app = CartApp(
        runtime,
        high_contrast=args.high_contrast or modes["high_contrast"],
        large_text=modes["large_text"],
    )
    app.heartbeat = watchdog.beater("screen")
    watchdog.start()
    try:
        app.run()
    finally:
        runtime.close()
        watchdog.close()
    return 0


def _out_of_service(reason: str, watchdog, code: int) -> int:
    """Say why on stderr (the log) and, on a terminal, on the screen until stopped."""
    import logging
    import os

    logging.getLogger("cart.run").error("out of service: %s", reason)
    watchdog.ready_status = f"Out of service: {reason}"
    print(f"error: {reason}", file=sys.stderr)
    if os.isatty(sys.__stdout__.fileno()) and os.isatty(sys.__stdin__.fileno()):
        from cart.ui.service import OutOfServiceApp

        watchdog.start()
        try:
            OutOfServiceApp(reason, heartbeat=watchdog.beater("screen")).run()
        finally:
            watchdog.close()
    return code


def _bench(args) -> int:
    import json

    screen_settings()
    from cart.bench.ui import run, ui_stack

    result = run(
        lambda: ui_stack(args.lines, classifier=not args.no_classifier),
        events=args.events,
        idle_s=args.idle_seconds,
        one_core=not args.all_cores,
        clicks=args.clicks,
    )
    print(json.dumps(result))
    return 0
