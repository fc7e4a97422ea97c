"""The sd_notify notifier over a real unix datagram socket set as NOTIFY_SOCKET: READY once the
runtime loop and the screen have both beaten, WATCHDOG=1 on each tick while both keep beating,
nothing once one stops. The clock is a ManualClock; ticks are driven by hand."""

from __future__ import annotations

import socket
import threading

import pytest

from cart.app.runtime import EngineView, Runtime
from cart.app.watchdog import Notifier, Watchdog
from cart.common.clock import ManualClock


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    """A datagram socket standing in for systemd's notify socket; yields a reader."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "8000000")  # WatchdogSec=8

    def received() -> list[str]:
        out = []
        while True:
            try:
                out.append(sock.recv(4096).decode())
            except BlockingIOError:
                return out

    yield received
    sock.close()


def test_ready_then_watchdog_only_while_both_beat(systemd):
    clock = ManualClock(0)
    wd = Watchdog.from_env(("runtime", "screen"), clock=clock)
    assert (wd.period_ms, wd.interval_ms, wd.stale_ms) == (8000, 2000, 4000)
    runtime, screen = wd.beater("runtime"), wd.beater("screen")

    assert not wd.tick()  # nothing is up yet: no READY, no ping
    runtime()
    assert systemd() == []  # the screen has not started
    screen()
    assert systemd() == ["READY=1\nSTATUS=running"]

    for _ in range(3):  # both alive: one ping per tick
        clock.advance(1000)
        runtime()
        screen()
        assert wd.tick()
        assert systemd() == ["WATCHDOG=1"]

    # The runtime's worker hangs; the screen goes on beating.
    for _ in range(3):
        clock.advance(1000)
        screen()
        assert wd.tick()  # its last beat is under stale_ms (4 s) old
    assert systemd() == ["WATCHDOG=1"] * 3
    for _ in range(4):
        clock.advance(1000)
        screen()
        assert not wd.tick()
    assert systemd() == []
    assert wd.missed == ["runtime"]

    runtime()  # it recovers before systemd gave up: pings resume
    assert wd.tick()
    assert systemd() == ["WATCHDOG=1"]

    wd.close()
    assert systemd() == ["STOPPING=1"]


def test_screen_hang_stops_the_pings(systemd):
    clock = ManualClock(0)
    wd = Watchdog.from_env(clock=clock)
    wd.beater("runtime")()
    wd.beater("screen")()
    assert systemd() == ["READY=1\nSTATUS=running"]
    clock.advance(4000)
    wd.beater("runtime")()
    assert not wd.tick()
    assert wd.missed == ["screen"]
    assert systemd() == []


def test_the_runtime_worker_beats_while_it_loops(systemd):
    """The hook in cart.app.runtime: the worker beats on each loop, and stops beating when an
    engine call hangs."""

    class Engine:
        gate = threading.Event()
        entered = threading.Event()

        def handle_event(self, event, t_ms):
            pass

        def handle_action(self, action, t_ms):
            self.entered.set()
            self.gate.wait(10)  # a hung engine call

        def advance(self, t_ms):
            pass

        def view(self):
            return EngineView()

        def search_products(self, query, limit):
            return []

        def close(self):
            pass

    clock = ManualClock(0)
    wd = Watchdog.from_env(("runtime",), clock=clock)
    beats = []
    beat = wd.beater("runtime")
    engine = Engine()
    runtime = Runtime(engine, tick_ms=10)
    runtime.heartbeat = lambda: (beats.append(clock.now_ms()), beat())
    runtime.start()
    try:
        assert runtime.wait_idle()
        runtime.submit(object())  # goes to handle_action, which hangs
        assert engine.entered.wait(5)
        assert systemd() == ["READY=1\nSTATUS=running"]
        clock.advance(4000)
        seen = len(beats)
        assert not wd.tick()  # no beat for 4 s of the injected clock: no ping
        assert len(beats) == seen  # the worker is stuck inside the engine
        engine.gate.set()
        assert runtime.wait_idle()
        for _ in range(1000):  # the worker loops again (every tick_ms) and beats
            if len(beats) >= seen + 2:
                break
            threading.Event().wait(0.01)
        assert len(beats) >= seen + 2
        assert wd.tick()
        assert systemd() == ["WATCHDOG=1"]
    finally:
        engine.gate.set()
        runtime.close()


def test_abstract_socket_and_no_socket(monkeypatch):
    name = f"cart-test-{id(monkeypatch)}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        assert Notifier("@" + name).notify(READY=1)
        assert sock.recv(100) == b"READY=1"
    finally:
        sock.close()
    quiet = Notifier.from_env({})
    assert not quiet.enabled
    assert not quiet.notify(READY=1)
    wd = Watchdog.from_env(env={"NOTIFY_SOCKET": "/nonexistent/notify"}, clock=ManualClock(0))
    wd.beater("runtime")()
    wd.beater("screen")()  # a lost notification never raises
    assert wd.ready and wd.notifier.failed == 1
    assert not wd.tick()  # no WATCHDOG_USEC: no watchdog to ping
