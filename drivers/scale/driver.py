"""Scale driver: the bridge on a serial URL, the handshake, the sample stream and the pipeline.

Layers (each usable on its own):

- ``ScaleConfig``: the ``[scale]`` section of a device profile, validated (unknown keys are
  errors) before anything opens.
- ``ScalePipeline``: counts -> grams (``drivers.scale.loadcell``) -> filters -> stability detector ->
  ``WeightSettled`` / ``WeightMoving`` events. No I/O.
- ``ScaleCore``: the protocol session without I/O: parses bytes (``FrameParser``), checks the
  identify reply, sends acknowledged commands with retries and exponential backoff, counts CRC
  failures, sample gaps and overflows, timestamps samples from their sequence numbers, and
  feeds the pipeline. ``feed(bytes, now_ms)`` returns events; ``outgoing(now_ms)`` returns the
  bytes due for the bridge (first sends and retries). The in-process simulator drives this.
- ``ScaleDriver``: opens ``serial.serial_for_url(url)``, runs ``ScaleCore`` in a reader thread,
  and reconnects with backoff after an unplug. Events go to a callback or a queue.

Nothing in here raises on bytes from the device: bad frames are counted and reported.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Self

import numpy as np

from cart.common.clock import Clock, SystemClock
from cart.common.events import DeviceStatus, WeightMoving, WeightSettled
from cart.common.profile import reject_unknown_keys
from drivers.base import ReconnectingDevice
from drivers.scale import protocol as sp
from drivers.scale.loadcell import Calibration, LoadCells, NotCalibrated
from drivers.scale.filters import Chain, MedianFilter, StabilityConfig, StabilityDetector

DEVICE = "scale"


class ConfigError(ValueError):
    """The [scale] section of a profile is invalid (the message names the key)."""


@dataclass(frozen=True)
class ScaleConfig:
    port: str = "/dev/cart-scale"
    channels: int = 4
    rate_sps: int = 80
    gain: int = 128
    median_window: int = 3
    command_timeout_ms: int = 150
    command_retries: int = 4
    reconnect_min_ms: int = 250
    reconnect_max_ms: int = 5000
    stability: StabilityConfig = field(default_factory=StabilityConfig)
    calibration: Calibration = field(default_factory=Calibration)

    @classmethod
    def from_dict(cls, d: dict) -> ScaleConfig:
        d = dict(d)
        plain = {f.name: f for f in fields(cls) if f.name not in ("stability", "calibration")}
        reject_unknown_keys("scale", d, set(plain) | {"stability", "calibration"}, ConfigError)
        kw = {}
        for name, value in d.items():
            if name in plain:
                want = str if name == "port" else int
                if not isinstance(value, want) or isinstance(value, bool):
                    raise ConfigError(f"[scale].{name} must be {want.__name__}")
                kw[name] = value
        channels = kw.get("channels", 4)
        st = d.get("stability", {})
        known = {f.name for f in fields(StabilityConfig)}
        reject_unknown_keys("scale.stability", st, known, ConfigError)
        try:
            stability = StabilityConfig(**st)
            calibration = Calibration.from_dict(d.get("calibration", {}), channels)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"[scale]: {e}") from e
        cfg = cls(**kw, stability=stability, calibration=calibration)
        if not 1 <= cfg.channels <= sp.MAX_CHANNELS:
            raise ConfigError("[scale].channels must be 1..8")
        if cfg.command_retries < 0 or cfg.command_timeout_ms < 10:
            raise ConfigError("[scale]: command_retries >= 0 and command_timeout_ms >= 10")
        return cfg

    @classmethod
    def from_profile(cls, path: str | Path) -> ScaleConfig:
        import tomllib

        with open(path, "rb") as f:
            doc = tomllib.load(f)
        if "scale" not in doc:
            raise ConfigError(f"{path}: no [scale] section")
        return cls.from_dict(doc["scale"])

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in ("stability", "calibration")}
        base = StabilityConfig()
        st = {f.name: getattr(self.stability, f.name) for f in fields(StabilityConfig)
              if getattr(self.stability, f.name) != getattr(base, f.name)}
        if st:
            d["stability"] = st
        d["calibration"] = self.calibration.to_dict()
        return d


_REGION = re.compile(r"(# ---- scale[^\n]*\n)(.*?)(?=^# ---- )", re.DOTALL | re.MULTILINE)


def save_profile(path: str | Path, config: ScaleConfig) -> None:
    """Rewrite only the [scale] region of a profile (between its comment header and the next
    one); every other section and comment stays byte for byte."""
    import tomli_w

    path = Path(path)
    text = path.read_text()
    body = tomli_w.dumps({"scale": config.to_dict()})
    m = _REGION.search(text)
    if m is None:
        raise ConfigError(f"{path}: no '# ---- scale' region header")
    new = text[: m.start(2)] + body + "\n" + text[m.end(2):]
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new)
    tmp.replace(path)


# ---------------------------------------------------------------------------------------------


class ScalePipeline:
    """Counts in, events out. Raw counts, grams and filtered grams stay observable."""

    def __init__(self, calibration: Calibration, stability: StabilityConfig | None = None,
                 median_window: int = 3) -> None:
        self.cells = LoadCells(calibration)
        self.stability_cfg = stability or StabilityConfig()
        self.median_window = median_window
        self.filters = Chain(MedianFilter(median_window))
        self.detector = StabilityDetector(self.stability_cfg)
        self.taps: list[Callable] = []  # f(t, counts, grams|None, filtered|None)
        self.last_counts: np.ndarray | None = None
        self.last_grams: float | None = None
        self.saturated = False

    @property
    def calibrated(self) -> bool:
        return self.cells.calibrated

    def set_calibration(self, calibration: Calibration) -> None:
        self.cells.set_calibration(calibration)
        self.reset()

    def reset(self) -> None:
        self.filters.reset()
        last = self.detector.last_settled
        self.detector = StabilityDetector(self.stability_cfg, settled_g=last)

    def process(self, t: np.ndarray, counts: np.ndarray, flags: np.ndarray | None = None):
        if len(t) == 0:
            return []
        self.last_counts = counts[-1]
        sat = self.cells.saturated(counts)
        self.saturated = bool(sat[-1])
        if not self.cells.calibrated:
            for tap in self.taps:
                tap(t, counts, None, None)
            return []
        grams = self.cells.grams(counts)
        tf, gf = self.filters.process(t, grams)
        self.last_grams = float(gf[-1])
        for tap in self.taps:
            tap(t, counts, grams, gf)
        return self.detector.process(tf, gf, ~sat)


class Request:
    """An acknowledged command in flight."""

    __slots__ = ("attempts", "done", "due_ms", "error", "event", "frame", "mid", "reply", "seq")

    def __init__(self, seq: int, mid: int) -> None:
        self.seq, self.mid = seq, mid
        self.frame = sp.encode_command(seq, mid)
        self.attempts = 0
        self.due_ms = 0
        self.done = False
        self.reply: sp.Message | None = None
        self.error: str | None = None
        self.event = threading.Event()


class SampleTimeline:
    """Sample sequence numbers in, sample times out.

    Unwraps the bridge's 16-bit sequence into the sample's index since the anchor, counts gaps
    (and the samples they lost), and timestamps each sample from its index: the least-delayed
    sample anchors the stream (arrival >= sample time). ``expected_seq`` (the next sequence
    number expected, ``None`` before the first sample) and ``index`` (the index it will get)
    are public, so whoever knows that the bridge skipped numbers on purpose can say so."""

    LEAK_MS = 0.05  # per sample: lets the time anchor follow a slightly slow ADC oscillator

    def __init__(self, period_ms: float) -> None:
        self.period_ms = period_ms
        self.expected_seq: int | None = None
        self.index = 0
        self._offset: float | None = None
        self._last_t = -(1 << 62)

    def restart(self) -> None:
        """A new stream (a handshake): the next sample starts a new index."""
        self.expected_seq = None

    def times(self, seq: np.ndarray, now: int) -> tuple[np.ndarray, int, int]:
        """(sample times in ms, gaps, samples lost) for a block of sequence numbers that
        arrived at ``now``."""
        n = len(seq)
        seq = seq.astype(np.int64)
        gaps = lost = 0
        if self.expected_seq is None:
            self.index = 0
            self.expected_seq = int(seq[0])
            self._offset = None
        steps = np.diff(np.concatenate(([self.expected_seq - 1], seq))) % 65536
        if np.any(steps != 1):
            bad = steps != 1
            jumps = steps[bad]
            back = jumps >= 32768
            if back.any():
                # sequence went backwards: the bridge restarted; start a new anchor
                self._offset = None
            lost = int(np.sum(np.where(back, 0, jumps - 1)))
            gaps = int(np.count_nonzero(~back))
            steps = np.where(steps >= 32768, 1, steps)
        k = self.index + np.cumsum(steps) - 1
        self.index = int(k[-1]) + 1
        self.expected_seq = (int(seq[-1]) + 1) % 65536
        cand = now - k[-1] * self.period_ms
        if self._offset is None or cand < self._offset:
            self._offset = cand
        t = np.rint(self._offset + k * self.period_ms).astype(np.int64)
        t = np.maximum(t, self._last_t + 1 + np.arange(n))
        t = np.maximum.accumulate(t)
        self._last_t = int(t[-1])
        self._offset = min(self._offset + self.LEAK_MS * n, cand)
        return t, gaps, lost


class ScaleCore:
    """The protocol session and the pipeline, without I/O (see module doc). ``timeline``
    (default: a :class:`SampleTimeline`) turns sample sequence numbers into times."""

    def __init__(self, config: ScaleConfig, clock: Clock, pipeline: ScalePipeline | None = None,
                 timeline: SampleTimeline | None = None):
        self.cfg = config
        self.clock = clock
        self.pipeline = pipeline or ScalePipeline(config.calibration, config.stability,
                                                  config.median_window)
        self.parser = sp.FrameParser()
        self.period_ms = 1000.0 / config.rate_sps
        self.timeline = timeline or SampleTimeline(self.period_ms)
        self.identity: sp.Identify | None = None
        self.state = "idle"  # idle | identify | start | streaming | failed
        self.error: str | None = None
        self._seq = 0
        self._pending: dict[int, Request] = {}
        self._handshake: Request | None = None
        self.stats = dict.fromkeys(
            ("gaps", "samples_lost", "overflows", "payload_errors", "samples", "adc_not_ready",
             "saturated", "rx_errors", "reboots", "commands_retried", "commands_failed"), 0)

    # -- counters -----------------------------------------------------------------------
    def counters(self) -> dict[str, int]:
        c = dict(self.stats)
        c["crc_errors"] = self.parser.crc_errors
        c["bytes_discarded"] = self.parser.bytes_discarded
        c["frames"] = self.parser.frames
        return c

    def status(self, state: str, detail: str = "") -> DeviceStatus:
        return DeviceStatus(self.clock.now_ms(), DEVICE, state, detail,
                            tuple(sorted(self.counters().items())))

    @property
    def commands_pending(self) -> int:
        """Acknowledged commands sent or due and not yet answered (nor given up)."""
        return len(self._pending)

    # -- commands -----------------------------------------------------------------------
    def request(self, mid: int) -> Request:
        self._seq = self._seq % 255 + 1
        r = Request(self._seq, mid)
        self._pending[r.seq] = r
        return r

    def outgoing(self, now_ms: int | None = None) -> tuple[bytes, list]:
        """Bytes due for the bridge (first sends and retries), and events (failures)."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        out = bytearray()
        events = []
        for seq, r in list(self._pending.items()):
            if r.done or now < r.due_ms:
                continue
            if r.attempts > self.cfg.command_retries:
                r.done = True
                r.error = f"no answer to command 0x{r.mid:02x} after {r.attempts} tries"
                del self._pending[seq]
                self.stats["commands_failed"] += 1
                r.event.set()
                if r is self._handshake:
                    self.state, self.error = "failed", r.error
                events.append(self.status("error", r.error))
                continue
            if r.attempts:
                self.stats["commands_retried"] += 1
            out += r.frame
            r.due_ms = now + self.cfg.command_timeout_ms * (2 ** r.attempts)
            r.attempts += 1
        return bytes(out), events

    def begin(self) -> Request:
        """Start the handshake: identify, check, start streaming."""
        self.parser.reset()
        self.state = "identify"
        self.error = None
        self.timeline.restart()
        self._handshake = self.request(sp.MsgId.IDENTIFY)
        return self._handshake

    def stop(self) -> Request:
        self.state = "idle"
        return self.request(sp.MsgId.STOP)

    # -- bytes in -----------------------------------------------------------------------
    def feed(self, data: bytes, now_ms: int | None = None) -> list:
        now = self.clock.now_ms() if now_ms is None else now_ms
        events: list = []
        if self.state == "streaming":
            rows = self.parser.take_samples(data, sp.sample_frame_len(self.cfg.channels))
            data = b""
            if rows is not None:
                events += self._sample_block(*sp.decode_sample_rows(rows, self.cfg.channels),
                                             now)
        frames = self.parser.feed(data)
        payloads: list[bytes] = []
        for f in frames:
            if f.mid == sp.MsgId.SAMPLE and len(f.payload) == 3 + 3 * self.cfg.channels:
                if self.state == "streaming":
                    payloads.append(f.payload)
                continue
            if payloads:
                events += self._samples(payloads, now)
                payloads = []
            try:
                msg = sp.decode_message(f)
            except sp.ProtocolError as e:
                self.stats["payload_errors"] += 1
                events.append(self.status("error", f"bad frame from the bridge: {e}"))
                continue
            events += self._message(msg, now, f.seq)
        if payloads:
            events += self._samples(payloads, now)
        return events

    def _message(self, msg, now, seq: int) -> list:
        events = []
        if isinstance(msg, (sp.Ack, sp.Identify)):
            r = self._pending.get(seq)
            want = sp.MsgId.IDENTIFY if isinstance(msg, sp.Identify) else msg.command
            if r is not None and r.mid != want:
                r = None
            if r is None:
                return events  # a late duplicate answer to a retried command
            del self._pending[r.seq]
            r.done, r.reply = True, msg
            if isinstance(msg, sp.Ack) and msg.code != sp.AckCode.OK:
                r.error = f"bridge refused command 0x{r.mid:02x} (code {msg.code})"
            r.event.set()
            events += self._handshake_step(r, now)
        elif isinstance(msg, sp.Status):
            events += self._bridge_status(msg)
        return events

    def _handshake_step(self, r: Request, now: int) -> list:
        if r is not self._handshake:
            return []
        if r.error:
            self.state, self.error = "failed", r.error
            return [self.status("error", r.error)]
        if self.state == "identify":
            ident = r.reply
            problem = None
            if ident.protocol != sp.PROTOCOL_VERSION:
                problem = f"bridge speaks protocol {ident.protocol}, host {sp.PROTOCOL_VERSION}"
            elif ident.channels != self.cfg.channels:
                problem = f"bridge has {ident.channels} channels, profile {self.cfg.channels}"
            elif ident.rate_sps != self.cfg.rate_sps or ident.gain != self.cfg.gain:
                problem = (f"bridge runs {ident.rate_sps} SPS gain {ident.gain}, profile "
                           f"{self.cfg.rate_sps} SPS gain {self.cfg.gain}")
            self.identity = ident
            if problem:
                self.state, self.error = "failed", problem
                return [self.status("error", problem)]
            self.state = "start"
            self._handshake = self.request(sp.MsgId.START)
            return []
        if self.state == "start":
            self.state = "streaming"
            self._handshake = None
            self.timeline.restart()
            self.pipeline.reset()
            ev = [self.status("connected", f"{self.identity.name} firmware "
                                            f"{self.identity.firmware_version}, "
                                            f"{self.identity.channels} ch "
                                            f"{self.identity.rate_sps} SPS")]
            if not self.pipeline.calibrated:
                ev.append(self.status("error", "not calibrated: no weights until "
                                               "`cart scale tare` and `cart scale calibrate`"))
            return ev
        return []

    def _bridge_status(self, msg: sp.Status) -> list:
        code = msg.code
        if code == sp.StatusCode.BOOT:
            self.stats["reboots"] += 1
            if self.state == "streaming":
                # the bridge restarted under us (brown-out, watchdog): handshake again
                self.begin()
                return [self.status("reconnecting", "bridge restarted")]
            return []
        if code == sp.StatusCode.OVERFLOW:
            self.stats["overflows"] += msg.value
            return [self.status("error", f"bridge dropped {msg.value} samples (overflow)")]
        if code == sp.StatusCode.ADC_NOT_READY:
            self.stats["adc_not_ready"] += 1
            return [self.status("error", f"channel {msg.channel} ADC not ready for "
                                         f"{msg.value} ms")]
        if code == sp.StatusCode.SATURATED:
            self.stats["saturated"] += 1
            return [self.status("error", f"channel {msg.channel} saturated (overload)")]
        if code == sp.StatusCode.RX_ERROR:
            self.stats["rx_errors"] = msg.value
            return []
        return [self.status("error", f"unknown status {code} from the bridge")]

    # -- samples ------------------------------------------------------------------------
    def _samples(self, payloads: list[bytes], now: int) -> list:
        return self._sample_block(*sp.decode_samples(payloads, self.cfg.channels), now)

    def _sample_block(self, seq, flags, counts, now: int) -> list:
        t, gaps, lost = self.timeline.times(seq, now)
        self.stats["gaps"] += gaps
        self.stats["samples_lost"] += lost
        self.stats["samples"] += len(seq)
        return self.pipeline.process(t, counts, flags)


# ---------------------------------------------------------------------------------------------


class ScaleDriver(ReconnectingDevice):
    """The scale on a serial URL, with a reader thread that reconnects.

    ``on_event`` is called from the reader thread with each event; without it, events go to
    ``self.events`` (a ``queue.Queue``). ``close()`` is idempotent; the driver is a context
    manager (entering it starts the reader). The thread, the reconnect loop and ``close()``
    come from ``drivers.base``.
    """

    open_errors = (Exception,)  # any failure to open is a reconnect

    def __init__(self, url: str, config: ScaleConfig | None = None, *,
                 clock: Clock | None = None, on_event: Callable | None = None,
                 serial_factory: Callable | None = None, read_timeout_s: float = 0.02,
                 handshake_timeout_ms: int = 3000) -> None:
        cfg = config or ScaleConfig()
        super().__init__(DEVICE, cfg.reconnect_min_ms, cfg.reconnect_max_ms,
                         thread_name="scale-reader")
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
                self.events.put(DeviceStatus(self.clock.now_ms(), DEVICE, "error",
                                             f"event listener failed: {e!r}"))
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
        self._ser = factory(self.url, baudrate=115200, timeout=self._read_timeout,
                            write_timeout=1.0)
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
    "ConfigError", "NotCalibrated", "Request", "SampleTimeline", "ScaleConfig", "ScaleCore",
    "ScaleDriver", "ScalePipeline", "WeightMoving", "WeightSettled", "save_profile",
]
