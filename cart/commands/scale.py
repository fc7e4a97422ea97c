"""``cart scale tare | calibrate | monitor`` and ``cart bench scale``."""

from __future__ import annotations

DEFAULT_PROFILE = "hardware/profiles/cart-v1.toml"


def _guard(fn):
    """A command's expected failures become one clear line and exit status 1."""

    def run(args) -> int:
        import sys

        from drivers.scale.config import ConfigError
        from drivers.scale.loadcell import CalibrationError, NotCalibrated

        try:
            return fn(args)
        except (OSError, ConfigError, CalibrationError, NotCalibrated, TimeoutError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1

    return run


def register(sub) -> None:
    p = sub.add_parser("scale", help="load-cell scale: tare, calibrate, monitor")
    ssub = p.add_subparsers(dest="scale_cmd", metavar="ACTION")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    def common(q):
        q.add_argument("--profile", default=DEFAULT_PROFILE, help="device profile (TOML)")
        q.add_argument("--url", help="serial URL (default: the profile's [scale].port)")

    t = ssub.add_parser("tare", help="zero the empty basket and save it to the profile")
    common(t)
    t.add_argument("--seconds", type=float, default=3.0)
    t.set_defaults(func=_guard(_tare))
    c = ssub.add_parser("calibrate", help="calibrate with a reference mass; saves the profile")
    common(c)
    c.add_argument("--grams", type=float, required=True, help="reference mass in grams")
    c.add_argument(
        "--positions",
        choices=("centre", "corners"),
        default="corners",
        help="centre only, or centre and each corner (one factor per cell)",
    )
    c.add_argument("--seconds", type=float, default=3.0, help="averaging per placement")
    c.set_defaults(func=_guard(_calibrate))
    m = ssub.add_parser("monitor", help="print scale events as JSON lines")
    common(m)
    m.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    m.set_defaults(func=_guard(_monitor))


def register_bench(sub) -> None:
    b = sub.add_parser("scale", help="settle latency, error and false changes vs a naive scale")
    b.add_argument("--placements", type=int, default=300)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--profile", default="typical", choices=("clean", "typical", "harsh"))
    b.add_argument("--push-minutes", type=float, default=30.0)
    b.set_defaults(func=_bench)


def _bench(args) -> int:
    import json

    from cart.bench.scale import run_bench

    res = run_bench(args.placements, args.seed, args.profile, args.push_minutes)
    print(json.dumps(res))
    return 0


def _open(args):
    import cart.sim.scale  # noqa: F401 - registers scalesim://
    from drivers.scale.driver import ScaleConfig, ScaleDriver

    cfg = ScaleConfig.from_profile(args.profile)
    return cfg, ScaleDriver(args.url or cfg.port, cfg)


def collect_counts(driver, seconds: float, timeout: float = 30.0, max_std: float | None = None):
    """Mean and spread of raw counts per channel over ``seconds`` of samples taken while the
    platform is still: a window whose two halves differ by more than the noise allows is
    thrown away and measured again (the basket is still ringing)."""
    import queue

    import numpy as np

    need = max(int(seconds * driver.cfg.rate_sps), 16)
    rows: queue.Queue = queue.Queue()

    def tap(t, counts, grams, filtered):
        rows.put(np.array(counts))

    driver.pipeline.taps.append(tap)
    try:
        buf = np.zeros((0, driver.cfg.channels))
        import time

        end = time.monotonic() + timeout + seconds
        while time.monotonic() < end:
            try:
                buf = np.concatenate((buf, rows.get(timeout=max(0.0, end - time.monotonic()))))
            except queue.Empty:
                break
            if len(buf) < need:
                continue
            win = buf[-need:]
            total = win.sum(axis=1)
            h = need // 2
            noise = float(np.std(np.diff(total))) / np.sqrt(2) + 1.0
            still = abs(total[:h].mean() - total[h:].mean()) <= 4 * noise * np.sqrt(2 / h)
            if still and (max_std is None or float(total.std()) <= max_std):
                return win.mean(axis=0), win.std(axis=0)
            buf = buf[-need:]
    finally:
        driver.pipeline.taps.remove(tap)
    raise TimeoutError("no still reading from the scale: is it connected, is the basket at rest?")


def tare(driver, seconds: float):
    """Zero of each channel with the basket empty; returns (calibration, spread per channel)."""
    mean, std = collect_counts(driver, seconds)
    return driver.cfg.calibration.with_tare(mean), std


def calibrate(
    driver,
    grams: float,
    positions: list[str],
    seconds: float,
    prompt,
    still_counts: float | None = None,
):
    """Tare must be in the driver's calibration. ``prompt(position)`` returns once the
    reference mass stands there. A placement is measured only once the summed counts are as
    quiet as ``still_counts`` (standard deviation; default: three times an empty reading's)."""
    import numpy as np

    cal = driver.cfg.calibration
    if still_counts is None:
        _, std = collect_counts(driver, seconds)
        still_counts = 3 * max(float(np.sqrt(np.sum(std**2))), 20.0)
    placements = []
    for pos in positions:
        prompt(pos)
        mean, _ = collect_counts(driver, seconds, max_std=still_counts)
        placements.append((mean, grams))
    return cal.with_reference(placements)


POSITIONS = {
    "centre": ["centre"],
    "corners": ["centre", "front-left", "front-right", "rear-left", "rear-right"],
}


def _save(args, cfg, cal) -> None:
    from dataclasses import replace

    from drivers.scale.config import save_profile

    save_profile(args.profile, replace(cfg, calibration=cal))
    print(f"saved [scale] calibration to {args.profile}")


def _tare(args) -> int:
    cfg, drv = _open(args)
    with drv:
        if not drv.wait_connected(5):
            print("error: scale bridge did not answer the handshake")
            return 1
        cal, std = tare(drv, args.seconds)
    _save(args, cfg, cal)
    print(
        "tare counts:",
        ", ".join(f"{c:.0f}" for c in cal.tare_counts),
        "(spread",
        ", ".join(f"{s:.0f}" for s in std) + ")",
    )
    return 0


def _calibrate(args) -> int:
    cfg, drv = _open(args)
    if not cfg.calibration.tared:
        print("error: tare the empty basket first (`cart scale tare`)")
        return 1
    with drv:
        if not drv.wait_connected(5):
            print("error: scale bridge did not answer the handshake")
            return 1

        def prompt(pos):
            input(f"put the {args.grams:g} g reference at the {pos}, then press Enter ")

        cal = calibrate(drv, args.grams, POSITIONS[args.positions], args.seconds, prompt)
    _save(args, cfg, cal)
    print("grams per count:", ", ".join(f"{g:.6g}" for g in cal.grams_per_count))
    return 0


def _monitor(args) -> int:
    import dataclasses
    import json
    import queue
    import time

    _cfg, drv = _open(args)
    end = time.monotonic() + args.seconds if args.seconds else None
    with drv:
        while end is None or time.monotonic() < end:
            try:
                ev = drv.events.get(timeout=0.2)
            except queue.Empty:
                continue
            print(json.dumps({"event": type(ev).__name__, **dataclasses.asdict(ev)}), flush=True)
    return 0
