"""The threaded runtime: inputs from any thread, one worker, snapshots out, never fatal."""

from __future__ import annotations

import threading

import pytest

from cart.app import actions
from cart.app.runtime import EngineView, Runtime
from cart.app.view import LineView, Totals
from cart.common.clock import ManualClock
from cart.common.events import DeviceStatus, Scan, WeightMoving, WeightSettled


class CountingEngine:
    """Bills 100 per scan; fails on the code "boom"; records what it was given."""

    def __init__(self):
        self.events, self.actions, self.advanced = [], [], []
        self.thread_ids = set()
        self.closed = 0
        self.advanced_to_1500 = threading.Event()

    def handle_event(self, event, t_ms):
        self.thread_ids.add(threading.get_ident())
        if isinstance(event, Scan) and event.code == "boom":
            raise ValueError("bad code")
        self.events.append(event)

    def handle_action(self, action, t_ms):
        self.thread_ids.add(threading.get_ident())
        self.actions.append((action, t_ms))

    def advance(self, t_ms):
        self.advanced.append(t_ms)
        if t_ms >= 1_500:
            self.advanced_to_1500.set()

    def view(self):
        scans = [e for e in self.events if isinstance(e, Scan)]
        lines = tuple(LineView(i, s.code, "1", 100, False, 100) for i, s in enumerate(scans))
        return EngineView(lines=lines, totals=Totals(100 * len(lines), 0, 0, 100 * len(lines)))

    def search_products(self, query, limit):
        return []

    def close(self):
        self.closed += 1


class Sink:
    def __init__(self):
        self.views = []
        self.cond = threading.Condition()

    def __call__(self, view):
        with self.cond:
            self.views.append(view)
            self.cond.notify_all()

    def wait_for(self, pred, timeout=5.0):
        with self.cond:
            assert self.cond.wait_for(lambda: self.views and pred(self.views[-1]), timeout)
        return self.views[-1]


def test_events_from_many_threads_reach_one_worker_and_one_snapshot_shows_them():
    engine, sink = CountingEngine(), Sink()
    with Runtime(engine, clock=ManualClock()) as rt:
        rt.attach(sink)

        def driver(k):  # each its own scanner, scanning 10 codes a second
            for i in range(50):
                rt.post(Scan(t_ms=i * 100, code=f"{k}-{i}", source=f"scanner:{k}"))

        threads = [threading.Thread(target=driver, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        view = sink.wait_for(lambda v: v.seq == 200)
        assert len(view.lines) == 200 and view.totals.total == 20_000
        assert len(engine.thread_ids) == 1 and threading.get_ident() not in engine.thread_ids
        # bursts collapse: fewer snapshots than inputs, and seq never goes back
        seqs = [v.seq for v in sink.views]
        assert seqs == sorted(seqs)
    assert engine.closed == 1


def test_scale_and_device_status_are_screen_state():
    engine, sink = CountingEngine(), Sink()
    with Runtime(engine, clock=ManualClock()) as rt:
        rt.attach(sink)
        rt.post(DeviceStatus(1, "scale", "connected"))
        rt.post(DeviceStatus(2, "scanner:hand", "reconnecting", "unplugged", (("gaps", 1),)))
        rt.post(WeightMoving(3, 120.0))
        view = sink.wait_for(lambda v: v.seq == 3)
        assert view.scale.grams == 120.0 and not view.scale.stable
        assert [(d.name, d.state) for d in view.devices] == [
            ("scale", "connected"),
            ("scanner:hand", "reconnecting"),
        ]
        rt.post(WeightSettled(4, 412.0, 412.0, 300, 0.4))
        view = sink.wait_for(lambda v: v.seq == 4)
        assert view.scale.grams == 412.0 and view.scale.stable
        assert len(engine.events) == 4  # the engine sees them too


def test_an_engine_error_is_shown_and_the_cart_keeps_running():
    engine, sink = CountingEngine(), Sink()
    with Runtime(engine, clock=ManualClock()) as rt:
        rt.attach(sink)
        rt.post(Scan(1, "boom"))
        view = sink.wait_for(lambda v: v.seq == 1)
        assert "bad code" in view.message and rt.errors == 1
        rt.post(Scan(2, "4006381333931"))
        view = sink.wait_for(lambda v: v.seq == 2)
        assert view.message == "" and len(view.lines) == 1


def test_actions_carry_the_injected_clock_and_close_is_idempotent():
    clock = ManualClock(5_000)
    engine, sink = CountingEngine(), Sink()
    rt = Runtime(engine, clock=clock)
    rt.attach(sink)
    rt.submit(actions.Pay())
    assert rt.wait_idle()
    assert engine.actions == [(actions.Pay(), 5_000)]

    class Src:
        closed = 0

        def close(self):
            self.closed += 1

    src = rt.add_source(Src())
    rt.close()
    rt.close()
    assert src.closed == 1 and engine.closed == 1
    assert rt.post(Scan(9, "x")) == -1  # refused after close


def test_time_passes_without_input():
    engine, sink = CountingEngine(), Sink()
    clock = ManualClock(1_000)
    with Runtime(engine, clock=clock, tick_ms=10) as rt:
        rt.attach(sink)
        clock.advance(500)
        assert engine.advanced_to_1500.wait(5)
        assert 1_500 in engine.advanced


@pytest.mark.slow
def test_bench_harness_measures_event_to_screen():
    from cart.bench import ui as bench

    def build():
        rt = Runtime(CountingEngine(), clock=ManualClock())
        fill = [Scan(10_000 + 40 * i, f"fill-{i}") for i in range(200)]  # 25 a second
        return bench.BenchStack(rt, fill, lambda i: Scan(40 * i, f"ev-{i}"))

    result = bench.run(build, events=20, idle_s=0.2, one_core=False, clicks=4)
    assert result["lines"] == 200 + 20  # filled, after the near-empty round
    assert result["clicks"] == 4 * 4  # keypad, keyboard, and the produce screen opened, closed
    assert result["click_ms_p99"] >= result["click_ms_p50"] > 0
    for key in ("latency_ms_p50", "latency_ms_p99", "idle_cpu_pct", "startup_s", "rss_mb"):
        assert result[key] is not None and result[key] >= 0, key
    assert result["latency_ms_p99"] >= result["latency_ms_p50"] > 0
    assert result["errors"] == 0


@pytest.mark.slow
def test_bench_on_the_real_stack_reports_every_figure():
    from cart.bench import ui as bench

    result = bench.run(lambda: bench.ui_stack(20), events=10, idle_s=0.2, one_core=False)
    assert result["lines"] >= 20 and result["errors"] == 0
    assert result["latency_ms_p99"] >= result["latency_ms_p50"] > 0
    assert result["rss_mb"] > 10 and result["startup_s"] is not None
    if result["classifier_loaded"]:  # the shipped model: its worker answers placements
        assert result["vision_verdicts"] == 20
        assert result["vision_ms_p99"] >= result["vision_ms_p50"] > 0
