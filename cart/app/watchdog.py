"""Tell systemd that the cart is up and still alive (the ``sd_notify`` protocol).

systemd hands a ``Type=notify`` service the path of a unix datagram socket in ``$NOTIFY_SOCKET``
(a leading ``@`` names an abstract socket) and, with ``WatchdogSec=``, the watchdog period in
``$WATCHDOG_USEC``. The service sends newline-separated ``KEY=value`` datagrams: ``READY=1``
once it has started, then ``WATCHDOG=1`` at least once per period, or systemd kills it and
(``Restart=``) starts it again. Standard library only: a datagram socket, a few lines.

"Alive" means *every* part that must run is running, not just that the process exists. Each part
beats a :class:`Heartbeats` name: the runtime's worker loop (``cart.app.runtime``: every
iteration, at least once per ``tick_ms`` when idle) and the screen (a Textual timer in
``cart.ui.app``, which fires only while the app's event loop runs). :class:`Watchdog` sends
``READY=1`` as soon as every part has beaten once, and from then on ``WATCHDOG=1`` on each
:meth:`~Watchdog.tick` only while every part beat within ``stale_ms``. A hung worker (a stuck
engine call) or a hung screen stops the pings, and systemd restarts the cart.

The clock is injected (monotonic milliseconds); tests drive :meth:`~Watchdog.tick` by hand.
:meth:`Watchdog.start` runs the ticks on a daemon thread on the cart.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Mapping

from cart.common.clock import Clock, MonotonicClock

log = logging.getLogger(__name__)

# ``cart run`` exits with this when the profile, store or journal cannot be used: a restart
# cannot fix it, so the unit stops restarting (``RestartPreventExitStatus=78``). EX_CONFIG.
EXIT_CONFIG = 78


class Notifier:
    """Sends sd_notify datagrams to one socket; does nothing without one (not under systemd).
    Never raises: a lost notification must not stop the cart."""

    def __init__(self, address: str | None) -> None:
        self.address = address or None
        self.sent = 0
        self.failed = 0
        self._sock: socket.socket | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, **fields: object) -> bool:
        """Send ``KEY=value`` lines (``notify(READY=1, STATUS="...")``); True when sent."""
        if self.address is None:
            return False
        text = "\n".join(f"{key}={value}" for key, value in fields.items())
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(text.encode("utf-8"), target)
        except OSError as exc:
            self.failed += 1
            if self.failed == 1:
                log.warning("sd_notify to %s failed: %s", self.address, exc)
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class Heartbeats:
    """The time of the last beat of each named part (monotonic ms)."""

    def __init__(self, names: Iterable[str], clock: Clock) -> None:
        self.names = tuple(names)
        self.clock = clock
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()
        self.on_all_started: Callable[[], None] | None = None

    def beat(self, name: str) -> None:
        if name not in self.names:
            raise KeyError(f"no heartbeat named {name!r} (known: {', '.join(self.names)})")
        with self._lock:
            first = name not in self._last
            self._last[name] = self.clock.now_ms()
            started = first and len(self._last) == len(self.names)
        if started and self.on_all_started is not None:
            self.on_all_started()

    def beater(self, name: str) -> Callable[[], None]:
        """A no-argument callable that beats ``name`` (for the runtime and the screen)."""
        if name not in self.names:
            raise KeyError(f"no heartbeat named {name!r}")
        return lambda: self.beat(name)

    def stale(self, stale_ms: int) -> list[str]:
        """The parts that never beat or last beat ``stale_ms`` or more ago."""
        now = self.clock.now_ms()
        with self._lock:
            return [n for n in self.names if n not in self._last or now - self._last[n] >= stale_ms]


class Watchdog:
    """READY=1 once every part is up; then WATCHDOG=1 per tick while every part is fresh."""

    def __init__(
        self,
        notifier: Notifier,
        names: Iterable[str] = ("runtime", "screen"),
        *,
        period_ms: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.notifier = notifier
        self.clock = clock or MonotonicClock()
        self.heartbeats = Heartbeats(names, self.clock)
        self.heartbeats.on_all_started = self._started
        # systemd's watchdog period; without one, READY is still sent and ticks send nothing.
        self.period_ms = period_ms
        self.ready = False
        self.ready_status = "running"  # STATUS= sent with READY=1 (systemctl status shows it)
        self.pings = 0
        self.missed: list[str] = []  # the stale parts at the last tick that sent no ping
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_env(
        cls,
        names: Iterable[str] = ("runtime", "screen"),
        env: Mapping[str, str] | None = None,
        clock: Clock | None = None,
    ) -> Watchdog:
        env = os.environ if env is None else env
        usec = env.get("WATCHDOG_USEC", "")
        period = int(usec) // 1000 if usec.isdigit() and int(usec) > 0 else None
        return cls(Notifier.from_env(env), names, period_ms=period, clock=clock)

    @property
    def interval_ms(self) -> int:
        """How often to tick: four times per watchdog period."""
        return max(1, (self.period_ms or 4000) // 4)

    @property
    def stale_ms(self) -> int:
        """A part that has not beaten for half a period is hung (it beats about once a second)."""
        return max(1, (self.period_ms or 4000) // 2)

    def beater(self, name: str) -> Callable[[], None]:
        return self.heartbeats.beater(name)

    def _started(self) -> None:
        if not self.ready:
            self.ready = True
            self.notifier.notify(READY=1, STATUS=self.ready_status.replace("\n", " "))
            log.info("every part is up: READY sent to systemd")

    def tick(self) -> bool:
        """Ping systemd if every part beat recently; True when a ping was sent."""
        if not self.ready or self.period_ms is None:
            return False
        stale = self.heartbeats.stale(self.stale_ms)
        if stale:
            if stale != self.missed:
                log.error("watchdog: no heartbeat from %s; not pinging systemd", ", ".join(stale))
            self.missed = stale
            return False
        self.missed = []
        if self.notifier.notify(WATCHDOG=1):
            self.pings += 1
            return True
        return False

    def status(self, text: str) -> None:
        """A one-line status that ``systemctl status cart`` shows."""
        self.notifier.notify(STATUS=text.replace("\n", " "))

    def start(self) -> None:
        """Tick on a daemon thread every :attr:`interval_ms` (only with a watchdog period)."""
        if self._thread is not None or self.period_ms is None or not self.notifier.enabled:
            return
        self._thread = threading.Thread(target=self._loop, name="cart-watchdog", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_ms / 1000):
            self.tick()

    def close(self) -> None:
        """Tell systemd the cart is stopping, and stop ticking."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self.ready:
            self.notifier.notify(STOPPING=1)
        self.notifier.close()
