"""``cart bench flood``: devices talking as fast as they can, and the screen under them.

Two measurements, one JSON line (last, as every ``cart bench``):

- **Flood on the screen.** The real screen (``CartApp``, headless) on the runtime and
  ``FusionEngine`` of ``cart.app.stack.build_runtime`` over a journal file, with a scanner
  posting ``rate`` codes a second (wall time; the cart's clock follows the wall) for
  ``seconds``, as a driver thread posts them, while the shopper presses a key every
  ``ACTION_EVERY_S`` (``EnterCoupon`` of a code that is no coupon: the answer is a message on
  the screen). Measured: how stale the screen is (at each moment, how long ago the oldest input
  that the runtime accepted but the screen does not show yet was posted; sampled every 5 ms),
  the longest gap between two screen refreshes while inputs were waiting, the time from a key's
  action to the screen showing its answer, and what the throttle dropped (the counter the
  status line shows). With ``throttle=False`` the flood reaches the worker unthrottled: the
  backlog then grows, and the screen is still refreshed every ``PUBLISH_MS``.
- **Events a second by basket size.** Scans handled by the runtime's worker (fusion, the
  journal, a snapshot every ``PUBLISH_MS``), posted at once, unthrottled, on a basket of 10 and
  of 1,000 lines (filled as a shopper fills it: each item scanned, then placed and settled, a
  couple of seconds apart). The ratio says whether a scan costs more in a bigger basket.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import threading
import time

T0 = 1_767_225_600_000
ACTION_EVERY_S = 0.2


class _Unthrottled:
    """The runtime's throttle, off (to measure what the worker itself can take)."""

    dropped: dict = {}

    @staticmethod
    def admit(_event) -> bool:
        return True

    @staticmethod
    def counters() -> tuple:
        return ()


def _codes(store) -> list[str]:
    return [
        p.gtins[0].removeprefix("0")
        for p in store.catalog.products
        if not p.by_weight and not p.age_min and p.gtins and p.gtins[0][:2] != "02"
    ]


def _stack(folder: str, clock, synchronous: str):
    from cart.app.stack import build_runtime
    from cart.store.loading import load_store

    store = load_store()
    runtime = build_runtime(
        store, os.path.join(folder, "journal.sqlite"), clock=clock, synchronous=synchronous
    )
    return store, runtime


def _percentiles(values: list[float], prefix: str) -> dict:
    from cart.bench.ui import percentile

    if not values:
        return {f"{prefix}_p50": None, f"{prefix}_p99": None, f"{prefix}_max": None}
    return {
        f"{prefix}_p50": round(statistics.median(values), 1),
        f"{prefix}_p99": round(percentile(values, 0.99), 1),
        f"{prefix}_max": round(max(values), 1),
    }


# ---- the flood on the screen -------------------------------------------------------------------


class _Watch:
    """Post times of accepted inputs, what the screen shows, and the action answers."""

    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.lock = threading.Lock()
        self.posted: dict[int, float] = {}  # seq -> when post() returned it
        self.shown_seq = 0
        self.refreshes: list[float] = []
        self.action_seen: dict[int, int] = {}  # id(view) -> runtime.actions_done at publish
        self.actions: dict[int, float] = {}  # action seq -> submitted at
        self.answered: list[float] = []  # ms from submit to the screen showing the answer

    def published(self, view) -> None:  # the worker thread, just before the screen gets it
        with self.lock:
            self.action_seen[id(view)] = self.runtime.actions_done
            if len(self.action_seen) > 4096:
                for k in list(self.action_seen)[:2048]:
                    del self.action_seen[k]

    def shown(self, view) -> None:  # the screen's loop, after the refresh that shows ``view``
        now = time.perf_counter()
        with self.lock:
            self.refreshes.append(now)
            self.shown_seq = max(self.shown_seq, view.seq)
            done = self.action_seen.get(id(view), 0)
            for seq in [s for s in self.actions if s <= done]:
                self.answered.append((now - self.actions.pop(seq)) * 1000)

    def staleness_ms(self, now: float) -> float:
        with self.lock:
            waiting = [t for s, t in self.posted.items() if s > self.shown_seq]
            for s in [s for s in self.posted if s <= self.shown_seq]:
                del self.posted[s]
        return (now - min(waiting)) * 1000 if waiting else 0.0


def flood(
    *,
    rate: int = 10_000,
    seconds: float = 5.0,
    lines: int = 10,
    throttle: bool = True,
    synchronous: str = "FULL",
    drain_s: float = 60.0,
) -> dict:
    """The scanner flood on the screen (see the module docstring). After the flood the
    backlog gets ``drain_s`` to drain (``drained`` says whether it did)."""
    from cart.app import actions as ui
    from cart.common.clock import ManualClock
    from cart.common.events import Scan
    from cart.sim.scanner import aim_for
    from cart.ui.app import CartApp

    clock = ManualClock(T0)
    tmp = tempfile.TemporaryDirectory(prefix="cart-flood-")
    store, runtime = _stack(tmp.name, clock, synchronous)
    if not throttle:
        runtime.throttle = _Unthrottled()
    codes = _codes(store)
    watch = _Watch(runtime)
    app = CartApp(runtime)
    app.view_shown = watch.shown
    result: dict = {}
    first = threading.Event()
    app.view_shown = lambda v: (first.set(), watch.shown(v))

    def fill(n: int) -> None:  # a basket of ``n`` lines before the flood, at a shopper's pace
        for i in range(n):
            clock.advance(200)
            c = codes[i % len(codes)]
            runtime.post(Scan(clock.now_ms(), c, aim_for(c), "scanner:fill"))
        runtime.wait_idle(120)

    def driver() -> None:
        runtime._listeners.insert(0, watch.published)
        fill(lines)
        t0 = time.perf_counter()
        clock.set(max(clock.now_ms(), T0) + 1000)
        base_ms = clock.now_ms()
        posted = admitted = 0
        stop = threading.Event()
        samples: list[float] = []
        gaps: list[float] = []

        def sampler() -> None:
            while not stop.is_set():
                now = time.perf_counter()
                samples.append(watch.staleness_ms(now))
                with watch.lock:
                    waiting = runtime._seq > watch.shown_seq
                    last = watch.refreshes[-1] if watch.refreshes else now
                if waiting:
                    gaps.append((now - last) * 1000)
                time.sleep(0.005)

        s = threading.Thread(target=sampler, daemon=True)
        s.start()
        next_action = t0
        i = 0
        while True:
            now = time.perf_counter()
            elapsed = now - t0
            if elapsed >= seconds:
                break
            clock.set(max(clock.now_ms(), base_ms + int(elapsed * 1000)))
            due = int(elapsed * rate)
            while posted < due:  # the scanner's codes due by now, as its thread posts them
                c = codes[posted % len(codes)]
                seq = runtime.post(Scan(clock.now_ms(), c, aim_for(c), "scanner:hand"))
                posted += 1
                if seq > 0:
                    admitted += 1
                    with watch.lock:
                        watch.posted[seq] = time.perf_counter()
            if now >= next_action:  # the shopper presses a key
                seq = runtime.submit(ui.EnterCoupon(f"0{i}"))
                with watch.lock:
                    watch.actions[seq] = time.perf_counter()
                    watch.posted[seq] = watch.actions[seq]
                i += 1
                next_action += ACTION_EVERY_S
            time.sleep(0.001)
        flood_s = time.perf_counter() - t0
        backlog = runtime._seq - runtime._done
        drained = runtime.wait_idle(drain_s)
        drained_s = time.perf_counter() - t0
        time.sleep(0.3)
        stop.set()
        s.join()
        dropped = dict(getattr(runtime.throttle, "dropped", {}))
        shown_counters = {d.name: dict(d.counters) for d in app.view.devices}
        result.update(
            rate_per_s=rate,
            seconds=round(flood_s, 2),
            lines=len(app.view.lines),
            throttle=throttle,
            codes_posted=posted,
            codes_accepted=admitted,
            throttled_drops=dropped,
            status_line_counters=shown_counters.get("scanner:hand", {}),
            backlog_at_flood_end=backlog,
            drained=drained,
            drained_after_s=round(drained_s, 2),
            actions=i,
            actions_answered=len(watch.answered),
            **_percentiles(samples, "stale_ms"),
            refresh_gap_ms_max=round(max(gaps), 1) if gaps else 0.0,
            **_percentiles(watch.answered, "action_ms"),
        )

    async def main() -> None:
        async with app.run_test(headless=True, size=(80, 24)):
            if not await asyncio.to_thread(first.wait, 60):
                raise TimeoutError("the screen did not paint within 60 s")
            await asyncio.to_thread(driver)

    try:
        asyncio.run(main())
    finally:
        runtime.close()
        tmp.cleanup()
    result["engine_errors"] = runtime.errors
    return result


# ---- events a second by basket size ------------------------------------------------------------


def events_per_s(lines: int, *, events: int = 500, synchronous: str = "FULL") -> dict:
    """Scans the runtime's worker handles a second on a basket of ``lines`` lines."""
    from cart.common.clock import ManualClock
    from cart.common.events import Scan, WeightSettled
    from cart.sim.scanner import aim_for

    clock = ManualClock(T0)
    tmp = tempfile.TemporaryDirectory(prefix="cart-flood-")
    store, runtime = _stack(tmp.name, clock, synchronous)
    runtime.throttle = _Unthrottled()
    views = []
    runtime.attach(views.append)
    products = {p.gtins[0].removeprefix("0"): p for p in store.catalog.products if p.gtins}
    codes = _codes(store)
    grams = 0.0
    try:
        for i in range(lines):  # scanned, placed, settled: the basket a shopper fills
            c = codes[i % len(codes)]
            p = products[c]
            clock.advance(1500)
            runtime.post(Scan(clock.now_ms(), c, aim_for(c), "scanner:hand"))
            clock.advance(1500)
            g = float(p.unit_weight_g + p.tare_g)
            grams += g
            runtime.post(WeightSettled(clock.now_ms(), grams, g, 800, 0.5))
            if i % 100 == 99:
                runtime.wait_idle(300)
        runtime.wait_idle(300)
        filled = len(runtime.view.lines)
        clock.advance(60_000)
        burst = []
        for i in range(events):  # then a burst of scans, 25 a second, all queued at once
            clock.advance(40)
            c = codes[i % len(codes)]
            burst.append(Scan(clock.now_ms(), c, aim_for(c), "scanner:hand"))
        before = len(views)
        t0 = time.perf_counter()
        for ev in burst:
            runtime.post(ev)
        runtime.wait_idle(600)
        dt = time.perf_counter() - t0
    finally:
        runtime.close()
        tmp.cleanup()
    return {
        "lines": filled,
        "events": events,
        "events_per_s": round(events / dt, 1),
        "ms_per_event": round(1000 * dt / events, 3),
        "snapshots": len(views) - before,
        "engine_errors": runtime.errors,
    }


def run(
    *,
    rate: int = 10_000,
    seconds: float = 5.0,
    sizes: tuple[int, ...] = (10, 1000),
    events: int = 500,
    synchronous: str = "FULL",
    throttle: bool = True,
) -> dict:
    out: dict = {"bench": "flood", "synchronous": synchronous}
    out["flood"] = flood(rate=rate, seconds=seconds, throttle=throttle, synchronous=synchronous)
    if throttle:
        out["flood_unthrottled"] = flood(
            rate=rate, seconds=min(seconds, 1.0), throttle=False, synchronous=synchronous
        )
    by_size = {str(n): events_per_s(n, events=events, synchronous=synchronous) for n in sizes}
    out["events_per_s_by_lines"] = {k: v["events_per_s"] for k, v in by_size.items()}
    out["by_lines"] = by_size
    lo, hi = str(min(sizes)), str(max(sizes))
    out[f"ratio_events_per_s_{lo}_vs_{hi}_lines"] = round(
        by_size[lo]["events_per_s"] / max(by_size[hi]["events_per_s"], 1e-9), 2
    )
    return out
