"""pyserial URL handler ``scalesim://`` : a simulated scale bridge behind ``serial_for_url``.

    import cart.sim.scale  # registers the scheme
    serial.serial_for_url("scalesim://?seed=3&profile=typical&speed=1")

The simulation runs lazily in real time (times ``speed``): each read advances the model to
the present and returns the bridge's bytes. ``port.bridge`` and ``port.model`` reach the
simulated hardware (tests place items through them); ``port.bridge.unplug()`` makes reads and
writes raise ``SerialException`` until ``replug()``, as a pulled USB cable does.
"""

from __future__ import annotations

import threading
import time
import urllib.parse

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from cart.sim.scale import BasketModel, SimBridge, config_for


class Serial(SerialBase):
    def __init__(self, *args, **kwargs):
        self.bridge: SimBridge | None = None
        self.model: BasketModel | None = None
        self._buf = bytearray()
        self._lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def open(self):
        if self.is_open:
            raise SerialException("port already open")
        if self._port is None:
            raise SerialException("port must be configured before use")
        parts = urllib.parse.urlsplit(self._port)
        if parts.scheme != "scalesim":
            raise SerialException(f"expected scalesim://, got {self._port!r}")
        opts = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()}
        unknown = set(opts) - {"seed", "profile", "speed"}
        if unknown:
            raise SerialException(f"scalesim://: unknown options {', '.join(sorted(unknown))}")
        try:
            seed = int(opts.get("seed", 0))
            self._speed = float(opts.get("speed", 1.0))
            cfg = config_for(opts.get("profile", "typical"))
        except ValueError as e:
            raise SerialException(f"scalesim://: {e}") from e
        self._t0 = time.monotonic()
        self.model = BasketModel(cfg, seed=seed, t0_ms=0)
        self.bridge = SimBridge(self.model, seed=seed)
        self.is_open = True

    def close(self):
        self.is_open = False
        super().close()

    def _reconfigure_port(self, *args, **kwargs):
        pass

    def _sim_ms(self) -> int:
        return int((time.monotonic() - self._t0) * 1000 * self._speed)

    def _check(self):
        if not self.is_open:
            raise PortNotOpenError()
        if not self.bridge.plugged:
            raise SerialException(
                "device reports readiness to read but returned no data (device disconnected?)"
            )

    def _pull(self):
        with self._lock:
            t = max(self._sim_ms(), self.model.now_ms)
            self._buf += self.bridge.advance_to(t)

    @property
    def in_waiting(self):
        self._check()
        self._pull()
        return len(self._buf)

    def read(self, size=1):
        self._check()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while True:
            self._pull()
            if self._buf or size == 0:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(min(0.005, max(0.0, (deadline or 0) - time.monotonic()) or 0.005))
            self._check()
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def write(self, data):
        self._check()
        with self._lock:
            self.bridge.advance_to(max(self._sim_ms(), self.model.now_ms))
            return self.bridge.write(bytes(data))

    def reset_input_buffer(self):
        self._check()
        self._buf.clear()

    def reset_output_buffer(self):
        pass

    @property
    def out_waiting(self):
        return 0
