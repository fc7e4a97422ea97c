"""The device base: one lifecycle for every driver and worker (after gpiozero's ``Device``).

- :class:`Device`: ``close()`` is idempotent and thread-safe (the first call runs the
  subclass's :meth:`Device._close`, later calls do nothing), ``closed`` says whether it ran, and
  ``with Device(...) as d:`` closes on the way out. :meth:`Device._check_open` raises
  :class:`DeviceClosedError` for a device used after ``close()``.
- :class:`WorkerThread`: one daemon thread with a stop event. ``start()``, ``ask_stop()``
  (sets the event and calls an optional ``wake`` so a thread blocked elsewhere notices),
  ``join(timeout)``. A thread still running after the timeout is *reported*, never waited on
  for ever and never dropped silently: a warning is logged, ``stuck`` is set, and its device's
  :attr:`Device.stuck_threads` names it.
- :class:`Backoff`: capped exponential delays in milliseconds (min, 2 min, 4 min ... max).
- :class:`ReconnectingDevice`: a device whose thread runs the reconnect loop: open the link,
  read it until it fails, report, wait with :class:`Backoff`, try again, until closed. The
  subclass supplies the steps (``_open_link``, ``_session``, ``_close_link`` and the reports);
  the loop, its waits and its guard against bugs live here once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Self

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0


class DeviceClosedError(RuntimeError):
    """A device was used after ``close()``."""


class WorkerThread:
    """A daemon thread running ``target`` until it returns; ``stop_event`` asks it to end.

    ``target`` must watch :attr:`stop_event` (or whatever ``wake`` disturbs) and return soon
    after :meth:`ask_stop`. :meth:`join` waits at most ``timeout`` seconds; a thread that has
    not ended by then is logged, flagged ``stuck`` and left running (it is a daemon thread, so
    it cannot keep the process alive)."""

    def __init__(
        self,
        target: Callable[[], Any],
        name: str,
        *,
        wake: Callable[[], None] | None = None,
        join_timeout_s: float = JOIN_TIMEOUT_S,
    ) -> None:
        self.target = target
        self.name = name
        self.wake = wake
        self.join_timeout_s = join_timeout_s
        self.stop_event = threading.Event()
        self.stuck = False
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def start(self) -> bool:
        """Start the thread; False (and nothing done) when it was started before."""
        if self._thread is not None:
            return False
        self._thread = threading.Thread(target=self.target, name=self.name, daemon=True)
        self._thread.start()
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` unless asked to stop; True when asked to stop."""
        return self.stop_event.wait(seconds)

    def ask_stop(self) -> None:
        self.stop_event.set()
        if self.wake is not None:
            try:
                self.wake()
            except Exception:
                log.exception("%s: waking the thread failed", self.name)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started, or is the caller).
        False when it is still running after ``timeout`` (default ``join_timeout_s``): then
        ``stuck`` is set and a warning logged."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        wait_s = self.join_timeout_s if timeout is None else timeout
        thread.join(wait_s)
        if thread.is_alive():
            if not self.stuck:
                log.warning(
                    "%s: thread did not stop within %.1f s; left running", self.name, wait_s
                )
            self.stuck = True
            return False
        self.stuck = False
        return True

    def stop(self, timeout: float | None = None) -> bool:
        """:meth:`ask_stop`, then :meth:`join`."""
        self.ask_stop()
        return self.join(timeout)


class Device:
    """Idempotent ``close()``, ``closed``, a context manager, and the threads it owns.

    Subclasses put their shutdown in :meth:`_close` (runs once) and create their threads with
    :meth:`_worker` so that a thread that would not stop shows in :attr:`stuck_threads`."""

    join_timeout_s = JOIN_TIMEOUT_S

    def __init__(self) -> None:
        self._closed = False
        self._close_lock = threading.Lock()
        self._workers: list[WorkerThread] = []

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Release the device. Safe to call any number of times, from any thread."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._close()

    def _close(self) -> None:
        """The subclass's shutdown (runs once). By default: stop every thread."""
        for worker in self._workers:
            worker.stop()

    def _check_open(self, message: str = "", error: type[Exception] = DeviceClosedError) -> None:
        if self._closed:
            raise error(message or f"{self!r} is closed")

    def _worker(
        self, target: Callable[[], Any], name: str, *, wake: Callable[[], None] | None = None
    ) -> WorkerThread:
        worker = WorkerThread(target, name, wake=wake, join_timeout_s=self.join_timeout_s)
        self._workers.append(worker)
        return worker

    @property
    def stuck_threads(self) -> tuple[str, ...]:
        """Names of this device's threads that did not stop when asked (see WorkerThread)."""
        return tuple(w.name for w in self._workers if w.stuck)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Backoff:
    """Capped exponential backoff: :meth:`next` gives ``min_ms``, then twice that, ... never
    more than ``max_ms``; :meth:`reset` starts again from ``min_ms``."""

    def __init__(self, min_ms: int, max_ms: int) -> None:
        if not 0 < min_ms <= max_ms:
            raise ValueError(f"need 0 < min_ms <= max_ms, got {min_ms}, {max_ms}")
        self.min_ms = min_ms
        self.max_ms = max_ms
        self.delay_ms = min_ms

    def next(self) -> int:
        """The delay to wait now; the following one doubles (capped)."""
        delay = self.delay_ms
        self.delay_ms = min(delay * 2, self.max_ms)
        return delay

    def reset(self) -> None:
        self.delay_ms = self.min_ms


class EndOfStream(Exception):
    """Raised by a session whose source has ended for good (a replay): no reconnect."""


class ReconnectingDevice(Device):
    """A device on a link that can fail: a thread opens it, reads it until it fails, reports,
    waits (:class:`Backoff`) and tries again, until the device is closed.

    Subclasses provide:

    - ``_open_link()``: the open link; raises one of ``open_errors`` when it cannot be opened
      (then ``_open_failed(exc)`` reports it and the loop waits and retries). ``attempt``
      counts the tries since the loop (re)started: 1 on the first;
    - ``_session(link) -> bool``: read until the link fails or ``stopping``; True when the link
      worked (the backoff starts again from its minimum). Raise :class:`EndOfStream` when the
      source has ended for good;
    - ``_close_link(link)``, and ``_link_lost()`` (report a session that ended while running);
    - ``_crashed(exc)``: report a bug that escaped the loop (it is logged here; the loop starts
      again after ``reconnect_max_ms``).

    ``wait`` (seconds -> True when asked to stop) replaces the waits between tries (tests)."""

    open_errors: tuple[type[BaseException], ...] = (OSError,)

    def __init__(
        self,
        name: str,
        reconnect_min_ms: int,
        reconnect_max_ms: int,
        *,
        thread_name: str | None = None,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.reconnect_min_ms = reconnect_min_ms
        self.reconnect_max_ms = reconnect_max_ms
        self.worker = self._worker(self._run, thread_name or name)
        self._wait = wait
        self.attempt = 0  # open tries since the loop (re)started

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._check_open(f"{self.name} is closed")
        self.worker.start()

    @property
    def stopping(self) -> bool:
        return self.worker.stopping

    @property
    def stuck(self) -> bool:
        """The reader thread did not stop when the device was closed."""
        return self.worker.stuck

    def _closed_detail(self) -> str:
        """The detail of the status a device reports when closed."""
        return "closed" if not self.worker.stuck else "closed; reader thread did not stop"

    def pause(self, ms: float) -> bool:
        """Wait ``ms`` between tries unless closed meanwhile; True when asked to stop."""
        if self._wait is not None:
            return self._wait(ms / 1000) or self.stopping
        return self.worker.wait(ms / 1000)

    # -- the loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self.stopping:
            try:
                self._reconnect_loop()
                return
            except Exception as exc:  # a bug must not silently end the device: log, retry
                log.exception("%s: reader failed; restarting", self.name)
                self._crashed(exc)
                self.pause(self.reconnect_max_ms)

    def _reconnect_loop(self) -> None:
        backoff = Backoff(self.reconnect_min_ms, self.reconnect_max_ms)
        self.attempt = 0
        while not self.stopping:
            self.attempt += 1
            try:
                link = self._open_link()
            except self.open_errors as exc:
                self._open_failed(exc)
                if self.pause(backoff.next()):
                    return
                continue
            try:
                worked = self._session(link)
            except EndOfStream:
                return
            finally:
                self._close_link(link)
            if self.stopping:
                return
            if worked:
                backoff.reset()
            self._link_lost()
            if self.pause(backoff.next()):
                return

    # -- the steps (subclasses) ---------------------------------------------------------------
    def _open_link(self) -> Any:
        raise NotImplementedError

    def _open_failed(self, exc: BaseException) -> None:
        """Report a failed open (``attempt`` says which)."""

    def _session(self, link: Any) -> bool:
        raise NotImplementedError

    def _close_link(self, link: Any) -> None:
        close = getattr(link, "close", None)
        if close is not None:
            close()

    def _link_lost(self) -> None:
        """Report a session that ended while the device was running."""

    def _crashed(self, exc: Exception) -> None:
        """Report a bug that escaped the loop (already logged)."""


__all__ = [
    "Backoff",
    "Device",
    "DeviceClosedError",
    "EndOfStream",
    "ReconnectingDevice",
    "WorkerThread",
]
