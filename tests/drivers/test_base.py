"""The device base (drivers.base): close, threads that will not stop, backoff, reconnecting.

No test sleeps and hopes: waits go through events with a timeout, and the reconnect loop's
pauses are replaced by a function that records them."""

from __future__ import annotations

import logging
import threading

import pytest

from drivers.base import (
    Backoff,
    Device,
    DeviceClosedError,
    EndOfStream,
    ReconnectingDevice,
    WorkerThread,
)

WAIT = 5.0  # seconds a test waits for a thread before failing


class Counting(Device):
    def __init__(self) -> None:
        super().__init__()
        self.shutdowns = 0

    def _close(self) -> None:
        self.shutdowns += 1

    def use(self) -> str:
        self._check_open("counting device is closed")
        return "ok"


def test_close_twice_is_fine_and_runs_the_shutdown_once():
    d = Counting()
    assert not d.closed and d.use() == "ok"
    d.close()
    d.close()
    assert d.closed and d.shutdowns == 1


def test_closed_device_refuses_use():
    d = Counting()
    d.close()
    with pytest.raises(DeviceClosedError, match="counting device is closed"):
        d.use()


def test_context_manager_closes_even_on_error():
    with Counting() as d:
        assert not d.closed
    assert d.closed and d.shutdowns == 1
    with pytest.raises(ValueError), Counting() as e:
        raise ValueError("boom")
    assert e.closed


def test_close_from_many_threads_runs_the_shutdown_once():
    d = Counting()
    go = threading.Event()

    def closer():
        go.wait(WAIT)
        d.close()

    threads = [threading.Thread(target=closer) for _ in range(8)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(WAIT)
    assert d.shutdowns == 1


def test_worker_thread_stops_when_asked():
    ran = threading.Event()
    holder: list[WorkerThread] = []

    def body():
        ran.set()
        holder[0].stop_event.wait(WAIT)

    w = WorkerThread(body, "polite")
    holder.append(w)
    assert w.start() and not w.start()  # a second start does nothing
    assert ran.wait(WAIT)
    assert w.stop() and not w.alive and not w.stuck


def test_wake_reaches_a_thread_blocked_elsewhere():
    cond = threading.Condition()
    holder: list[WorkerThread] = []

    def body():
        with cond:
            cond.wait_for(lambda: holder[0].stopping, WAIT)

    def wake():
        with cond:
            cond.notify_all()

    w = WorkerThread(body, "sleeper", wake=wake)
    holder.append(w)
    w.start()
    assert w.stop() and not w.stuck


def test_thread_that_refuses_to_stop_is_reported_not_waited_on(caplog):
    release = threading.Event()

    class Stubborn(Device):
        join_timeout_s = 0.05

        def __init__(self) -> None:
            super().__init__()
            self.thread = self._worker(lambda: release.wait(WAIT), "stubborn")
            self.thread.start()

    d = Stubborn()
    with caplog.at_level(logging.WARNING, logger="drivers.base"):
        d.close()  # returns after the join timeout, does not hang
    assert d.closed
    assert d.thread.stuck and d.thread.alive
    assert d.stuck_threads == ("stubborn",)
    assert any(
        "stubborn" in r.getMessage() and "did not stop" in r.getMessage() for r in caplog.records
    )
    release.set()
    assert d.thread.join(WAIT) and not d.thread.stuck and d.stuck_threads == ()


def test_backoff_grows_and_is_capped_and_resets():
    b = Backoff(100, 1000)
    assert [b.next() for _ in range(6)] == [100, 200, 400, 800, 1000, 1000]
    b.reset()
    assert b.next() == 100
    with pytest.raises(ValueError):
        Backoff(0, 10)
    with pytest.raises(ValueError):
        Backoff(20, 10)


class FakeLink:
    def __init__(self, reads: int) -> None:
        self.reads = reads
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Flaky(ReconnectingDevice):
    """Opens fail ``fail_first`` times, then each link reads ``reads`` times and breaks;
    every step is recorded. The loop's pauses are recorded, never slept."""

    def __init__(
        self, fail_first: int, sessions: int, reads: int = 2, min_ms: int = 100, max_ms: int = 400
    ) -> None:
        self.log: list[tuple] = []
        self.pauses: list[float] = []
        self.links: list[FakeLink] = []
        self.fail_first = fail_first
        self.sessions = sessions
        self.reads = reads
        self.done = threading.Event()
        super().__init__("flaky", min_ms, max_ms, wait=self._record_pause)

    def _record_pause(self, seconds: float) -> bool:
        self.pauses.append(round(seconds * 1000))
        return False

    def _open_link(self):
        if self.fail_first > 0:
            self.fail_first -= 1
            raise OSError("unplugged")
        link = FakeLink(self.reads)
        self.links.append(link)
        return link

    def _open_failed(self, exc) -> None:
        self.log.append(("open failed", self.attempt, str(exc)))

    def _session(self, link) -> bool:
        self.log.append(("connected", self.attempt))
        if len(self.links) > self.sessions:
            self.done.set()
            raise EndOfStream
        for _ in range(link.reads):
            pass  # the reads succeed, then the link breaks
        return True

    def _link_lost(self) -> None:
        self.log.append(("lost",))


def test_reconnect_after_failures_with_growing_capped_backoff():
    dev = Flaky(fail_first=4, sessions=2)
    dev.start()
    assert dev.done.wait(WAIT)
    assert dev.worker.join(WAIT)
    assert dev.log == [
        ("open failed", 1, "unplugged"),
        ("open failed", 2, "unplugged"),
        ("open failed", 3, "unplugged"),
        ("open failed", 4, "unplugged"),
        ("connected", 5),
        ("lost",),
        ("connected", 6),
        ("lost",),
        ("connected", 7),
    ]
    # 100, 200, 400, then capped; a link that worked starts the backoff again
    assert dev.pauses == [100, 200, 400, 400, 100, 100]
    assert all(link.closed for link in dev.links)
    dev.close()
    assert dev.closed and not dev.stuck


def test_a_link_that_never_worked_keeps_backing_off():
    class NeverWorks(Flaky):
        def _session(self, link) -> bool:
            self.log.append(("connected", self.attempt))
            if len(self.links) > self.sessions:
                self.done.set()
                raise EndOfStream
            return False  # e.g. no handshake: the backoff goes on growing

    dev = NeverWorks(fail_first=0, sessions=3)
    dev.start()
    assert dev.done.wait(WAIT)
    assert dev.worker.join(WAIT)
    assert dev.pauses == [100, 200, 400]


def test_a_bug_in_the_loop_is_reported_and_the_loop_restarts():
    class Buggy(Flaky):
        def __init__(self, **kw) -> None:
            self.crashes: list[str] = []
            super().__init__(**kw)

        def _session(self, link) -> bool:
            if not self.crashes:
                raise KeyError("bug")
            return super()._session(link)

        def _crashed(self, exc) -> None:
            self.crashes.append(repr(exc))

    dev = Buggy(fail_first=0, sessions=1)
    dev.start()
    assert dev.done.wait(WAIT)
    assert dev.worker.join(WAIT)
    assert dev.crashes == ["KeyError('bug')"]
    assert dev.pauses[0] == 400  # after a crash: the longest backoff
    assert dev.links[0].closed  # the link open during the crash was closed


def test_close_stops_a_waiting_loop_and_start_after_close_fails():
    class Absent(ReconnectingDevice):
        def __init__(self) -> None:
            super().__init__("absent", 10_000, 10_000)  # real waits, long: close must cut them
            self.failed = threading.Event()

        def _open_link(self):
            raise OSError("not there")

        def _open_failed(self, exc) -> None:
            self.failed.set()

    dev = Absent()
    dev.start()
    assert dev.failed.wait(WAIT)
    dev.close()
    assert dev.closed and not dev.worker.alive and not dev.stuck
    with pytest.raises(DeviceClosedError, match="absent is closed"):
        dev.start()


def test_a_reader_that_will_not_stop_is_named_in_the_closing_report():
    release = threading.Event()
    reading = threading.Event()

    class Hung(ReconnectingDevice):
        join_timeout_s = 0.05

        def __init__(self) -> None:
            super().__init__("hung", 10, 10)
            self.reports: list[str] = []

        def _open_link(self):
            return FakeLink(0)

        def _session(self, link) -> bool:
            reading.set()
            release.wait(WAIT)  # a driver call that ignores the stop request
            return True

        def _close(self) -> None:
            self.worker.stop()
            self.reports.append(self._closed_detail())

    dev = Hung()
    dev.start()
    assert reading.wait(WAIT)
    dev.close()  # does not hang on the reader
    assert dev.stuck and dev.stuck_threads == ("hung",)
    assert dev.reports == ["closed; reader thread did not stop"]
    release.set()
    assert dev.worker.join(WAIT) and not dev.stuck
