"""Contract tests: the real scanner driver against the simulated scanner, over every backend
(a pyserial URL and a pty). Tests wait on events with timeouts; they never sleep and hope."""

from __future__ import annotations

import itertools
import queue
import threading
import time

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

from cart.common.clock import ManualClock
from cart.common.events import DeviceStatus, Scan
from cart.sim.scanner import ScannerSim, SimScannerConfig
from drivers.scanner import Scanner, ScannerClosedError, ScannerConfig

_names = itertools.count()


@pytest.fixture(params=["url", "pty"])
def backend(request):
    """(sim, url) for a fresh simulated scanner reachable through the given backend."""
    sim = ScannerSim(f"dev{next(_names)}", SimScannerConfig(terminator="CRLF", aim=True))
    url = f"simscanner://{sim.name}" if request.param == "url" else sim.open_pty()
    yield sim, url
    sim.close()


def next_of(scanner, kind, timeout=2.0, state=None):
    """The next event of ``kind`` (and ``state``), skipping others; fails after ``timeout``."""
    while True:
        try:
            event = scanner.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no {kind.__name__} {state or ''} within {timeout} s")
        if isinstance(event, kind) and (state is None or event.state == state):
            return event


def open_scanner(url, **kw):
    config = ScannerConfig(name="t", url=url, terminator="ANY", **kw)
    scanner = Scanner(config)
    next_of(scanner, DeviceStatus, state="connected")
    return scanner


def test_scan_reaches_the_driver(backend):
    sim, url = backend
    with open_scanner(url) as scanner:
        sim.scan("4006381333931", "]E0")
        sim.scan("0104412345678909", "]e0", chunk=3)  # split like USB packets
        a = next_of(scanner, Scan)
        b = next_of(scanner, Scan)
    assert (a.code, a.symbology, a.source) == ("4006381333931", "]E0", "scanner:t")
    assert (b.code, b.symbology) == ("0104412345678909", "]e0")


def test_garbage_is_counted_and_reading_goes_on(backend):
    sim, url = backend
    with open_scanner(url, max_line=64) as scanner:
        sim.write(b"\x1b]0;pwned\x07\r\n")
        sim.write(b"\xff\xfe\xfd\r\n")
        sim.write(b"9" * 500 + b"\r\n")
        sim.scan("12345670", "]E4")
        scan = next_of(scanner, Scan)
        counters = scanner.counters()
    assert scan.code == "12345670"
    assert counters["control_bytes"] == 1
    assert counters["invalid_utf8"] == 1
    assert counters["overlong"] == 1


def test_duplicates_within_window_are_dropped(backend):
    sim, url = backend
    with open_scanner(url, duplicate_window_ms=60_000) as scanner:
        sim.scan("4006381333931")
        sim.scan("4006381333931")
        sim.scan("12345670")
        assert next_of(scanner, Scan).code == "4006381333931"
        assert next_of(scanner, Scan).code == "12345670"
        assert scanner.counters()["duplicates"] == 1


@pytest.mark.slow
def test_unplugged_scanner_is_read_again_within_2_s_of_replug(backend):
    sim, url = backend
    with open_scanner(url) as scanner:
        sim.scan("4006381333931")
        next_of(scanner, Scan)
        sim.unplug()
        lost = next_of(scanner, DeviceStatus, state="reconnecting")
        assert lost.device == "scanner:t"
        # stay unplugged long enough for the backoff to reach its ceiling
        assert not scanner.connected.wait(1.5)
        sim.replug()
        back = next_of(scanner, DeviceStatus, timeout=2.0, state="connected")
        assert dict(back.counters)["reconnects"] == 1
        sim.scan("12345670")
        assert next_of(scanner, Scan, timeout=2.0).code == "12345670"


def test_timestamps_come_from_the_injected_clock():
    sim = ScannerSim("clocked")
    clock = ManualClock(start_ms=1000)
    scanner = Scanner(ScannerConfig(name="c", url="simscanner://clocked"), clock=clock)
    try:
        next_of(scanner, DeviceStatus, state="connected")
        clock.advance(250)
        sim.scan("4006381333931")
        assert next_of(scanner, Scan).t_ms == 1250
    finally:
        scanner.close()
        sim.close()


def test_on_event_callback_and_broken_handler_do_not_stop_the_reader():
    sim = ScannerSim("cb")
    got = []
    seen = threading.Event()

    def handler(event):
        got.append(event)
        if isinstance(event, Scan):
            if event.code == "boom":
                raise RuntimeError("consumer bug")
            seen.set()

    with Scanner(ScannerConfig(name="cb", url="simscanner://cb"), on_event=handler) as scanner:
        assert scanner.connected.wait(2)
        sim.scan("boom")
        sim.scan("4006381333931")
        assert seen.wait(2)
        with pytest.raises(RuntimeError):
            scanner.get(timeout=0)
    assert [e.code for e in got if isinstance(e, Scan)] == ["boom", "4006381333931"]
    sim.close()


def test_missing_device_reports_reconnecting_with_the_reason():
    with Scanner(ScannerConfig(name="gone", url="simscanner://nobody-here")) as scanner:
        status = next_of(scanner, DeviceStatus, state="reconnecting")
    assert "nobody-here" in status.detail


def test_bad_url_scheme_is_a_clear_status_not_a_crash():
    with Scanner(ScannerConfig(name="bad", url="nosuchscheme://x")) as scanner:
        status = next_of(scanner, DeviceStatus, state="reconnecting")
    assert "nosuchscheme" in status.detail


def test_close_is_idempotent_and_start_after_close_fails():
    sim = ScannerSim("closing")
    scanner = Scanner(ScannerConfig(name="z", url="simscanner://closing"))
    next_of(scanner, DeviceStatus, state="connected")
    scanner.close()
    scanner.close()
    assert scanner.closed and scanner.state == "disconnected"
    with pytest.raises(ScannerClosedError):
        scanner.start()
    sim.close()


def test_simscanner_url_opens_with_pyserial_directly():
    sim = ScannerSim("plain")
    port = serial.serial_for_url("simscanner://plain", timeout=1)
    try:
        sim.scan("4006381333931", "]E0")
        assert port.read(100) == sim.frame("4006381333931", "]E0")
        sim.unplug()
        with pytest.raises(serial.SerialException):
            port.read(1)
        with pytest.raises(serial.SerialException, match="unplugged"):
            serial.serial_for_url("simscanner://plain")
    finally:
        port.close()
        sim.close()


_marker = itertools.count()


@settings(max_examples=25, deadline=None)
@given(garbage=st.binary(max_size=300), chunk=st.integers(min_value=1, max_value=64))
def test_driver_survives_any_byte_sequence(garbage, chunk):
    """Whatever comes down the wire, the reader keeps running and the next real read arrives."""
    sim, scanner = _live()
    code = f"MARK{next(_marker)}"
    sim.write(garbage + b"\r\n", chunk=chunk)
    sim.scan(code, "]C0", chunk=chunk)
    deadline = time.monotonic() + 2.0
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{code} not read; counters {scanner.counters()}"
        event = scanner.get(timeout=remaining)
        if isinstance(event, Scan) and event.code == code:
            break
    assert scanner.state == "connected"


_LIVE = {}


def _live():
    if not _LIVE:
        sim = ScannerSim("fuzz")
        scanner = Scanner(
            ScannerConfig(name="fuzz", url="simscanner://fuzz", duplicate_window_ms=0)
        )
        next_of(scanner, DeviceStatus, state="connected")
        _LIVE.update(sim=sim, scanner=scanner)
    return _LIVE["sim"], _LIVE["scanner"]


@pytest.fixture(scope="module", autouse=True)
def _close_live():
    yield
    if _LIVE:
        _LIVE["scanner"].close()
        _LIVE["sim"].close()
        _LIVE.clear()


def test_a_failing_port_is_reported_and_the_reader_restarts():
    """A port that misbehaves in an unexpected way: the reader logs, reports "error" and
    carries on with a fresh port."""
    sim = ScannerSim("flaky")
    opened = []

    def opener(url, **kw):
        port = serial.serial_for_url(url, **kw)
        if not opened:
            port.read = lambda size=1: (_ for _ in ()).throw(ZeroDivisionError("driver bug"))
        opened.append(port)
        return port

    with Scanner(
        ScannerConfig(name="f", url="simscanner://flaky", reconnect_max_ms=100), open_port=opener
    ) as scanner:
        status = next_of(scanner, DeviceStatus, state="error")
        assert "ZeroDivisionError" in status.detail
        next_of(scanner, DeviceStatus, state="connected")
        sim.scan("4006381333931")
        assert next_of(scanner, Scan).code == "4006381333931"
    sim.close()
