"""``cart bench ui``: device event → updated total on screen, tap → response, idle CPU,
start-up and memory.

Runs the real screen headless (Textual's headless driver, 80×24) on the real runtime and
engine, pinned to one CPU core. For each device event posted by a simulated driver thread it
times ``Runtime.post`` to the moment the screen has refreshed with a snapshot that includes it
(``CartApp.view_shown`` is called after that refresh). The same run measures a near-empty basket
first, as the peer for the 200-line figure (``ratio_p99_200_vs_empty``). With the classifier
loaded, its vision worker runs as on the cart (``classifier_loaded``) and ``vision_ms_p50/p99``
time a placement request to the posted verdict (one int8 inference on the same core); the
resident memory is taken after that. Then taps (``click_ms_*``, :func:`measure_clicks`): a tap
delivered as the terminal delivers it, to the refresh that shows what it did.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), or None where unknown."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 in proc(5), counted after "pid (comm)"
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pin_to_one_core() -> int | None:
    """Run every thread of this process on one CPU (the first allowed). Returns it."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class BenchStack:
    """What the benchmark drives: a runtime (not started), the events that fill the basket to
    ``lines`` lines, and a factory of events that each change the total."""

    runtime: object
    fill: list
    event: Callable[[int], object]
    classifier_loaded: bool = False
    keep: object = None
    vision: object = None  # the running cart.app.vision.VisionWorker, if any


class _Shown:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.seq = -1
        self.t = 0.0
        self.total = None
        self.first: float | None = None
        self.first_event = threading.Event()

    def __call__(self, view) -> None:
        now = time.perf_counter()
        if self.first is None:
            self.first = now
            self.first_event.set()
        with self.cond:
            self.seq, self.t, self.total = view.seq, now, view.totals.total
            self.cond.notify_all()

    def wait_seq(self, seq: int, timeout: float = 10.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: self.seq >= seq, timeout):
                raise TimeoutError(f"snapshot {seq} not shown within {timeout} s")
            return self.t


def run(
    build: Callable[[], BenchStack],
    *,
    events: int = 200,
    idle_s: float = 5.0,
    one_core: bool = True,
    clicks: int = 40,
) -> dict:
    cpu = pin_to_one_core() if one_core else None
    from cart.ui.app import CartApp

    stack = build()
    runtime = stack.runtime
    app = CartApp(runtime)
    shown = _Shown()
    app.view_shown = shown
    result: dict = {}

    def measure(n: int, start: int) -> list[float]:
        out = []
        for i in range(start, start + n):
            t0 = time.perf_counter()
            seq = runtime.post(stack.event(i))
            t1 = shown.wait_seq(seq)
            out.append((t1 - t0) * 1000)
        return out

    def driver(first_paint: float) -> None:
        age = process_age_s()
        result["startup_s"] = round(age - (time.perf_counter() - first_paint), 3) if age else None
        empty = measure(min(50, events), 0)
        seq = 0
        for ev in stack.fill:
            seq = runtime.post(ev)
        shown.wait_seq(seq, timeout=120)
        result["lines"] = len(app.view.lines)
        full = measure(events, 10_000)
        assert len(app.view.lines) >= 200 or len(stack.fill) < 200
        vision = measure_vision(stack.vision, runtime)  # before the memory figure
        time.sleep(0.5)  # let the last refresh and any timers settle before the idle window
        c0, w0 = time.process_time(), time.perf_counter()
        time.sleep(idle_s)
        c1, w1 = time.process_time(), time.perf_counter()
        result.update(
            latency_ms_p50=round(statistics.median(full), 2),
            latency_ms_p99=round(percentile(full, 0.99), 2),
            latency_ms_max=round(max(full), 2),
            latency_ms_p50_empty=round(statistics.median(empty), 2),
            latency_ms_p99_empty=round(percentile(empty, 0.99), 2),
            idle_cpu_pct=round(100 * (c1 - c0) / (w1 - w0), 2),
            rss_mb=round(rss_mb(), 1),
        )
        result["ratio_p99_200_vs_empty"] = round(
            result["latency_ms_p99"] / max(result["latency_ms_p99_empty"], 1e-6), 2
        )
        result.update(vision)

    async def main() -> None:
        async with app.run_test(headless=True, size=(80, 24)) as pilot:
            if not await asyncio.to_thread(shown.first_event.wait, 60):
                raise TimeoutError("the screen did not paint within 60 s")
            await asyncio.to_thread(driver, shown.first)
            if clicks:
                result.update(await measure_clicks(app, pilot, clicks))
                result["rss_mb_after_clicks"] = round(rss_mb(), 1)

    try:
        asyncio.run(main())
    finally:
        runtime.close()
    from textual import constants

    result.update(
        events=events,
        max_fps=constants.MAX_FPS,
        engine=type(getattr(runtime, "engine", None)).__name__,
        cpu=cpu,
        one_core=cpu is not None,
        classifier_loaded=stack.classifier_loaded,
        errors=getattr(runtime, "errors", 0),
    )
    return result


async def _tap(app, target, offset, done: Callable[[], bool]) -> float:
    """One tap as the terminal delivers it (mouse down, up, click, back to back, into the
    screen's event path), then wait for the app to do what it does and for the refresh that
    shows it. Returns the milliseconds from the tap to that refresh."""
    from textual import events
    from textual.pilot import _get_mouse_message_arguments

    loop = asyncio.get_running_loop()
    if offset is None:  # the middle of the target
        offset = (target.region.width // 2, target.region.height // 2)
    args = _get_mouse_message_arguments(target, offset, button=1)
    screen = app.screen
    t0 = time.perf_counter()
    for cls in (events.MouseDown, events.MouseUp, events.Click):
        screen._forward_event(cls(**({**args, "chain": 1} if cls is events.Click else args)))
    deadline = t0 + 10
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no response to a tap on {target}")
        await asyncio.sleep(0.0005)  # not a busy loop: the screen shares this core
    painted = loop.create_future()
    app.call_after_refresh(lambda: painted.done() or painted.set_result(time.perf_counter()))
    return (await asyncio.wait_for(painted, 10) - t0) * 1000


async def measure_clicks(app, pilot, n: int) -> dict:
    """Tap to the screen's response, three kinds, ``n`` taps each: a keypad key on the staff
    PIN screen (the field shows one more •, or one less), a letter on the produce screen's
    keyboard and ⌫ (the tiles show what it finds, then all the produce again), and the Produce
    button and the produce screen's Back (the screen opens, closes). ``click_ms_p99`` is over
    all of them."""
    from textual.widgets import Input

    from cart.ui.produce import ProduceScreen, TileGrid
    from cart.ui.screens import EntryScreen
    from cart.ui.touch import Keys

    out: dict[str, list[float]] = {"key": [], "search": [], "screen": []}

    async def until(pred) -> None:
        for _ in range(1000):
            if pred():
                await pilot.pause()
                return
            await asyncio.sleep(0.005)
        raise TimeoutError("the screen did not open")

    app.action_staff()  # the PIN keypad
    await until(lambda: isinstance(app.screen, EntryScreen))
    keys = app.screen.query_one(Keys)
    field = app.screen.query_one("#entry", Input)
    for i in range(n):
        key = "back" if i % 2 else str(i % 10)
        before = field.value
        out["key"].append(
            await _tap(app, keys, keys.offset_of(key), lambda b=before: field.value != b)
        )
    app.screen.dismiss(None)
    await until(lambda: not isinstance(app.screen, EntryScreen))
    for i in range(n):
        button = app.query_one("#do-produce")
        out["screen"].append(
            await _tap(
                app,
                button,
                None,
                lambda: isinstance(app.screen, ProduceScreen) and app.screen.query(TileGrid),
            )
        )
        await pilot.pause()
        if i == 0:
            await pilot.click("#show-keyboard")
            keys = next(k for k in app.screen.query(Keys) if k.display)
            screen = app.screen
            for j in range(n):
                key, shows = ("back", "") if j % 2 else ("a", "a")
                out["search"].append(
                    await _tap(
                        app,
                        keys,
                        keys.offset_of(key),
                        lambda s=screen, q=shows: s.shown_query == q and s.query_one(TileGrid),
                    )
                )
        back = app.screen.query_one("#produce-back")
        out["screen"].append(
            await _tap(app, back, None, lambda: not isinstance(app.screen, ProduceScreen))
        )
        await pilot.pause()
    every = [v for values in out.values() for v in values]
    result = {
        "click_ms_p50": round(statistics.median(every), 2),
        "click_ms_p99": round(percentile(every, 0.99), 2),
        "clicks": len(every),
    }
    for kind, values in out.items():
        result[f"click_ms_p50_{kind}"] = round(statistics.median(values), 2)
        result[f"click_ms_p99_{kind}"] = round(percentile(values, 0.99), 2)
    return result


def measure_vision(worker, runtime, n: int = 20) -> dict:
    """Placement request → verdict posted by the vision worker (frame conversion and one int8
    inference on the same core as the screen), over a 400x320 simulated basket frame."""
    if worker is None or not getattr(worker, "active", False):
        return {}
    from cart.sim.camera import CameraSim

    frame = CameraSim(None, code=None, size=(400, 320), seed=1).frames(1)[0]
    samples = []
    for _ in range(n):
        worker.buffer.push(frame, runtime.clock.now_ms())
        worker.verdicts_posted.clear()
        t0 = time.perf_counter()
        worker.request("placement")
        if not worker.verdicts_posted.wait(10):
            raise TimeoutError("no verdict from the vision worker within 10 s")
        samples.append((time.perf_counter() - t0) * 1000)
    return {
        "vision_ms_p50": round(statistics.median(samples), 2),
        "vision_ms_p99": round(percentile(samples, 0.99), 2),
        "vision_verdicts": worker.counters.verdicts,
    }


def load_classifier():
    """The shipped classifier, loaded and run once (as the cart has it in memory), or None."""
    try:
        import numpy as np

        from models.runtime import Classifier, ClassifierError
    except ImportError:
        return None
    try:
        clf = Classifier()
        clf.classify(np.zeros((clf.input_size, clf.input_size, 3), np.uint8))
        return clf
    except (ClassifierError, OSError, ValueError) as exc:
        import logging

        logging.getLogger(__name__).warning("classifier not loaded: %s", exc)
        return None


def ui_stack(lines: int = 200, *, classifier: bool = True):
    """The cart as it runs: demo store, fusion in front of the core, a journal on disk with
    ``synchronous=FULL`` (the cart's setting), the classifier in memory. Every timed event is a
    barcode scan of a packaged product, which adds a line and changes the total."""
    import atexit
    import shutil
    import tempfile

    from cart.app.stack import build_runtime
    from cart.common.clock import ManualClock
    from cart.common.events import Scan
    from cart.sim.scanner import aim_for
    from cart.store.loading import load_store

    clf = load_classifier() if classifier else None
    store = load_store()
    codes = []
    for p in store.catalog.products:
        if not p.by_weight and not p.age_min and p.gtins:
            g = p.gtins[0]
            codes.append(g.removeprefix("0"))
    tmp = tempfile.mkdtemp(prefix="cart-bench-ui-")
    atexit.register(shutil.rmtree, tmp, True)
    clock = ManualClock()
    runtime = build_runtime(store, f"{tmp}/journal.sqlite", clock=clock, vision=clf is not None)
    worker = None
    if clf is not None:  # the cart's vision worker, idle (the timed events are scans)
        from cart.app.vision import VisionWorker, attach

        worker = attach(runtime, VisionWorker(clf, runtime.post, clock=clock)).start()

    def scan(i: int) -> Scan:
        clock.advance(40)  # 25 scans a second (a scanner within its rate, cart.app.throttle);
        # no expectation times out during the run (450 scans: 18 s)
        code = codes[i % len(codes)]
        return Scan(clock.now_ms(), code, aim_for(code), "scanner:bench")

    fill = [scan(i) for i in range(lines)]
    stack = BenchStack(runtime, fill, lambda i: scan(i), classifier_loaded=clf is not None)
    stack.vision = worker
    stack.keep = clf  # the classifier stays in memory for the RSS figure (closed with the runtime)
    return stack
