"""The demo: the whole cart on simulated devices, with a shopper at the keyboard or on autoplay.

A :class:`DemoWorld` owns the simulated devices and the shopper's hands:

- the scanner is a ``cart.sim.scanner.ScannerSim`` read by the real ``drivers.scanner.Scanner``
  through ``simscanner://`` (the real reader thread and parser run);
- the scale is a ``cart.sim.scale.SimScale``: the basket's physics, the bridge's real frames and
  the real host pipeline (frame parser, load cells, filters, stability detector), stepped in
  real time by the world's thread, which posts the driver's events to the runtime;
- the shopper takes items off a shelf list, scans them, places them, takes them out, pushes the
  cart, and answers produce questions on the screen, or an autoplay shopper does all of it.

Everything the world does goes through its own thread (the simulated scale is single-threaded),
so the screen's keys only queue commands. All events share one clock (``DemoClock``), which the
world moves with the wall clock (``wall_ms``: a test may pass its own and call
:meth:`DemoWorld.step` instead of starting the thread, in accelerated time). The autoplay
shopper keeps its pace on that clock too.
"""

from __future__ import annotations

import itertools
import logging
import queue
import random
from collections.abc import Callable
from dataclasses import dataclass

from cart.common.clock import ManualClock, SystemClock
from cart.common.events import DeviceStatus
from cart.fusion.alerts import AlertKind
from drivers.base import Device

log = logging.getLogger(__name__)

STEP_S = 0.1  # the world thread's period at rest (the simulated scale fast-forwards then)
STEP_MOVING_S = 0.04  # ... and while something moves, for a smooth live reading
ATTACH_WAIT_S = 10.0  # at most this long for the scanner driver to open its port


@dataclass(frozen=True, slots=True)
class ShelfItem:
    product_id: str
    name: str
    code: str  # what the barcode says ("" for loose produce: chosen on the screen)
    plu: str
    grams: float  # what one pick weighs (a typical bag of produce)
    produce: bool
    label: str = ""  # the classifier's class name ("" when the camera does not know it)


@dataclass(frozen=True, slots=True)
class InCart:
    item_id: str
    shelf: ShelfItem
    grams: float


def shelf_from_store(store, rng: random.Random, size: int = 24) -> list[ShelfItem]:
    """A varied shelf: packaged goods with barcodes and loose produce, none age-restricted."""
    each, produce = [], []
    for p in store.catalog.products:
        if p.age_min:
            continue
        if p.by_weight and p.plu and p.unit_weight_g:
            n = max(1, round(600 / p.unit_weight_g))  # about 600 g of it, whole pieces
            produce.append(
                ShelfItem(p.id, p.name, "", p.plu, n * p.unit_weight_g + 5, True, p.label or "")
            )
        elif not p.by_weight and p.gtins and p.unit_weight_g and p.gtins[0][:2] != "02":
            # (an in-store number is printed with its price on a label, not on a shelf item)
            g = p.gtins[0]
            code = g.removeprefix("0")  # printed as EAN-13
            produce_or_each = ShelfItem(
                p.id, p.name, code, p.plu, p.unit_weight_g + p.tare_g, False, p.label or ""
            )
            each.append(produce_or_each)
    rng.shuffle(each)
    rng.shuffle(produce)
    shelf = each[: size * 2 // 3] + produce[: size // 3]
    return sorted(shelf, key=lambda s: s.name)


class DemoCamera:
    """The demo's basket camera: ``cart.sim.camera.CameraSim`` renders the item just placed
    from a real photo of its class (``../shared/data/grocery-store``; a plain carton for items
    the dataset has no photo of), moving in and coming to rest, and each world step hands the
    current frame to the vision worker's buffer, as the camera's capture thread would. A close
    basket camera: the item fills most of the frame."""

    SIZE = (400, 320)

    def __init__(self, buffer, photos: dict, seed: int = 7) -> None:
        self.buffer = buffer
        self.photos = photos
        self.rng = random.Random(seed)
        self._queue: list = []
        self._still = None
        self.shown: list[str] = []  # the photo each placement showed (tests, logs)

    def photo_for(self, label: str):
        paths = self.photos.get(label) if label else None
        return self.rng.choice(paths) if paths else None

    def show(self, item: ShelfItem | None, photo=None) -> None:
        """The item going into view and coming to rest (``None``: the empty basket)."""
        from cart.sim.camera import CameraSim, Conditions

        if item is None:
            sim = CameraSim(None, code=None, size=self.SIZE, seed=self.rng.randrange(1 << 30))
            self._queue = sim.empty(2)
        else:
            photo = photo or self.photo_for(item.label)
            try:
                sim = CameraSim(
                    photo,
                    code=None,
                    size=self.SIZE,
                    conditions=Conditions(noise=2.0),
                    seed=self.rng.randrange(1 << 30),
                )
            except ValueError as exc:  # an unreadable photo: a plain carton instead
                log.warning("demo camera: %s", exc)
                sim = CameraSim(None, code=None, size=self.SIZE)
            self.shown.append(str(photo) if photo else "")
            self._queue = sim.frames(4, rest=2)
        self._still = self._queue[-1]

    def step(self, t_ms: int) -> None:
        """One frame: the next of a movement, else the scene at rest."""
        if self._queue:
            self.buffer.push(self._queue.pop(0), t_ms)
        elif self._still is not None:
            self.buffer.push(self._still, t_ms)


class DemoWorld(Device):
    """Simulated devices and the shopper's hands. Start with :meth:`start`; ``close()`` is
    idempotent (``drivers.base.Device``)."""

    def __init__(
        self,
        runtime,
        store,
        clock: ManualClock,
        *,
        seed: int = 7,
        profile: str = "typical",
        camera: DemoCamera | None = None,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        super().__init__()
        self._wall_ms = wall_ms or SystemClock().now_ms  # what the world catches up with
        self.runtime = runtime
        self.store = store
        self.clock = clock
        self.rng = random.Random(seed)
        self.shelf = shelf_from_store(store, self.rng)
        self.hand: ShelfItem | None = None
        self.cart: list[InCart] = []
        self.note = "Take an item off the shelf (T)"
        self._ids = itertools.count(1)
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = self._worker(self._run, "demo-world")
        self.autoplay = False
        self._auto_at = 0.0  # seconds on the world's clock
        self.scans_sent = 0  # scans the simulated scanner was told to send (tests)
        self.scale = None
        self.scanner = None
        self.scanner_sim = None
        self._seed, self._profile = seed, profile
        self.listeners: list = []  # called (on the world thread) when hand/cart/note change
        self._after_unload = None
        self._paid_at: float | None = None
        self.camera = camera  # None: the demo runs without vision

    # ---- life --------------------------------------------------------------------------------
    def start(self, *, thread: bool = True) -> None:
        """Build the devices and start the world's thread (``thread=False``: the caller moves
        the world with :meth:`step`)."""
        from cart.sim.scale import SimScale
        from cart.sim.scanner import ScannerSim
        from drivers.scanner import Scanner, ScannerConfig

        self._sync_clock()
        self.scale = SimScale(seed=self._seed, profile=self._profile, clock=self.clock)
        self.runtime.post(DeviceStatus(self.clock.now_ms(), "scale", "connected", "simulated"))
        self.scanner_sim = ScannerSim("demo-hand", seed=self._seed)
        self.scanner = Scanner(
            ScannerConfig(name="hand", url="simscanner://demo-hand"),
            on_event=self.runtime.post,
            clock=self.clock,
        )
        # the driver opens its port on its own thread, and what a scanner sends before the
        # port is open is lost (as on a real port nobody has open): the shopper starts once
        # it is open
        self.scanner_sim.attached.wait(ATTACH_WAIT_S)
        if self.camera is not None:
            self.runtime.post(
                DeviceStatus(self.clock.now_ms(), "camera:basket", "connected", "simulated")
            )
            self.camera.show(None)
        self.runtime.add_source(self)
        if thread:
            self._thread.start()

    def _close(self) -> None:
        self._thread.stop()
        if self.scanner is not None:
            self.scanner.close()

    # ---- commands (any thread) -----------------------------------------------------------------
    def take(self, product_id: str) -> None:
        self._commands.put(("take", product_id))

    def scan(self) -> None:
        self._commands.put(("scan", None))

    def place(self) -> None:
        self._commands.put(("place", None))

    def remove(self, item_id: str) -> None:
        self._commands.put(("remove", item_id))

    def push(self) -> None:
        self._commands.put(("push", None))

    def show(self) -> None:
        """Hold the last item placed up to the camera again ("show it again")."""
        self._commands.put(("show", None))

    def set_autoplay(self, on: bool) -> None:
        self._commands.put(("autoplay", on))

    def unload_then(self, then) -> None:
        """Take everything out of the cart; call ``then()`` once the scale has settled empty."""
        self._commands.put(("unload", then))

    # ---- the world's thread ----------------------------------------------------------------------
    def _sync_clock(self) -> int:
        now = self._wall_ms()
        if now > self.clock.now_ms():
            self.clock.set(now)
        return self.clock.now_ms()

    def _now_s(self) -> float:
        return self.clock.now_ms() / 1000

    @property
    def period_s(self) -> float:
        """How long the world waits for a command between steps: longer while nothing moves."""
        quiet = self.scale.model.quiet and not self.autoplay
        return STEP_S if quiet else STEP_MOVING_S

    def _run(self) -> None:
        while not self._thread.stopping:
            try:
                cmd, arg = self._commands.get(timeout=self.period_s)
            except queue.Empty:
                cmd, arg = None, None
            self._step(cmd, arg)

    def step(self) -> None:
        """One step of the world up to ``wall_ms()``, with the next queued command if any:
        what the world's thread does each period."""
        try:
            cmd, arg = self._commands.get_nowait()
        except queue.Empty:
            cmd, arg = None, None
        self._step(cmd, arg)

    def _step(self, cmd, arg) -> None:
        target = self._wall_ms()
        try:
            for ev in self.scale.run_until(max(target, self.clock.now_ms())):
                self.runtime.post(ev)
            if self.camera is not None:
                self.camera.step(self.clock.now_ms())
            if cmd is not None:
                self._do(cmd, arg)
            if self.autoplay and self._now_s() >= self._auto_at:
                self._auto_step()
            if self._after_unload is not None and self._scale_at_rest():
                then, self._after_unload = self._after_unload, None
                then()
        except Exception as exc:  # the demo keeps going; the error is shown
            log.exception("demo world step failed")
            self._say(f"Simulation error: {exc}")

    def _scale_at_rest(self) -> bool:
        return self._scale_settled() and abs(self.runtime.view.scale.grams or 0) < 20

    def _scale_settled(self) -> bool:
        """Nothing moves on the scale, and the driver has said where it settled."""
        return (
            self.scale.model.quiet
            and self.scale.core.pipeline.detector.stable
            and self.runtime.view.scale.stable
        )

    def _say(self, note: str) -> None:
        self.note = note
        for fn in list(self.listeners):
            fn()

    def _do(self, cmd: str, arg) -> None:
        """One of the shopper's commands, on the world's thread."""
        getattr(self, f"_do_{cmd}")(arg)

    def _do_take(self, arg) -> None:
        item = next((s for s in self.shelf if s.product_id == arg), None)
        if item is not None:
            self.hand = item
            self._say(
                f"Holding {item.name}: "
                + (
                    "place it (L), then choose it on the screen (P)"
                    if item.produce
                    else "scan it (N), then place it (L)"
                )
            )

    def _do_scan(self, _arg) -> None:
        from cart.sim.scanner import aim_for

        if self.hand is None:
            # Empty hand: the shopper aims the scanner into the basket at the item put in
            # last ("scan the item you just added").
            last = next((c.shelf for c in reversed(self.cart) if c.shelf.code), None)
            if last is None:
                self._say("Nothing in hand to scan")
            else:
                self.scanner_sim.scan(last.code, aim_for(last.code))
                self.scans_sent += 1
                self._say(f"Scanned {last.name} in the cart")
        elif not self.hand.code:
            self._say(f"{self.hand.name} has no barcode: place it and choose it (P)")
        else:
            self.scanner_sim.scan(self.hand.code, aim_for(self.hand.code))
            self.scans_sent += 1
            self._say(f"Scanned {self.hand.name}: now place it (L)")

    def _do_place(self, _arg) -> None:
        if self.hand is None:
            self._say("Nothing in hand to place")
            return
        item = self.hand
        grams = item.grams * self.rng.uniform(0.97, 1.03) if item.produce else item.grams
        entry = InCart(f"i{next(self._ids)}", item, grams)
        self.scale.place(
            entry.item_id,
            grams,
            x=self.rng.uniform(0.2, 0.8),
            y=self.rng.uniform(0.2, 0.8),
            bag=item.produce,
        )
        self.cart.append(entry)
        self.hand = None
        if self.camera is not None:
            self.camera.show(item)
        self._say(f"Placed {item.name} ({grams:.0f} g)")

    def _do_remove(self, arg) -> None:
        entry = next((c for c in self.cart if c.item_id == arg), None)
        if entry is not None:
            self.scale.remove(entry.item_id)
            self.cart.remove(entry)
            if self.camera is not None:
                self.camera.show(self.cart[-1].shelf if self.cart else None)
            self._say(f"Took {entry.shelf.name} out of the cart")

    def _do_show(self, _arg) -> None:
        if self.camera is None:
            self._say("The demo runs without a camera")
        elif self.cart:
            last = self.cart[-1].shelf
            self.camera.show(last)
            self._say(f"Showed {last.name} to the camera")

    def _do_push(self, _arg) -> None:
        self.scale.push(duration_ms=3000, intensity=1.0)
        self._say("Pushing the cart to the next aisle")

    def _do_unload(self, arg) -> None:
        for entry in self.cart:
            self.scale.remove(entry.item_id)
        self.cart.clear()
        self.hand = None
        self._after_unload = arg
        self._say("Unloading the cart at the car")

    def _do_autoplay(self, arg) -> None:
        self.autoplay = bool(arg)
        self._auto_at = self._now_s() + 0.5
        self._say("Autoplay on (O turns it off)" if arg else "Autoplay off")

    def _auto_step(self) -> None:
        """One step of the autoplay shopper: a small, honest trip with one produce item, one
        item taken out again, a push between aisles, then check-out."""
        from cart.app import actions as ui

        view = self.runtime.view
        pause = 1.2
        if view.receipt is not None:
            # show the receipt a while, then the shopper leaves and the next one comes
            if self._paid_at is None:
                self._paid_at = self._now_s()
            elif self._after_unload is None and self._now_s() - self._paid_at > 5.0:
                self._do("unload", lambda: self.runtime.submit(ui.NewTrip()))
                self._say("Autoplay: paid; the next shopper is on the way")
            self._auto_at = self._now_s() + 1.0
            return
        self._paid_at = None
        # a question about the produce just placed (taken for more of the item before it,
        # "Looks like 1 more × ...", when the camera does not tell): the shopper chooses it
        asks = (AlertKind.WEIGH_PRODUCE, AlertKind.SCAN_ADDED, AlertKind.QUANTITY)
        produce_alert = next((a for a in view.alerts if a.kind in asks), None)
        if produce_alert is not None and self.cart and self.cart[-1].shelf.produce:
            self.runtime.submit(ui.AddProduce(self.cart[-1].shelf.plu, produce_alert.alert_id))
            self._say(f"Autoplay: chose {self.cart[-1].shelf.name} on the screen")
        elif (
            self.camera is not None
            and (
                shown := next((a for a in view.alerts if a.kind == AlertKind.LOOKS_DIFFERENT), None)
            )
            and not shown.staff_only
            and self.cart
        ):
            self.runtime.submit(ui.Answer(shown.alert_id, "show_again"))
            self._do("show", None)
            pause = 3.0
        elif view.alerts:
            pause = 3.0  # let the evidence settle the question, or wait for the shopper
        elif not self._scale_settled():
            pause = 0.5  # the item placed last is weighed (and asked about) first
        elif self.hand is not None:
            self._do("place", None)
            pause = 2.5
        elif len(self.cart) >= 6:
            self.runtime.submit(ui.Pay())
            self._say("Autoplay: paying")
        else:
            n = len(self.cart)
            if n == 3 and not any(c.shelf.produce for c in self.cart):
                choice = next(s for s in self.shelf if s.produce)
            elif n == 4 and self.rng.random() < 0.5:
                self._do("push", None)
                self._auto_at = self._now_s() + 4.0
                return
            else:
                choice = self.rng.choice([s for s in self.shelf if not s.produce])
            self._do("take", choice.product_id)
            if not choice.produce:
                self._do("scan", None)
            pause = 1.5
        self._auto_at = self._now_s() + pause


def demo_vision(clock, seed: int = 7, photos: dict | None = None):
    """``(worker, camera)`` for the demo: the shipped classifier fed by :class:`DemoCamera`
    rendering real photos. Without the photos (``$CART_SHARED_DATA``) or the model the worker
    only reports why (the status bar shows "vision off: ...") and the camera is ``None``."""
    from cart.app.vision import (
        FrameBuffer,
        VisionWorker,
        class_photos,
        load_worker,
    )
    from cart.common.paths import grocery_store_dir

    photos = class_photos() if photos is None else photos
    if not photos:
        where = grocery_store_dir()
        return VisionWorker(
            None, None, clock=clock, problem=f"vision off: no photos in {where}"
        ), None
    buffer = FrameBuffer()
    worker = load_worker(None, clock=clock, buffer=buffer)
    if worker.classifier is None:
        return worker, None
    worker.cameras = 1
    return worker, DemoCamera(buffer, photos, seed)


def demo_clock() -> ManualClock:
    return ManualClock(SystemClock().now_ms())
