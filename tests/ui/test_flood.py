"""Floods: screen actions before queued device events (paying in order), a snapshot at least
every ``PUBLISH_MS`` of a long burst, devices above a sane rate throttled with a counter on
their status line. Behaviour only: event times are the devices' own, never the wall clock."""

from __future__ import annotations

import threading

import pytest

import cart.app.runtime as runtime_mod
from cart.app import actions
from cart.app.runtime import EngineView, Runtime
from cart.app.throttle import COUNTER, SCANNER, Throttle
from cart.common.clock import ManualClock
from cart.common.events import DeviceStatus, Scan, WeightMoving
from cart.ui.widgets import ERROR_WORDS


class GatedEngine:
    """Records what it handles, in order, with the time it was given; the first device event
    holds the worker until ``gate`` is set (so the rest queue up behind it)."""

    def __init__(self):
        self.gate = threading.Event()
        self.started = threading.Event()
        self.handled: list[tuple[str, object, int]] = []

    def handle_event(self, event, t_ms):
        if not self.handled:
            self.started.set()
            assert self.gate.wait(10)
        self.handled.append(("event", getattr(event, "code", event), t_ms))

    def handle_action(self, action, t_ms):
        self.handled.append(("action", type(action).__name__, t_ms))

    def advance(self, t_ms):
        pass

    def view(self):  # what was handled, in order, as the snapshot's message
        return EngineView(message=",".join(str(w) for _, w, _ in self.handled))

    def search_products(self, query, limit):
        return []

    def close(self):
        pass


def scan(t: int, code: str, source: str = "scanner:hand") -> Scan:
    return Scan(t, code, "]E0", source)


def test_a_screen_action_is_handled_before_the_device_events_queued_ahead_of_it():
    engine = GatedEngine()
    clock = ManualClock(10_000)
    with Runtime(engine, clock=clock) as rt:
        rt.attach(lambda v: None)
        rt.post(scan(10_000, "first"))
        assert engine.started.wait(5)  # the worker holds the first scan
        for i in range(5):
            rt.post(scan(10_100 + 100 * i, f"queued-{i}"))
        clock.set(11_000)
        answer = rt.submit(actions.Answer(7, "personal"))
        pay = rt.submit(actions.Pay())  # paying sees every scan queued before it
        engine.gate.set()
        assert rt.wait_idle(10)
        order = [what for _, what, _ in engine.handled]
        assert order == ["first", "Answer", *[f"queued-{i}" for i in range(5)], "Pay"]
        # the action taken ahead happens, for the basket, between the last input handled and
        # the first still queued: time never goes back for what comes after it
        times = [t for _, _, t in engine.handled]
        assert times[1] == 10_100 and times == sorted(times)
        assert rt.view.seq == pay == answer + 1  # every input up to the last handled
        assert rt.actions_done == pay


def test_seq_of_a_snapshot_counts_only_inputs_handled_without_a_hole():
    engine = GatedEngine()
    seen = []
    with Runtime(engine, clock=ManualClock(0)) as rt:
        rt.attach(seen.append)
        rt.post(scan(0, "first"))
        assert engine.started.wait(5)
        rt.post(scan(100, "queued"))
        rt.submit(actions.LeaveStaffMode())
        engine.gate.set()
        assert rt.wait_idle(10)
    seqs = [v.seq for v in seen]
    assert seqs == sorted(seqs) and seqs[-1] == 3
    assert seen[-1].message == "first,LeaveStaffMode,queued"
    # the action (input 3) was handled before the queued scan (input 2): a snapshot taken in
    # between says 1, never 3 before 2 was handled
    for v in seen:
        if "queued" not in v.message:
            assert v.seq <= 1, v


def test_a_long_burst_is_cut_into_snapshots(monkeypatch):
    monkeypatch.setattr(runtime_mod, "PUBLISH_MS", 0)  # a snapshot after every input
    engine = GatedEngine()
    seen = []
    with Runtime(engine, clock=ManualClock(0)) as rt:
        rt.attach(seen.append)
        rt.post(scan(0, "first"))
        assert engine.started.wait(5)
        for i in range(20):
            rt.post(scan(100 * (i + 1), f"b{i}"))
        before = len(seen)
        engine.gate.set()
        assert rt.wait_idle(10)
    burst = [v.seq for v in seen[before:]]
    assert len(set(burst)) >= 21  # one snapshot per input of the burst, not one at its end
    assert burst == sorted(burst)


def test_a_scanner_flooding_is_throttled_and_its_status_line_counts_the_drops():
    from cart.app.runtime import EngineView

    class Counting(GatedEngine):
        def __init__(self):
            super().__init__()
            self.gate.set()

        def view(self):
            return EngineView()

    engine = Counting()
    with Runtime(engine, clock=ManualClock(0)) as rt:
        rt.attach(lambda v: None)
        flood = [rt.post(scan(i, f"f{i}")) for i in range(1000)]  # 1000 codes in one second
        calm = [rt.post(scan(100 * i, f"c{i}", "scanner:other")) for i in range(10)]  # 10/s
        scale = [rt.post(WeightMoving(12 * i, 1.0)) for i in range(80)]  # a scale's second
        assert rt.wait_idle(10)
        admitted = sum(1 for s in flood if s > 0)
        # the burst, then the rate over the second that passed (in the events' own time)
        assert SCANNER.burst <= admitted <= SCANNER.burst + SCANNER.per_s + 1
        assert all(s > 0 for s in calm) and all(s > 0 for s in scale)
        devices = {d.name: dict(d.counters) for d in rt.view.devices}
        assert devices["scanner:hand"][COUNTER] == 1000 - admitted
        assert COUNTER not in devices.get("scanner:other", {})
        assert any(w in COUNTER for w in ERROR_WORDS)  # the status bar shows it
        handled = [w for k, w, _ in engine.handled if k == "event" and str(w).startswith("f")]
        assert len(handled) == admitted


def test_the_throttle_refills_in_event_time_and_judges_each_device_apart():
    th = Throttle()
    t = 0
    passed = 0
    for _ in range(SCANNER.burst + 10):  # all at one instant: the burst only
        passed += th.admit(scan(t, "x"))
    assert passed == SCANNER.burst
    t += 1000  # a second later: that second's tokens
    passed = sum(th.admit(scan(t, "x")) for _ in range(200))
    assert int(SCANNER.per_s) <= passed <= int(SCANNER.per_s) + 1
    assert th.admit(DeviceStatus(t, "scanner:hand", "connected"))  # statuses apart
    assert th.admit(scan(t, "x", "scanner:other"))  # another scanner apart
    assert dict(th.counters())["scanner:hand"] == ((COUNTER, th.dropped["scanner:hand"]),)


@pytest.mark.slow
def test_flood_bench_reports_throttled_drops_and_answers_every_key():
    from cart.bench.flood import events_per_s, flood

    r = flood(rate=2000, seconds=1.0, lines=3, synchronous="NORMAL")
    assert r["codes_posted"] > r["codes_accepted"] > 0
    assert r["throttled_drops"]["scanner:hand"] == r["codes_posted"] - r["codes_accepted"]
    assert r["status_line_counters"][COUNTER] == r["throttled_drops"]["scanner:hand"]
    assert r["actions"] > 0 and r["actions_answered"] == r["actions"]
    assert r["engine_errors"] == 0
    e = events_per_s(5, events=50, synchronous="NORMAL")
    assert e["lines"] >= 5 and e["events_per_s"] > 0 and e["engine_errors"] == 0
