"""Serial barcode scanner driver.

A hand-held or presentation scanner in "USB serial" (CDC-ACM) mode sends one line per read:
``[prefix][AIM id]code[suffix]<terminator>``. The driver opens a URL with
``serial.serial_for_url`` (``/dev/ttyACM0`` on the cart, ``simscanner://NAME`` or a pty in tests),
checks every byte and emits :class:`cart.common.events.Scan` with the text exactly as read, the AIM
symbology identifier split off into ``symbology``. What the code *means* (GTIN check digits, GS1
application identifiers, prices) is not decided here.

Layers, each usable on its own:

* :class:`LineParser` - pure and thread-free: ``feed(bytes, t_ms)`` returns the scans and
  rejections for whatever complete lines the bytes finish. Partial lines carry over between
  calls. Simulations feed it directly (no serial port, no thread).
* :class:`DuplicateFilter` - drops a repeat of the same code within a window.
* :class:`Scanner` - the device: a reader thread around a serial port, reconnect with backoff
  after an unplug, ``DeviceStatus`` events, idempotent ``close()``, context manager.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import serial

from cart.common.clock import Clock, SystemClock
from cart.common.events import DeviceStatus, Scan
from cart.common.profile import named_tables, reject_unknown_keys
from drivers.base import DeviceClosedError, ReconnectingDevice

if TYPE_CHECKING:
    from drivers.hid_scanner import HidScannerConfig

log = logging.getLogger(__name__)

TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "ANY": b""}
AIM_MODES = ("auto", "required", "off")
LOG_FIRST, LOG_EVERY = 10, 1000  # rejected lines logged: the first few, then one in LOG_EVERY
GS = "\x1d"  # GS1 field separator (FNC1 in data); legitimate inside GS1 codes
_AIM_RE = re.compile(r"\][A-Za-z][0-9A-Za-z]")
# Characters never accepted in a code: C0/C1 controls except GS, DEL, and the bidirectional
# overrides/isolates that reorder what a screen shows.
_FORBIDDEN_RE = re.compile("[\x00-\x1c\x1e\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class ScannerConfigError(ValueError):
    """A ``[scanner.*]`` profile section is invalid."""


@dataclass(frozen=True)
class ScannerConfig:
    """Settings of one scanner (``[scanner.NAME]`` in a hardware profile)."""

    name: str = "main"
    url: str = "/dev/ttyACM0"
    baudrate: int = 9600
    terminator: str = "ANY"  # CR | LF | CRLF | ANY (CR, LF or CRLF)
    aim: str = "auto"  # auto: split "]Xm" when present; required: reject lines without; off
    prefix: str = ""  # bytes the scanner puts before every code (stripped; required if set)
    suffix: str = ""  # bytes after every code, before the terminator (stripped; required if set)
    max_line: int = 256  # longest line accepted, prefix/suffix/AIM included, terminator excluded
    duplicate_window_ms: int = 800  # a repeat of the last code within this window is dropped
    reconnect_min_ms: int = 100  # first retry after an unplug
    reconnect_max_ms: int = 1000  # backoff ceiling (keeps a replugged scanner back within 2 s)
    read_timeout_s: float = 0.05

    def __post_init__(self) -> None:
        if not self.name or not re.fullmatch(r"[A-Za-z0-9_-]+", self.name):
            raise ScannerConfigError(f"scanner name {self.name!r}: use letters, digits, _ or -")
        if not isinstance(self.url, str) or not self.url:
            raise ScannerConfigError(f"scanner {self.name}: url must be a non-empty string")
        if self.terminator not in TERMINATORS:
            raise ScannerConfigError(
                f"scanner {self.name}: terminator {self.terminator!r} is not one of "
                f"{', '.join(TERMINATORS)}"
            )
        if self.aim not in AIM_MODES:
            raise ScannerConfigError(
                f"scanner {self.name}: aim {self.aim!r} is not one of {', '.join(AIM_MODES)}"
            )
        for key in ("prefix", "suffix"):
            value = getattr(self, key)
            if not isinstance(value, str) or any(c in value for c in "\r\n"):
                raise ScannerConfigError(f"scanner {self.name}: {key} must be text without CR/LF")
        ints = (
            "baudrate",
            "max_line",
            "duplicate_window_ms",
            "reconnect_min_ms",
            "reconnect_max_ms",
        )
        for key in ints:
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ScannerConfigError(f"scanner {self.name}: {key} must be an integer >= 0")
        if self.max_line < 1 or self.baudrate < 1:
            raise ScannerConfigError(f"scanner {self.name}: max_line and baudrate must be >= 1")
        if not 0 < self.reconnect_min_ms <= self.reconnect_max_ms:
            raise ScannerConfigError(
                f"scanner {self.name}: need 0 < reconnect_min_ms <= reconnect_max_ms"
            )
        if not 0 < float(self.read_timeout_s) <= 1:
            raise ScannerConfigError(f"scanner {self.name}: read_timeout_s must be in (0, 1]")

    @classmethod
    def from_profile(cls, name: str, section: Mapping[str, Any]) -> ScannerConfig:
        """Build from a ``[scanner.NAME]`` table; unknown keys are errors."""
        section = dict(section)
        kind = section.pop("kind", "serial")
        if kind != "serial":
            raise ScannerConfigError(f"[scanner.{name}]: kind {kind!r} is not a serial scanner")
        known = {f for f in cls.__dataclass_fields__ if f != "name"}
        reject_unknown_keys(f"scanner.{name}", section, known, ScannerConfigError)
        return cls(name=name, **section)

    @property
    def device(self) -> str:
        return f"scanner:{self.name}"


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line the parser refused, with the counter it went to and why."""

    t_ms: int
    reason: str  # counter name: overlong, control_bytes, invalid_utf8, framing, empty
    detail: str
    raw: bytes = field(repr=False, default=b"")


@dataclass
class ParserCounters:
    lines: int = 0
    scans: int = 0
    overlong: int = 0
    control_bytes: int = 0
    invalid_utf8: int = 0
    framing: int = 0
    empty: int = 0

    def as_tuple(self) -> tuple[tuple[str, int], ...]:
        return tuple((k, v) for k, v in vars(self).items())


class LineParser:
    """Bytes in, :class:`Scan` or :class:`Rejected` out. Pure; no threads, no clock.

    A line longer than ``max_line`` is dropped whole (the bytes up to its terminator are
    discarded as they arrive, so memory stays bounded whatever the device sends).
    """

    def __init__(self, config: ScannerConfig | None = None, source: str | None = None) -> None:
        self.config = config or ScannerConfig()
        self.source = source or self.config.device
        self.counters = ParserCounters()
        self._buf = bytearray()
        self._overlong = False  # discarding the rest of an over-long line
        self._after_cr = False  # last byte seen was a CR (ANY mode: a following LF is not a line)
        self._last = -1  # last byte of the unfinished line, kept or not (split CRLF detection)
        self._prefix = self.config.prefix.encode("utf-8")
        self._suffix = self.config.suffix.encode("utf-8")
        self._term = TERMINATORS[self.config.terminator]

    def reset(self) -> None:
        """Forget a partial line (after a reconnect the rest of it is gone)."""
        self._buf.clear()
        self._overlong = False
        self._after_cr = False
        self._last = -1

    @property
    def pending(self) -> int:
        """Bytes of an unfinished line held."""
        return len(self._buf)

    def feed(self, data: bytes, t_ms: int) -> list[Scan | Rejected]:
        out: list[Scan | Rejected] = []
        if not data:
            return out
        if self._term:
            self._feed_fixed(bytes(data), t_ms, out)
        else:
            self._feed_any(bytes(data), t_ms, out)
        return out

    # -- framing ------------------------------------------------------------------------------

    def _feed_any(self, data: bytes, t_ms: int, out: list) -> None:
        start = 0
        for i, b in enumerate(data):
            if b == 0x0D or b == 0x0A:
                if b == 0x0A and self._after_cr and i == start and not self._buf:
                    # LF of a CRLF pair
                    self._after_cr = False
                    start = i + 1
                    continue
                self._append(data[start:i])
                self._end_line(t_ms, out)
                self._after_cr = b == 0x0D
                start = i + 1
            else:
                self._after_cr = False
        self._append(data[start:])

    def _feed_fixed(self, data: bytes, t_ms: int, out: list) -> None:
        term = self._term
        # A terminator may be split across reads (CR|LF): search in held tail + new data.
        if len(term) == 2 and self._last == term[0] and data[:1] == term[1:]:
            if not self._overlong:
                self._buf.pop()
            self._end_line(t_ms, out)
            data = data[1:]
        while data:
            i = data.find(term)
            if i < 0:
                self._append(data)
                return
            self._append(data[:i])
            self._end_line(t_ms, out)
            data = data[i + len(term) :]

    def _append(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._last = chunk[-1]  # even when discarding: it may be the CR of a split CRLF
        if self._overlong:
            return
        # Keep one byte beyond the limit (a split CRLF terminator may sit there).
        room = self.config.max_line + len(self._term) - len(self._buf)
        if len(chunk) > room:
            self._overlong = True
            self._buf.clear()
            return
        self._buf += chunk

    def _end_line(self, t_ms: int, out: list) -> None:
        raw = bytes(self._buf)
        overlong = self._overlong or len(raw) > self.config.max_line
        self._buf.clear()
        self._overlong = False
        self._last = -1
        self.counters.lines += 1
        if overlong:
            out.append(
                self._reject(
                    t_ms, "overlong", f"line longer than {self.config.max_line} bytes dropped", raw
                )
            )
            return
        out.append(self._line(raw, t_ms))

    # -- validation ---------------------------------------------------------------------------

    def _reject(self, t_ms: int, reason: str, detail: str, raw: bytes) -> Rejected:
        n = getattr(self.counters, reason) + 1
        setattr(self.counters, reason, n)
        # A glitching cable can send garbage for hours: log the first few of each kind, then
        # one in a thousand, so the log stays readable and the disk does not fill.
        if n <= LOG_FIRST or n % LOG_EVERY == 0:
            log.warning("%s: %s: %s (raw %r; %d so far)", self.source, reason, detail, raw[:64], n)
        return Rejected(t_ms, reason, detail, raw)

    def _line(self, raw: bytes, t_ms: int) -> Scan | Rejected:
        if not raw:
            return self._reject(t_ms, "empty", "empty line", raw)
        body = raw
        if self._prefix:
            if not body.startswith(self._prefix):
                return self._reject(t_ms, "framing", f"line lacks prefix {self._prefix!r}", raw)
            body = body[len(self._prefix) :]
        if self._suffix:
            if not body.endswith(self._suffix):
                return self._reject(t_ms, "framing", f"line lacks suffix {self._suffix!r}", raw)
            body = body[: len(body) - len(self._suffix)]
        try:
            text = body.decode("utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            return self._reject(t_ms, "invalid_utf8", f"not UTF-8 at byte {exc.start}", raw)
        bad = _FORBIDDEN_RE.search(text)
        if bad:
            what = "escape sequence" if bad.group() == "\x1b" else "control character"
            return self._reject(
                t_ms, "control_bytes", f"{what} U+{ord(bad.group()):04X} at {bad.start()}", raw
            )
        symbology = ""
        if self.config.aim != "off" and _AIM_RE.match(text):
            symbology, text = text[:3], text[3:]
        elif self.config.aim == "required":
            return self._reject(t_ms, "framing", "line lacks an AIM symbology identifier", raw)
        if not text:
            return self._reject(t_ms, "empty", "no code after framing", raw)
        self.counters.scans += 1
        return Scan(t_ms=t_ms, code=text, symbology=symbology, source=self.source)


class DuplicateFilter:
    """Drops a scan whose code equals the last *passed* code within ``window_ms``.

    Measured from the last scan let through, so a shopper scanning two identical items a second
    apart gets both, while a scanner that double-fires on one trigger pull gets one.
    """

    def __init__(self, window_ms: int) -> None:
        self.window_ms = int(window_ms)
        self.dropped = 0
        self._last: tuple[str, int] | None = None

    def accept(self, scan: Scan) -> bool:
        last = self._last
        if last is not None and last[0] == scan.code and 0 <= scan.t_ms - last[1] < self.window_ms:
            self.dropped += 1
            return False
        self._last = (scan.code, scan.t_ms)
        return True


class ScanDecoder:
    """LineParser + DuplicateFilter: the whole byte-to-event path, still thread-free."""

    def __init__(self, config: ScannerConfig | None = None) -> None:
        self.config = config or ScannerConfig()
        self.parser = LineParser(self.config)
        self.duplicates = DuplicateFilter(self.config.duplicate_window_ms)

    def feed(self, data: bytes, t_ms: int) -> list[Scan]:
        return [
            item
            for item in self.parser.feed(data, t_ms)
            if isinstance(item, Scan) and self.duplicates.accept(item)
        ]

    def counters(self) -> dict[str, int]:
        c = dict(self.parser.counters.as_tuple())
        c["duplicates"] = self.duplicates.dropped
        return c


class ScannerClosedError(DeviceClosedError):
    """The scanner was used after ``close()``."""


class Scanner(ReconnectingDevice):
    """A serial barcode scanner: reader thread, reconnect with backoff, events out.

    Events (``Scan`` and ``DeviceStatus``) go to ``on_event`` when given (called on the reader
    thread; keep it short), else to an internal queue read with :meth:`get`.
    ``open_port`` defaults to ``serial.serial_for_url``; tests may pass another opener.
    The thread, the reconnect loop and ``close()`` come from ``drivers.base``.
    """

    open_errors = (serial.SerialException, OSError, ValueError)  # ValueError: bad URL

    def __init__(
        self,
        config: ScannerConfig,
        on_event: Callable[[Scan | DeviceStatus], None] | None = None,
        clock: Clock | None = None,
        open_port: Callable[..., Any] | None = None,
        start: bool = True,
    ) -> None:
        super().__init__(
            config.device,
            config.reconnect_min_ms,
            config.reconnect_max_ms,
            thread_name=f"{config.device}-reader",
        )
        self.config = config
        self.clock = clock or SystemClock()
        self.decoder = ScanDecoder(config)
        self._on_event = on_event
        self._queue: queue.Queue = queue.Queue()
        self._open_port = open_port
        self._lock = threading.Lock()
        self._port = None
        self.state = "disconnected"
        self.reconnects = 0
        self.read_errors = 0
        self.connected = threading.Event()
        if start:
            self.start()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._check_open(f"{self.config.device} is closed", ScannerClosedError)
        self.worker.start()

    def _close(self) -> None:
        """Stop the reader and close the port (``close()`` runs this once)."""
        self.worker.ask_stop()
        self._close_port()  # a read blocked on the port returns
        self.worker.join()
        self._set_state("disconnected", self._closed_detail())

    def get(self, timeout: float | None = None) -> Scan | DeviceStatus:
        """Next event from the internal queue (raises ``queue.Empty`` on timeout)."""
        if self._on_event is not None:
            raise RuntimeError("events go to on_event; there is no queue to read")
        return self._queue.get(timeout=timeout)

    def counters(self) -> dict[str, int]:
        c = self.decoder.counters()
        c["reconnects"] = self.reconnects
        c["read_errors"] = self.read_errors
        return c

    # -- reader thread ------------------------------------------------------------------------

    def _emit(self, event: Scan | DeviceStatus) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:  # a broken consumer must not kill the reader
                log.exception("%s: event handler failed", self.config.device)
        else:
            self._queue.put(event)

    def _set_state(self, state: str, detail: str = "") -> None:
        if state == self.state and state != "error":
            return
        self.state = state
        if state == "connected":
            self.connected.set()
        else:
            self.connected.clear()
        self._emit(
            DeviceStatus(
                t_ms=self.clock.now_ms(),
                device=self.config.device,
                state=state,
                detail=detail,
                counters=tuple(sorted(self.counters().items())),
            )
        )

    def _close_port(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError) as exc:  # a vanished device; nothing to save
                log.debug("%s: close failed: %s", self.config.device, exc)

    # -- the steps of the reconnect loop (drivers.base.ReconnectingDevice) ----------------------

    def _open_link(self):
        opener = self._open_port or serial.serial_for_url
        return opener(
            self.config.url, baudrate=self.config.baudrate, timeout=self.config.read_timeout_s
        )

    def _open_failed(self, exc: BaseException) -> None:
        detail = f"cannot open {self.config.url}: {exc}"
        if self.attempt == 1:
            log.warning("%s: %s", self.config.device, detail)
        self._set_state("reconnecting", detail)

    def _session(self, port) -> bool:
        with self._lock:
            if self.stopping:
                port.close()
                return False
            self._port = port
        if self.attempt > 1:
            self.reconnects += 1
        self.decoder.parser.reset()
        self._set_state("connected", self.config.url)
        log.info("%s: connected on %s", self.config.device, self.config.url)
        self._read_loop(port)
        return True

    def _close_link(self, port) -> None:
        self._close_port()

    def _link_lost(self) -> None:
        self._set_state("reconnecting", "device lost; retrying")

    def _crashed(self, exc: Exception) -> None:
        self._close_port()
        self._set_state("error", f"{type(exc).__name__}: {exc}")

    def _read_loop(self, port) -> None:
        while not self.stopping:
            try:
                n = port.in_waiting
                data = port.read(n if n > 0 else 1)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # unplugged (or the port closed under us by close())
                if self.stopping:
                    return
                self.read_errors += 1
                log.warning("%s: read failed (%s); reconnecting", self.config.device, exc)
                return
            if data:
                for scan in self.decoder.feed(data, self.clock.now_ms()):
                    self._emit(scan)


SCANNER_KINDS = ("serial", "hid")  # [scanner.NAME] kind: serial (default) | hid (hid_scanner)


def configs_from_profile(profile: Mapping[str, Any]) -> list[ScannerConfig | HidScannerConfig]:
    """All ``[scanner.NAME]`` sections of a parsed hardware profile: a ScannerConfig for each
    serial one, a ``drivers.hid_scanner.HidScannerConfig`` for each ``kind = "hid"``."""
    from drivers.hid_scanner import HidScannerConfig

    out: list[ScannerConfig | HidScannerConfig] = []
    for name, body in named_tables(profile, "scanner", ScannerConfigError):
        kind = body.get("kind", "serial")
        if kind not in SCANNER_KINDS:
            raise ScannerConfigError(
                f"[scanner.{name}]: kind {kind!r} is not one of {', '.join(SCANNER_KINDS)}"
            )
        config = HidScannerConfig if kind == "hid" else ScannerConfig
        out.append(config.from_profile(name, body))
    return out


__all__ = [
    "DuplicateFilter",
    "LineParser",
    "Rejected",
    "ScanDecoder",
    "Scanner",
    "ScannerClosedError",
    "ScannerConfig",
    "ScannerConfigError",
    "configs_from_profile",
]
