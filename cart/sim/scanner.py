"""Simulated serial barcode scanner: it writes the bytes a real scanner writes.

Three ways to use it, cheapest first:

* **Bytes only** (no port, no thread): ``ScannerSim(...).frame(code, "]E0")`` returns the bytes
  of one read; feed them to ``drivers.scanner.ScanDecoder`` / ``LineParser``. Simulated trips use
  this path.
* **URL** ``simscanner://NAME``: ``ScannerSim(name=NAME)`` registers itself; the real driver
  opens the URL with ``serial.serial_for_url`` (call :func:`register_url_scheme` first; importing
  this module does it). ``unplug()`` makes reads fail and opens refused until ``replug()``.
* **pty**: ``ScannerSim.open_pty()`` creates a pseudo-terminal pair and a stable symlink to its
  device path (the way udev gives ``/dev/serial/by-id/...``); the driver opens the symlink as a
  real serial device. ``unplug()`` closes the pty; ``replug()`` makes a new one behind the same
  symlink.
"""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Self

import serial
from serial.serialutil import PortNotOpenError, SerialBase, SerialException

TERMINATOR_BYTES = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n"}

_REGISTRY: dict[str, weakref.ReferenceType[ScannerSim]] = {}
_REGISTRY_LOCK = threading.Lock()


def register_url_scheme() -> None:
    """Make ``serial.serial_for_url('simscanner://NAME')`` reach a :class:`ScannerSim`."""
    if "cart.sim" not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append("cart.sim")


register_url_scheme()


@dataclass(frozen=True)
class SimScannerConfig:
    terminator: str = "CR"  # CR | LF | CRLF
    aim: bool = True  # send the AIM symbology identifier before the code
    prefix: str = ""
    suffix: str = ""
    noise: float = 0.0  # chance that a read is preceded by a line of noise (0..1)

    def __post_init__(self) -> None:
        if self.terminator not in TERMINATOR_BYTES:
            raise ValueError(f"terminator {self.terminator!r}: use CR, LF or CRLF")
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"noise {self.noise!r}: a probability, 0..1")


def aim_for(code: str) -> str:
    """The AIM symbology identifier a scanner reports for ``code`` as the simulated shelves
    print it: a produce PLU (4 or 5 digits) is on a store label in Code 128 (``]C0``; EAN-13
    cannot carry 4 digits), an 8-digit code is an EAN-8 (``]E4``), anything else an EAN-13
    (``]E0``)."""
    if code.isdigit() and len(code) in (4, 5):
        return "]C0"
    if code.isdigit() and len(code) == 8:
        return "]E4"
    return "]E0"


class ScannerSim:
    """One simulated scanner. Thread-safe; one port reads it at a time, like a tty."""

    FIFO_BYTES = 65536

    def __init__(
        self, name: str = "sim", config: SimScannerConfig | None = None, seed: int | None = 0
    ) -> None:
        self.name = name
        self.config = config or SimScannerConfig()
        self.rng = random.Random(seed)
        self.plugged = True
        self._cond = threading.Condition()
        self._buffer = bytearray()
        self._generation = 0  # bumps on every unplug; ports of an old generation are dead
        self.attached = threading.Event()  # a simscanner:// port has opened it (tests wait on it)
        self._pty: tuple[int, int] | None = None  # (master, slave)
        self._link: str | None = None
        self._tmpdir: str | None = None
        with _REGISTRY_LOCK:
            _REGISTRY[name] = weakref.ref(self)

    # -- bytes ------------------------------------------------------------------------------

    def frame(self, code: str, symbology: str = "]E0") -> bytes:
        """The bytes a scanner sends for one read of ``code``."""
        c = self.config
        aim = symbology if c.aim else ""
        text = f"{c.prefix}{aim}{code}{c.suffix}"
        return text.encode("utf-8") + TERMINATOR_BYTES[c.terminator]

    def noise(self, n: int = 16) -> bytes:
        """Line noise: random bytes ending in a terminator (what a glitching cable delivers).
        It always holds a byte that is not UTF-8, so a correct driver can never take it for a
        code."""
        body = bytearray(self.rng.randrange(256) for _ in range(max(1, n)))
        body[self.rng.randrange(len(body))] = 0xFF
        body = body.replace(b"\r", b"\xff").replace(b"\n", b"\xff")  # one line
        return bytes(body) + TERMINATOR_BYTES[self.config.terminator]

    # -- device -----------------------------------------------------------------------------

    def read_bytes(self, code: str, symbology: str = "]E0") -> bytes:
        """The bytes of one read as they come down the wire, with a noise line first as often
        as ``config.noise`` says (thread-free; feed them to ``ScanDecoder``)."""
        data = self.frame(code, symbology)
        if self.config.noise and self.rng.random() < self.config.noise:
            data = self.noise(self.rng.randrange(1, 24)) + data
        return data

    def scan(self, code: str, symbology: str = "]E0", chunk: int | None = None) -> bytes:
        """Send one read (see :meth:`read_bytes`) to whoever has the device open; returns the
        bytes sent."""
        data = self.read_bytes(code, symbology)
        self.write(data, chunk=chunk)
        return data

    def write(self, data: bytes, chunk: int | None = None) -> None:
        """Send raw bytes (optionally in ``chunk``-sized pieces, as USB packets split them)."""
        if not self.plugged:
            return  # an unplugged scanner sends nothing
        pieces = [data] if not chunk else [data[i : i + chunk] for i in range(0, len(data), chunk)]
        for piece in pieces:
            if self._pty is not None:
                os.write(self._pty[0], piece)
                continue
            with self._cond:
                # A device FIFO is finite: the oldest bytes go first when nobody reads.
                self._buffer += piece
                del self._buffer[: max(0, len(self._buffer) - self.FIFO_BYTES)]
                self._cond.notify_all()

    def unplug(self) -> None:
        with self._cond:
            self.plugged = False
            self.attached.clear()
            self._generation += 1
            self._buffer.clear()
            self._cond.notify_all()
        if self._pty is not None:
            self._close_pty()
            with contextlib.suppress(OSError):
                os.unlink(self._link)  # the device node is gone, and so is its link

    def replug(self) -> None:
        with self._cond:
            self.plugged = True
            self._cond.notify_all()
        if self._link is not None and self._pty is None:
            self._new_pty()

    # -- pty --------------------------------------------------------------------------------

    def open_pty(self) -> str:
        """Start a pty and return a stable path (symlink) to its device; survives replug."""
        if self._link is None:
            self._tmpdir = tempfile.mkdtemp(prefix="simscanner-")
            self._link = os.path.join(self._tmpdir, f"scanner-{self.name}")
            self._new_pty()
        return self._link

    def _new_pty(self) -> None:
        import tty

        master, slave = os.openpty()
        tty.setraw(slave)
        self._pty = (master, slave)
        tmp = self._link + ".new"
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self._link)

    def _close_pty(self) -> None:
        master, slave = self._pty
        self._pty = None
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        """Release the pty and symlink (idempotent)."""
        if self._pty is not None:
            self._close_pty()
        if self._link is not None:
            for path in (self._link,):
                with contextlib.suppress(OSError):
                    os.unlink(path)
            with contextlib.suppress(OSError):
                os.rmdir(self._tmpdir)
            self._link = None
        with _REGISTRY_LOCK:
            if _REGISTRY.get(self.name, lambda: None)() is self:
                del _REGISTRY[self.name]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- port side (used by the simscanner:// handler) ----------------------------------------

    def _attach(self) -> int:
        with self._cond:
            if not self.plugged:
                raise SerialException(f"simscanner://{self.name}: no such device (unplugged)")
            self._buffer.clear()
            self.attached.set()
            return self._generation

    def _read(self, generation: int, size: int, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if generation != self._generation:
                    raise SerialException(f"simscanner://{self.name}: device disconnected")
                if self._buffer:
                    out = bytes(self._buffer[:size])
                    del self._buffer[:size]
                    return out
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return b""
                self._cond.wait(remaining)

    def _waiting(self, generation: int) -> int:
        with self._cond:
            if generation != self._generation:
                raise SerialException(f"simscanner://{self.name}: device disconnected")
            return len(self._buffer)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()


def lookup(name: str) -> ScannerSim:
    with _REGISTRY_LOCK:
        ref = _REGISTRY.get(name)
    sim = ref() if ref is not None else None
    if sim is None:
        raise SerialException(f"simscanner://{name}: no simulated scanner of that name")
    return sim


class SimScannerSerial(SerialBase):
    """pyserial port class for ``simscanner://NAME`` (see ``cart.sim.protocol_simscanner``)."""

    def open(self) -> None:
        if self.is_open:
            raise SerialException("port is already open")
        if self._port is None:
            raise SerialException("port must be configured before it can be used")
        url = str(self._port)
        if not url.lower().startswith("simscanner://"):
            raise SerialException(f"expected simscanner://NAME, got {url!r}")
        self._sim = lookup(url.split("://", 1)[1].strip("/"))
        self._gen = self._sim._attach()
        self.is_open = True

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._sim._wake()
        super().close()

    def _reconfigure_port(self, *args, **kwargs) -> None:
        pass

    @property
    def in_waiting(self) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        return self._sim._waiting(self._gen)

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise PortNotOpenError()
        return self._sim._read(self._gen, size, self._timeout)

    def write(self, data) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        return len(data)  # a scanner ignores what the host sends

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        pass
