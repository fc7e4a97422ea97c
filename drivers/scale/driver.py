"""Scale driver: the bridge on a serial URL, in a reader thread that reconnects.

``ScaleDriver`` opens ``serial.serial_for_url(url)``, runs the sans-I/O ``ScaleCore``
(``drivers.scale.core``) on the bytes in its reader thread, and reconnects with backoff after an
unplug (the loop of ``drivers.base.ReconnectingDevice``). Events go to a callback or a queue.
The configuration is ``drivers.scale.config``; its names and the core's are re-exported here.

Nothing in here raises on bytes from the device: bad frames are counted and reported.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Self

from cart.common.clock import Clock, SystemClock
from cart.common.events import DeviceStatus, WeightMoving, WeightSettled
from drivers.base import ReconnectingDevice
from drivers.scale import protocol as sp
from drivers.scale.config import ConfigError, ScaleConfig, save_profile
from drivers.scale.core import DEVICE, Request, SampleTimeline, ScaleCore, ScalePipeline
from drivers.scale.loadcell import NotCalibrated


class ScaleDriver(ReconnectingDevice):
    """The scale on a serial URL, with a reader thread that reconnects.

    ``on_event`` is called from the reader thread with each event; without it, events go to
    ``self.events`` (a ``queue.Queue``). ``close()`` is idempotent; the driver is a context
    manager (entering it starts the reader). The thread, the reconnect loop and ``close()``
    come from ``drivers.base``.
    """

    open_errors = (Exception,)  # any failure to open is a reconnect

    def __init__(
        self,
        url: str,
        config: ScaleConfig | None = None,
        *,
        clock: Clock | None = None,
        on_event: Callable | None = None,
        serial_factory: Callable | None = None,
        read_timeout_s: float = 0.02,
        handshake_timeout_ms: int = 3000,
    ) -> None:
        cfg = config or ScaleConfig()
        super().__init__(
            DEVICE, cfg.reconnect_min_ms, cfg.reconnect_max_ms, thread_name="scale-reader"
        )
        self.url = url
        self.cfg = cfg
        self.clock = clock or SystemClock()
        self.core = ScaleCore(self.cfg, self.clock)
        self.events: queue.Queue = queue.Queue()
        self._on_event = on_event
        self._factory = serial_factory
        self._read_timeout = read_timeout_s
        self._handshake_timeout_ms = handshake_timeout_ms
        self._ser = None
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self.connects = 0

    # -- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> Self:
        self.start()
        return self

    @property
    def pipeline(self) -> ScalePipeline:
        return self.core.pipeline

    def counters(self) -> dict[str, int]:
        return self.core.counters()

    def start(self) -> None:
        self._check_open("the scale driver is closed")
        self.worker.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def _close(self) -> None:
        self.worker.stop()
        self._close_port(send_stop=True)
        self._emit(self.core.status("disconnected", self._closed_detail()))

    # -- commands from other threads ----------------------------------------------------
    def command(self, mid: int, timeout: float = 3.0) -> Request:
        """Send an acknowledged command through the reader thread; waits for its outcome."""
        self._check_open("the scale driver is closed")
        with self._lock:
            r = self.core.request(mid)
        r.event.wait(timeout)
        return r

    # -- internals ----------------------------------------------------------------------
    def _emit(self, ev) -> None:
        if self._on_event is not None:
            try:
                self._on_event(ev)
            except Exception as e:  # noqa: BLE001 - a listener's bug must not kill the reader
                self.events.put(
                    DeviceStatus(
                        self.clock.now_ms(), DEVICE, "error", f"event listener failed: {e!r}"
                    )
                )
        else:
            self.events.put(ev)

    def _close_port(self, send_stop: bool = False) -> None:
        ser, self._ser = self._ser, None
        if ser is None:
            return
        with contextlib.suppress(Exception):
            if send_stop and self.core.state == "streaming":
                ser.write(sp.encode_command(0, sp.MsgId.STOP))
        with contextlib.suppress(Exception):
            ser.close()

    # -- the steps of the reconnect loop (drivers.base.ReconnectingDevice) ----------------
    def _open_link(self):
        import serial

        factory = self._factory or serial.serial_for_url
        self._ser = factory(
            self.url, baudrate=115200, timeout=self._read_timeout, write_timeout=1.0
        )
        return self._ser

    def _open_failed(self, exc: BaseException) -> None:
        if self.attempt == 1:
            self._emit(self.core.status("disconnected", f"cannot open {self.url}: {exc}"))

    def _close_link(self, ser) -> None:
        self._connected.clear()
        self._close_port()

    def _link_lost(self) -> None:
        self._emit(self.core.status("reconnecting", "link lost; reopening"))

    def _crashed(self, exc: Exception) -> None:
        self._emit(self.core.status("error", f"{type(exc).__name__}: {exc}"))

    def _session(self, ser) -> bool:
        """One connection: handshake, then stream until the link fails. True if it streamed."""
        self.connects += 1
        core = self.core
        with self._lock:
            core.begin()
        started = self.clock.now_ms()
        streamed = False
        try:
            ser.reset_input_buffer()
            while not self.stopping:
                with self._lock:
                    out, evs = core.outgoing()
                for ev in evs:
                    self._emit(ev)
                if out:
                    ser.write(out)
                if core.state == "failed":
                    return streamed
                if core.state != "streaming" and (
                    self.clock.now_ms() - started > self._handshake_timeout_ms
                ):
                    self._emit(core.status("error", "no handshake with the bridge"))
                    return streamed
                data = ser.read(max(1, ser.in_waiting))
                if not data:
                    continue
                with self._lock:
                    evs = core.feed(data)
                for ev in evs:
                    if isinstance(ev, DeviceStatus) and ev.state == "connected":
                        streamed = True
                        self._connected.set()
                    if isinstance(ev, DeviceStatus) and ev.state == "reconnecting":
                        started = self.clock.now_ms()
                        self._connected.clear()
                    self._emit(ev)
        except Exception as e:  # noqa: BLE001 - serial errors of every kind mean "unplugged"
            if not self.stopping:
                self._emit(core.status("reconnecting", f"serial error: {e}"))
            return streamed
        return streamed


__all__ = [
    "ConfigError",
    "NotCalibrated",
    "Request",
    "SampleTimeline",
    "ScaleConfig",
    "ScaleCore",
    "ScaleDriver",
    "ScalePipeline",
    "WeightMoving",
    "WeightSettled",
    "save_profile",
]
