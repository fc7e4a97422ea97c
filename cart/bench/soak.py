"""``cart bench soak --trips N``: paid trips in a row through the real screen, and its memory.

One cart as it runs for days: the real screen (``DemoApp``, the cart's ``CartApp`` plus the
simulated shopper's hands, headless through Textual's pilot), the runtime and ``FusionEngine``
of ``cart.app.stack.build_runtime`` over one SQLite journal file, the simulated scanner behind
the real scanner driver and the simulated scale behind the real scale core
(``cart.sim.demo.DemoWorld``). The demo's autoplay shopper shops each trip (packaged goods,
produce chosen on the screen, an item taken out again, pushes between aisles) and pays; the
check-out screen shows the receipt and the exit code, and the bench presses Enter on it
("Next shopper"), as the shopper does: the cart is unloaded and the next trip starts.

Time is accelerated: the world is stepped on an injected clock (no thread of its own), each
step waiting for the scanner driver and the runtime, so a seed plays the same trips however
busy the machine is. The screen renders on its own loop, as on the cart.

Printed: the resident memory (RSS) at start (the first trip paid), after ``warmup`` trips, and
at the end, each after a full garbage collection; the live objects, screens and check-out
screens at the same points (what a leak shows first); the journal's size per trip; trips per
second. The JSON line is last (``cart.bench`` convention). ``rss_growth_mb`` (end minus
warm-up) must stay within 10 MB over 10,000 trips.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable

T0 = 1_767_225_600_000  # 2026-01-01, as the trip bench
STEP_MS = 40  # the shortest step of the world (the demo world's own pace while things move)
MAX_STEP_MS = 3000  # the longest step while the shopper waits (the scale catches up at once)
UNLOAD_STEP_MS = 250  # while the cart is unloaded, until the scale is at rest
SETTLE_TRIES = 50  # loop turns a count waits for closed screens to finish (about 1 s)
WAIT_S = 30.0  # a trip that does not get on within this is a stuck cart (the bench fails)


COUNTED = (
    "objects",
    "dom_nodes",
    "dom_nodes_detached",
    "screens_alive",
    "checkout_screens_alive",
    "screen_stack",
    "footer_watchers",
    "render_memo_entries",
)


class SoakError(RuntimeError):
    """The cart stopped getting on (a driver, the runtime or the screen stuck)."""


def live_counts(app) -> dict:
    """What grows first when a screen or a trip is kept alive (after a full collection; the
    objects the screen froze at start-up are not counted)."""
    from textual.dom import DOMNode
    from textual.screen import Screen

    from cart.ui.screens import CheckoutScreen

    gc.collect()
    objects = gc.get_objects()
    nodes = screens = checkout = detached = 0
    for obj in objects:
        if isinstance(obj, DOMNode):
            nodes += 1
            detached += not obj.is_attached
            if isinstance(obj, Screen):
                screens += 1
                checkout += isinstance(obj, CheckoutScreen)
    from cart.ui.leaks import CartFooter

    footers = app.screen_stack[0].query(CartFooter)
    footer_watchers = sum(len(entries) for f in footers for entries in _watchers(f).values())
    from textual._styles_cache import StylesCache

    memo = getattr(StylesCache.get_inner_outer, "cache_info", None)
    return {
        "objects": len(objects),
        "render_memo_entries": memo().currsize if memo else 0,
        "dom_nodes": nodes,
        "dom_nodes_detached": detached,
        "screens_alive": screens,
        "checkout_screens_alive": checkout,
        "screen_stack": len(app.screen_stack),
        "footer_watchers": footer_watchers,
    }


def _watchers(obj) -> dict:
    return getattr(obj, "__watchers", {})


def journal_bytes(path: str) -> tuple[int, int]:
    """The journal's database file after a checkpoint (the WAL folded in: what stays on the
    card), and the WAL file's size (its own connection; the cart's stays open)."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        db.close()
    wal = path + "-wal"
    return os.path.getsize(path), os.path.getsize(wal) if os.path.exists(wal) else 0


class Soak:
    """The assembled cart and its autoplay shopper (see the module docstring)."""

    def __init__(self, folder: str, *, seed: int = 3, synchronous: str = "NORMAL") -> None:
        from cart.app.stack import build_runtime
        from cart.common.clock import ManualClock
        from cart.common.events import Scan
        from cart.sim.demo import DemoWorld
        from cart.sim.demo_app import DemoApp
        from cart.store.loading import load_store

        self.store = load_store()
        self.clock = ManualClock(T0)
        self.wall = T0
        self.path = os.path.join(folder, "journal.sqlite")
        self.runtime = build_runtime(
            self.store, self.path, clock=self.clock, synchronous=synchronous
        )
        self.world = DemoWorld(
            self.runtime, self.store, self.clock, seed=seed, profile="clean", wall_ms=self._wall
        )
        self.app = DemoApp(self.runtime, self.world)
        self.scans = 0
        self.runtime.add_tap(self._tap)
        self.paid = 0
        self.steps = 0
        self._receipt = None
        self._Scan = Scan

    def _wall(self) -> int:
        return self.wall

    def _filtered(self) -> int:
        """Scans the scanner driver or the runtime's throttle dropped, by their own counts."""
        scanner = self.world.scanner
        dup = scanner.decoder.duplicates.dropped if scanner is not None else 0
        return dup + sum(
            n for d, n in self.runtime.throttle.dropped.items() if d.startswith("scanner")
        )

    def _tap(self, event) -> None:
        if isinstance(event, self._Scan):
            self.scans += 1

    # ---- one step of the world ---------------------------------------------------------------
    def step(self) -> None:
        w = self.world
        # straight to the shopper's next move: the scale catches up with every sample between
        # (each event keeps its own time), only the live reading is drawn less often
        wait_ms = (
            UNLOAD_STEP_MS if w._after_unload is not None else int(w._auto_at * 1000) - self.wall
        )
        self.wall += max(STEP_MS, min(MAX_STEP_MS, wait_ms))
        w.step()
        self.steps += 1
        deadline = time.monotonic() + WAIT_S
        # the scanner driver's thread delivers the scan, or drops it as the driver should: a
        # repeat of the same code within its duplicate window (the autoplay shopper answering
        # a question the screen had not yet taken down), or above the scanner's rate
        while self.scans + self._filtered() < w.scans_sent:
            if time.monotonic() > deadline:
                devices = [
                    (d.name, d.state, d.detail, d.counters)
                    for d in self.runtime.view.devices
                    if d.name.startswith("scanner")
                ]
                raise SoakError(
                    f"the scanner driver did not deliver a scan ({self.scans} of "
                    f"{w.scans_sent} delivered; throttled {self.runtime.throttle.dropped}; "
                    f"scanner {devices})"
                )
            time.sleep(0.0005)
        if not self.runtime.wait_idle(WAIT_S):
            raise SoakError("the runtime did not process its inputs")

    def trip(self, press: Callable[[str], None]) -> None:
        """Shop until the next trip is paid, then press Enter on its check-out screen and wait
        for the next trip to start on the screen."""
        from cart.ui.screens import CheckoutScreen

        start = self.steps
        while True:
            self.step()
            receipt = self.runtime.view.receipt
            if receipt is not None and receipt is not self._receipt:
                break
            if self.steps - start > 20_000:
                raise SoakError(f"no trip paid in {self.steps - start} steps: {self.world.note}")
        self._receipt = receipt
        self.paid += 1
        self._wait(lambda: isinstance(self.app.screen, CheckoutScreen), "the check-out screen")
        press("enter")  # "Next shopper": the demo unloads the cart, then starts a new trip
        while self.runtime.view.receipt is not None:
            self.step()
            if self.steps - start > 40_000:
                raise SoakError("the next trip did not start")
        self._wait(lambda: not isinstance(self.app.screen, CheckoutScreen), "the basket screen")
        # the simulator's own records of what it did (not the cart's memory)
        self.world.scale.events.clear()
        self.world.scale.model.history.clear()

    @staticmethod
    def _wait(pred, what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not pred():
            if time.monotonic() > deadline:
                raise SoakError(f"the screen did not show {what}")
            time.sleep(0.001)


def run(
    trips: int = 100,
    *,
    warmup: int = 20,
    seed: int = 3,
    synchronous: str = "NORMAL",
    folder: str | None = None,
    progress: Callable[[dict], None] | None = None,
    every: int = 500,
    minutes: float | None = None,
) -> dict:
    """Play ``trips`` paid trips (see the module docstring); returns the figures. With
    ``minutes``, stop after that long (the figures say how many trips were played)."""
    from cart.bench.ui import rss_mb

    warmup = max(1, min(warmup, trips))
    points: dict[str, dict] = {}
    tmp = tempfile.TemporaryDirectory(prefix="cart-soak-", dir=folder)
    soak = Soak(tmp.name, seed=seed, synchronous=synchronous)
    app = soak.app
    t_start = [0.0]

    on_loop: list = []  # (loop, pilot) of the running screen

    def point(name: str) -> dict:
        loop, pilot = on_loop[0]

        async def settled() -> dict:  # counted on the screen's loop, once it is idle
            # A closed screen's message pump ends a few loop turns after the screen is popped:
            # count again until nothing closed is left, or give the count as it stands (a
            # screen kept alive stays counted however long this waits).
            for _ in range(SETTLE_TRIES):
                await pilot.pause()
                counts = live_counts(app)
                if not counts["checkout_screens_alive"] and not counts["dom_nodes_detached"]:
                    break
                await asyncio.sleep(0.02)
            return counts

        counts = asyncio.run_coroutine_threadsafe(settled(), loop).result(WAIT_S)
        p = {
            "trip": soak.paid,
            "rss_mb": round(rss_mb(), 1),
            **counts,
            "journal_bytes": journal_bytes(soak.path)[0],
            "s": round(time.perf_counter() - t_start[0], 1),
        }
        points[name] = p
        if progress is not None:
            progress({"point": name, **p})
        return p

    def driver(loop, pilot) -> None:
        def press(key: str) -> None:
            asyncio.run_coroutine_threadsafe(pilot.press(key), loop).result(WAIT_S)

        on_loop.append((loop, pilot))
        t_start[0] = time.perf_counter()
        soak.world.start(thread=False)
        soak.world.set_autoplay(True)
        soak.trip(press)
        point("start")
        stop_at = None if minutes is None else time.perf_counter() + 60 * minutes
        while soak.paid < trips and (stop_at is None or time.perf_counter() < stop_at):
            soak.trip(press)
            if soak.paid == warmup:
                point("warmup")
            elif progress is not None and soak.paid % every == 0:
                point(f"trip_{soak.paid}")
        point("end")

    async def main() -> None:
        async with app.run_test(headless=True, size=(80, 24)) as pilot:
            await asyncio.to_thread(driver, asyncio.get_running_loop(), pilot)

    try:
        asyncio.run(main())
    finally:
        soak.runtime.close()
    start, warm, end = points["start"], points.get("warmup", points["start"]), points["end"]
    result = {
        "bench": "soak",
        "trips": soak.paid,
        "trips_asked": trips,
        "warmup_trips": warmup,
        "seed": seed,
        "synchronous": synchronous,
        "rss_mb_start": start["rss_mb"],
        "rss_mb_warmup": warm["rss_mb"],
        "rss_mb_end": end["rss_mb"],
        "rss_growth_mb": round(end["rss_mb"] - warm["rss_mb"], 1),
        "rss_growth_kb_per_trip": round(
            1024 * (end["rss_mb"] - warm["rss_mb"]) / max(1, soak.paid - warmup), 2
        ),
        "within_10_mb": end["rss_mb"] - warm["rss_mb"] <= 10.0,
        # [start, warm-up, end]
        "live": {k: [start[k], warm[k], end[k]] for k in COUNTED},
        "journal_bytes_per_trip": round(
            (end["journal_bytes"] - start["journal_bytes"]) / max(1, soak.paid - 1)
        ),
        "steps_per_trip": round(soak.steps / max(1, soak.paid), 1),
        "trips_per_s": round(soak.paid / max(1e-9, end["s"]), 2),
        "engine_errors": soak.runtime.errors,
        "seconds": end["s"],
    }
    tmp.cleanup()
    return result
