"""The runtime: drivers in threads, the pure core in one worker thread, the screen fed snapshots.

::

    driver threads ──post(event)──┐
                                  ├─► inbox (queue) ─► worker thread: engine.handle(...)
    screen ──submit(action)───────┘                    (journal commit inside) ─► CartView ─► screen

- Drivers (scanner, scale, cameras) run their own reader threads and call :meth:`Runtime.post`
  with ``cart.common.events`` device events; the screen calls :meth:`Runtime.submit` with
  ``cart.app.actions``. Both only put on a queue: nobody waits on anybody.
- A device above a sane rate is throttled (``cart.app.throttle``): its excess events are dropped
  before they are queued, and counted on its status line (``throttled_drops``).
- One worker thread takes inputs and hands them to the *engine* (the core alone, or the core
  with fusion): this is the only thread that touches the basket. The engine journals every
  basket change before it returns, so a change is on disk before any snapshot shows it.
  Device events are taken in arrival order; a screen action is taken before the device events
  still queued (a key press is answered however fast the devices talk), except the actions
  that must see everything that came before them (``ORDERED_ACTIONS``: paying, the next trip).
- After a batch of inputs the worker builds one immutable :class:`~cart.app.view.CartView` and
  gives it to the listener (the screen), which renders it on its own thread. A burst of inputs
  costs one snapshot, not one per input; a long burst is cut every ``PUBLISH_MS`` for a
  snapshot, so the screen is never further behind than that and one input's handling.
  A snapshot's ``seq`` is the input up to which every input has been handled.
- With nothing to do the worker sleeps on the queue, waking once per ``tick_ms`` only so that
  the engine can let time pass (expectations time out); no input, no redraw.
- With ``idle_gc`` the full (generation 2) garbage collection runs when the cart is idle:
  a full pass over a big basket stalls every thread for tens of milliseconds on a Pi, which
  would show as a late total. The young generations are collected as usual. A cart that is
  never idle for a tick still gets one every ``FULL_GC_MAX_S``, after a snapshot.
- Taps (:meth:`Runtime.add_tap`) see every posted device event on the posting thread, after it
  is queued; the vision worker (``cart.app.vision``) uses one to ask for a camera verdict when
  an item settles on the scale, and posts the verdict back like any driver.
- The live scale reading and the devices' status are kept here (they are screen state, not
  basket state) and are also handed to the engine, which may use them.
"""

from __future__ import annotations

import collections
import gc
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from cart.app import actions
from cart.app.actions import LANGUAGE_ACTIONS, NewTrip, ScreenAction, SetLanguage
from cart.app.throttle import Throttle
from cart.app.view import (
    AlertView,
    CartView,
    Choice,
    DeviceView,
    LineView,
    Receipt,
    ScaleView,
    Totals,
)
from cart.common.clock import Clock, SystemClock
from cart.common.events import DeviceEvent, DeviceStatus, WeightMoving, WeightSettled
from cart.common.i18n import Phrase, current_language, next_language, say, set_language
from drivers.base import Device

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineView:
    """The domain part of a snapshot: what the engine alone knows."""

    lines: tuple[LineView, ...] = ()
    totals: Totals = field(default_factory=Totals)
    alerts: tuple[AlertView, ...] = ()
    coupons: tuple[str, ...] = ()
    staff: bool = False
    message: str = ""
    receipt: Receipt | None = None
    suggestions: tuple[Choice, ...] = ()  # produce the camera saw last, best first
    refusals: int = 0  # inputs refused so far (cart.app.sound: the refused cue)
    # counters the engine keeps for a device (a scanner's rejected reads), by device name
    device_counters: tuple[tuple[str, tuple[tuple[str, int], ...]], ...] = ()


class Engine(Protocol):
    """The basket behind the screen: core alone, or core with fusion (see cart.engine)."""

    def handle_event(self, event: DeviceEvent, t_ms: int) -> None:
        """A device event; basket changes are journaled before this returns."""

    def handle_action(self, action: ScreenAction, t_ms: int) -> None:
        """A shopper or staff action from the screen; journaled before this returns."""

    def advance(self, t_ms: int) -> None:
        """Time passes with no input."""

    def view(self) -> EngineView: ...

    def search_products(self, query: str, limit: int) -> list[Choice]: ...

    def close(self) -> None: ...


class Source(Protocol):
    """A device driver: started with the runtime's ``post``, closed with it."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


@dataclass(frozen=True, slots=True)
class _Tick:
    pass


@dataclass(frozen=True, slots=True)
class _Call:
    """Run ``fn(*args)`` on the worker, in order with the inputs queued before it."""

    fn: Callable[..., object]
    args: tuple


@dataclass(frozen=True, slots=True)
class _Refresh:
    """A snapshot is due (a throttled device's counter changed); nothing to handle."""


def _no_heartbeat() -> None:
    pass


# Queue priorities: screen actions first, then device events and ticks in arrival order, the
# stop marker last.
_ACTION, _IN_ORDER, _LAST = 0, 1, 2
# Actions that must see every input queued before them: paying bills what was scanned before
# the key was pressed; the next trip starts on the weight the cart has settled at.
ORDERED_ACTIONS = (actions.Pay, actions.NewTrip)
PUBLISH_MS = 50  # the longest the worker handles inputs before it publishes a snapshot
FULL_GC_MAX_S = 30  # the longest (the cart's clock) a busy cart goes without a full collection


class Runtime(Device):
    """Owns the worker thread, the engine and the sources. A context manager; ``close()`` is
    idempotent (``drivers.base.Device``)."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        store: str = "Smart cart",
        money=None,
        tick_ms: int = 1000,
        idle_gc: bool = False,
    ) -> None:
        from cart.app.view import Money

        super().__init__()
        self.engine = engine
        self.clock = clock or SystemClock()
        self.store = store
        self.money = money or Money()
        self.tick_ms = tick_ms
        self.idle_gc = idle_gc
        self._since_gc = 0  # inputs processed since the last idle collection
        self._gc_threshold: tuple[int, int, int] | None = None
        self._last_gc = time.monotonic()
        self._overdue_at: float | None = None  # the cart's time of the next forced collection
        self._inbox: queue.PriorityQueue = queue.PriorityQueue()
        self._handled: set[int] = set()  # inputs handled out of order, above ``_done``
        self.throttle = Throttle()
        self.actions_done = 0  # the last screen action handled (benchmarks, tests)
        # the times of the device events and ticks queued, not yet taken, in arrival order
        self._queued_t: collections.deque[int] = collections.deque()
        self._last_t = self.clock.now_ms()  # the latest time of an input handled
        self._refresh_queued = False
        self._listeners: list[Callable[[CartView], None]] = []
        self._sources: list[Source] = []
        self._taps: list[Callable[[DeviceEvent], None]] = []
        self._scale = ScaleView()
        self._devices: dict[str, DeviceView] = {}
        self._seq = 0  # inputs accepted
        self._done = 0  # inputs processed
        self._worker_thread = self._worker(self._run, "cart-runtime")
        self._lock = threading.Lock()
        self._view = CartView(store=store, money=self.money)
        self._idle = threading.Condition()
        self.errors = 0
        # Called by the worker on every loop (at least once per tick_ms): cart.app.watchdog.
        self.heartbeat: Callable[[], None] = _no_heartbeat
        self.staff_named = False  # the store's staff log in with an id and their own PIN
        # the language each trip starts in (the store's default, or the profile's); the
        # shopper's switch lasts until the next trip
        self.start_language = current_language()

    # ---- inputs (any thread) ---------------------------------------------------------------
    def post(self, event: DeviceEvent) -> int:
        """A device event from a driver thread. Returns its sequence number. Taps see the
        event after it is queued (so what they post in reply comes after it)."""
        if not self.throttle.admit(event):
            with self._lock:  # the status line's counter: one snapshot queued at a time
                refresh, self._refresh_queued = not self._refresh_queued, True
            if refresh:
                self._put(_Refresh())
            return -1
        seq = self._put(event)
        for tap in self._taps:
            try:
                tap(event)
            except Exception:
                log.exception("event tap %r failed", tap)
        return seq

    def submit(self, action: ScreenAction) -> int:
        """A shopper or staff action from the screen. Returns its sequence number. It is
        handled before the device events still queued, unless it is one of
        ``ORDERED_ACTIONS``."""
        return self._put(action, _IN_ORDER if isinstance(action, ORDERED_ACTIONS) else _ACTION)

    def call_soon(self, fn: Callable[..., object], *args) -> int:
        """Run ``fn(*args)`` on the worker thread, in order with the inputs queued before it,
        then publish a snapshot: how another thread (the store link) changes the engine
        without racing the worker. Returns its sequence number."""
        return self._put(_Call(fn, args))

    def tick(self) -> int:
        """Let time pass now, in order with the inputs queued before (the engine's ``advance``
        at the clock's present). The worker does this by itself after ``tick_ms`` without
        input; a simulation on an injected clock calls it whenever it moves the clock."""
        return self._put(_Tick())

    def _put(self, item, priority: int = _IN_ORDER) -> int:
        with self._lock:
            if self._closed:
                return -1
            self._seq += 1
            seq = self._seq
            self._inbox.put((priority, seq, item))
            if priority == _IN_ORDER:
                t = getattr(item, "t_ms", None)
                self._queued_t.append(self.clock.now_ms() if t is None else int(t))
        return seq

    # ---- sources and listeners ---------------------------------------------------------------
    def add_source(self, source: Source) -> Source:
        """Keep a started driver (constructed with ``on_event=runtime.post``) to close with us."""
        self._sources.append(source)
        return source

    def add_tap(self, tap: Callable[[DeviceEvent], None]) -> None:
        """Also hand every posted device event to ``tap`` on the posting thread (it must not
        block: the vision worker only notes a request)."""
        self._taps.append(tap)

    def attach(self, listener: Callable[[CartView], None]) -> None:
        """Deliver snapshots to ``listener`` (on the worker thread; it must not block) and start."""
        self._listeners.append(listener)
        self.start()
        listener(self._view)

    def start(self) -> None:
        if not self._worker_thread.started and not self.closed:
            if self.idle_gc:
                # Full collections (tens of ms with a big basket on a Pi) only when idle; the
                # young generations are still collected as usual. Restored by close().
                self._gc_threshold = gc.get_threshold()
                g0, g1, _ = self._gc_threshold
                gc.set_threshold(g0, g1, 1_000_000)
            self._view = self._build()
            self._worker_thread.start()

    @property
    def view(self) -> CartView:
        return self._view

    def search_products(self, query: str, limit: int) -> list[Choice]:
        return self.engine.search_products(query, limit)

    def produce_products(self, limit: int = 200) -> list[Choice]:
        """The store's produce, by name (none from an engine without a catalogue of them)."""
        produce = getattr(self.engine, "produce_products", None)
        return produce(limit) if produce is not None else []

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every input accepted so far has been processed (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._done < self._seq:
                left = deadline - time.monotonic()
                if left <= 0 or not self._idle.wait(left):
                    return self._done >= self._seq
        return True

    # ---- the worker --------------------------------------------------------------------------
    def _run(self) -> None:
        timeout = self.tick_ms / 1000
        while True:
            self.heartbeat()
            try:
                first = self._inbox.get(timeout=timeout)
            except queue.Empty:
                self._guard(self.engine.advance, self.clock.now_ms())
                self._collect_if_idle()
                view = self._build()
                if view != replace(self._view, seq=view.seq):
                    self._publish(view)
                continue
            if self._drain(first):
                return

    def _drain(self, item) -> bool:
        """Handle ``item`` and everything queued behind it, publishing a snapshot at least
        every ``PUBLISH_MS`` and at the end. True when the stop marker came."""
        cut = time.monotonic() + PUBLISH_MS / 1000
        stop = False
        while True:
            priority, seq, input_ = item
            if isinstance(input_, _Stop):
                stop = True
                break
            if priority == _IN_ORDER:
                with self._lock:
                    self._queued_t.popleft()
            self._apply(input_)
            self._handled_up_to(seq, input_)
            if time.monotonic() >= cut:
                self._publish(self._build())
                self.heartbeat()
                cut = time.monotonic() + PUBLISH_MS / 1000
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
        self._publish(self._build())
        with self._idle:
            self._idle.notify_all()
        self._collect_if_overdue()
        return stop

    def _handled_up_to(self, seq: int, input_) -> None:
        """``_done``: the input up to which every input has been handled (an action handled
        ahead of queued events counts once those are handled too)."""
        if not isinstance(input_, (DeviceEvent, _Tick, _Refresh, _Call)):
            self.actions_done = seq
        self._since_gc += 1
        if seq != self._done + 1:
            self._handled.add(seq)
            return
        self._done = seq
        handled = self._handled
        while self._done + 1 in handled:
            self._done += 1
            handled.discard(self._done)

    def _collect_if_overdue(self) -> None:
        """A cart that is never idle for a tick (a busy shift, a soak in accelerated time)
        still gets a full collection every ``FULL_GC_MAX_S`` of its clock, after a snapshot:
        what the screen let go (every closed check-out screen is a cycle) would otherwise be
        kept until the cart stands still."""
        if not self.idle_gc or not self._since_gc:
            return
        now = self.clock.now_ms()
        if self._overdue_at is None:
            self._overdue_at = now + FULL_GC_MAX_S * 1000
        elif now >= self._overdue_at:
            gc.collect()
            self._since_gc, self._last_gc = 0, time.monotonic()
            self._overdue_at = now + FULL_GC_MAX_S * 1000

    def _collect_if_idle(self) -> None:
        """After a quiet tick, and at most every 5 s, run the full collection (cycles only)."""
        if not self.idle_gc or self._since_gc == 0:
            return
        now = time.monotonic()
        if now - self._last_gc >= 5.0:
            gc.collect()
            self._since_gc, self._last_gc = 0, now
            self._overdue_at = None

    def _apply(self, item) -> None:
        now = self.clock.now_ms()
        if isinstance(item, _Refresh):
            with self._lock:
                self._refresh_queued = False
            return
        if isinstance(item, _Tick):
            self._last_t = max(self._last_t, now)
            self._guard(self.engine.advance, now)
            return
        if isinstance(item, _Call):
            self._guard(item.fn, *item.args)
            return
        if isinstance(item, WeightMoving):
            self._scale = ScaleView(grams=item.grams, stable=False)
        elif isinstance(item, WeightSettled):
            self._scale = ScaleView(grams=item.grams, stable=True)
        elif isinstance(item, DeviceStatus):
            self._devices[item.device] = DeviceView(
                item.device, item.state, item.detail, tuple(item.counters)
            )
        if isinstance(item, DeviceEvent):
            t = getattr(item, "t_ms", now)
            self._last_t = max(self._last_t, t)
            self._guard(self.engine.handle_event, item, t)
        elif isinstance(item, LANGUAGE_ACTIONS):
            self._language(item)
        else:
            with self._lock:
                oldest = self._queued_t[0] if self._queued_t else now
            # An action taken ahead of queued device events happens, for the basket, between
            # the last input handled and the first still queued: time never goes back.
            t = max(self._last_t, min(now, oldest))
            self._last_t = t
            self._guard(self.engine.handle_action, item, t)
            if isinstance(item, NewTrip) and self.engine.view().receipt is None:
                set_language(self.start_language)  # the next shopper starts in the store's

    def _language(self, action) -> None:
        """Switch the screen's language; the next snapshot is built in it (every text of the
        view is said at build time), so the whole screen changes at once."""
        code = action.code if isinstance(action, SetLanguage) else next_language()
        try:
            set_language(code)
        except ValueError as exc:
            self._error = str(exc)
        else:
            self._error = ""

    def _guard(self, fn, *args) -> None:
        """The cart keeps running: an engine error is logged, counted and shown, never fatal."""
        try:
            fn(*args)
        except Exception as exc:
            self.errors += 1
            log.exception("engine failed on %r", args[:1])
            self._error = Phrase(
                "Internal error ({error_type}): {error}", error_type=type(exc).__name__, error=exc
            )
        else:
            self._error = ""

    _error: str = ""  # a Phrase: said in the language of the snapshot

    def _build(self) -> CartView:
        ev = self.engine.view()
        return CartView(
            seq=self._done,
            store=self.store,
            money=self.money,
            lines=ev.lines,
            totals=ev.totals,
            scale=self._scale,
            devices=self._device_views(ev.device_counters),
            alerts=ev.alerts,
            coupons=ev.coupons,
            staff=ev.staff,
            message=say(self._error) if self._error else ev.message,
            receipt=ev.receipt,
            suggestions=ev.suggestions,
            language=current_language(),
            refusals=ev.refusals + self.errors,
        )

    def _device_views(self, extra) -> tuple[DeviceView, ...]:
        """The devices' own status, with the counters the engine keeps for them (a device
        that has reported no status yet but delivered inputs is shown connected)."""
        devices = dict(self._devices)
        for name, counters in extra + self.throttle.counters():
            d = devices.get(name) or DeviceView(name, "connected")
            keys = {k for k, _ in counters}
            merged = tuple(c for c in d.counters if c[0] not in keys) + tuple(counters)
            devices[name] = replace(d, counters=merged)
        return tuple(devices[k] for k in sorted(devices))

    def _publish(self, view: CartView) -> None:
        self._view = view
        for listener in list(self._listeners):
            try:
                listener(view)
            except Exception:
                log.exception("snapshot listener failed")

    # ---- shutdown ----------------------------------------------------------------------------
    def _close(self) -> None:
        """Stop taking inputs, close the sources, let the worker finish what was queued."""
        with self._lock:  # no input is accepted after the stop marker (``_put`` checks closed)
            self._inbox.put((_LAST, self._seq + 1, _Stop()))
        for source in reversed(self._sources):
            try:
                source.close()
            except Exception:
                log.exception("closing %r failed", source)
        self._worker_thread.join()
        self.engine.close()
        if self._gc_threshold is not None:
            gc.set_threshold(*self._gc_threshold)
