"""The engine and the store's pushes: a catalogue from the store is used from the next trip (a
line keeps the price it was scanned at); a lock stops the next trip; a spot-check rate set by
the store is the one the next exit code is drawn with."""

from __future__ import annotations

import shutil
import threading

from cart.app import actions
from cart.app.stack import build_runtime
from cart.common.clock import ManualClock
from cart.common.events import Scan, WeightSettled
from cart.store.loading import DEMO_STORE, load_store

MILK = "7310000100147"  # arla-standard-milk, 1895, 1580 g


class Views:
    def __init__(self):
        self.cond = threading.Condition()
        self.last = None

    def __call__(self, view):
        with self.cond:
            self.last = view
            self.cond.notify_all()

    def wait(self, pred, timeout=10.0):
        with self.cond:
            ok = self.cond.wait_for(lambda: self.last is not None and pred(self.last), timeout)
        assert ok, f"no snapshot matched; last: {self.last}"
        return self.last


def dearer_milk(tmp_path):
    folder = tmp_path / "store"
    shutil.copytree(DEMO_STORE, folder)
    p = folder / "catalog.toml"
    text = p.read_text()
    old = 'gtins = ["7310000100147"]\nsold_by = "each"\nprice_each = 1895'
    assert old in text
    p.write_text(text.replace(old, old.replace("1895", "1995")))
    return load_store(folder)


def test_a_new_catalogue_waits_for_the_next_trip_and_a_lock_stops_it(tmp_path):
    clock = ManualClock()
    rt = build_runtime(load_store(), tmp_path / "j.sqlite", clock=clock, synchronous="NORMAL")
    views = Views()
    rt.attach(views)
    with rt:
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), MILK, "]E0", "scanner:hand"))
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 1580.0, 1580.0, 400, 0.5))
        assert views.wait(lambda v: len(v.lines) == 1).lines[0].total == 1895
        rt.call_soon(
            rt.engine.offer_store, dearer_milk(tmp_path)
        )  # the store pushes a new price mid-trip
        rt.submit(actions.Pay())
        view = views.wait(lambda v: v.receipt is not None)
        assert view.totals.total == 1895  # the line kept the price it was scanned at
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 1.0, -1579.0, 400, 0.5))
        rt.call_soon(rt.engine.store_command, "lock", {"reason": "wheel"})
        seq = views.last.seq
        rt.submit(actions.NewTrip())
        view = views.wait(lambda v: v.seq > seq)
        assert "locked (wheel)" in view.message and view.receipt is not None
        rt.call_soon(rt.engine.store_command, "unlock", {})
        rt.call_soon(rt.engine.store_command, "spot_check_rate", {"rate": 1.0, "band": "all"})
        seq = views.last.seq
        rt.submit(actions.NewTrip())
        view = views.wait(lambda v: v.seq > seq and v.receipt is None)
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), MILK, "]E0", "scanner:hand"))
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 1581.0, 1580.0, 400, 0.5))
        assert views.wait(lambda v: len(v.lines) == 1).lines[0].total == 1995
        assert rt.engine.spot_check.low == 1.0 and rt.engine.spot_check.high == 1.0
