"""The device: an exclusively grabbed evdev node (``open_evdev``, ``EvdevLink``) read by
``HidScanner`` on the serial scanner's thread and reconnect loop."""

from __future__ import annotations

import contextlib
import errno
import logging
import select
from collections.abc import Callable
from typing import Any, Protocol

from cart.common.clock import Clock
from cart.common.events import DeviceStatus, Scan
from drivers.hid_scanner.config import HidScannerConfig
from drivers.hid_scanner.decoder import HidDecoder
from drivers.hid_scanner.keycodes import (
    EV_KEY,
    LED_CAPSL,
)
from drivers.scanner import Scanner

log = logging.getLogger("drivers.hid_scanner")
POLL_S = 0.1  # the reader wakes at least this often to notice close()


class KeyLink(Protocol):
    """An open, exclusively held key device (see :func:`open_evdev`)."""

    caps_lock: bool

    def read(self, timeout_s: float) -> list[tuple[int, int]]:
        """The ``(code, value)`` key events that arrive within ``timeout_s``; raises OSError
        when the device is gone."""
        ...

    def close(self) -> None: ...


class EvdevLink:
    """A grabbed ``evdev.InputDevice``: key events out, the grab released on close."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self.path = device.path
        try:
            self.caps_lock = LED_CAPSL in device.leds()
        except OSError:
            self.caps_lock = False

    def read(self, timeout_s: float) -> list[tuple[int, int]]:
        ready, _, _ = select.select([self.device.fd], [], [], timeout_s)
        if not ready:
            return []
        try:
            return [(e.code, e.value) for e in self.device.read() if e.type == EV_KEY]
        except BlockingIOError:
            return []

    def close(self) -> None:
        for step in (self.device.ungrab, self.device.close):
            with contextlib.suppress(OSError):  # unplugged: the grab went with the device
                step()


def open_evdev(path: str) -> EvdevLink:
    """Open ``path`` with python-evdev and grab it exclusively; OSError when it cannot be
    opened, is not a keyboard, or another program holds the grab."""
    try:
        import evdev
    except ImportError as exc:
        raise OSError(errno.ENOSYS, f"python-evdev is not installed ({exc})") from exc
    device = evdev.InputDevice(path)
    try:
        if EV_KEY not in device.capabilities():
            raise OSError(errno.ENOTTY, f"{path} ({device.name}) sends no keys")
        device.grab()
    except OSError as exc:
        device.close()
        if exc.errno == errno.EBUSY:
            raise OSError(errno.EBUSY, f"{path} is grabbed by another program") from exc
        raise
    return EvdevLink(device)


class HidScanner(Scanner):
    """A HID keyboard-wedge scanner: :class:`Scanner`'s thread, reconnect loop, statuses,
    queue and counters, reading key events from an input device it holds exclusively.

    ``open_device(path) -> KeyLink`` defaults to :func:`open_evdev`; tests pass a fake."""

    def __init__(
        self,
        config: HidScannerConfig,
        on_event: Callable[[Scan | DeviceStatus], None] | None = None,
        clock: Clock | None = None,
        open_device: Callable[[str], KeyLink] | None = None,
        start: bool = True,
    ) -> None:
        super().__init__(config.text_config(), on_event=on_event, clock=clock, start=False)
        self.hid_config = config
        self.decoder: HidDecoder = HidDecoder(config)
        self._open_device = open_device or open_evdev
        if start:
            self.start()

    def _close(self) -> None:
        """Stop the reader (it wakes every :data:`POLL_S`), which closes the device and
        releases the grab on its own thread; then report."""
        self.worker.ask_stop()
        self.worker.join()
        self._close_port()  # left open only by a reader that did not stop
        self._set_state("disconnected", self._closed_detail())

    def _open_link(self) -> KeyLink:
        return self._open_device(self.hid_config.device)

    def _read_loop(self, link: KeyLink) -> None:
        self.decoder.reset(getattr(link, "caps_lock", False))
        while not self.stopping:
            try:
                events = link.read(POLL_S)
            except (OSError, ValueError) as exc:  # unplugged (ENODEV)
                if self.stopping:
                    return
                self.read_errors += 1
                log.warning("%s: read failed (%s); reconnecting", self.config.device, exc)
                return
            if events:
                for scan in self.decoder.feed_keys(events, self.clock.now_ms()):
                    self._emit(scan)
