"""Play shopping trips through the assembled cart, as a shopper plays them on the screen.

``cart.sim.trips`` plays a trip straight into fusion with modelled settles. Here the same trip
(``cart.sim.shopper``) goes through what ``cart run`` assembles:

- the **scanner**: a ``cart.sim.scanner.ScannerSim`` behind ``simscanner://`` read by the real
  ``drivers.scanner.Scanner`` (its reader thread, parser and duplicate filter), which posts each
  ``Scan`` to the runtime;
- the **scale**: ``cart.sim.scale.SimScale``, the basket's physics and the simulated bridge's
  wire bytes read by the real sans-I/O ``drivers.scale.core.ScaleCore`` (frame parser, cells,
  filters, stability detector), in accelerated time (fast-forwarded at rest); its events are
  posted to the runtime as the driver's reader thread posts them;
- the **camera**: verdicts drawn as the modelled path draws them (measured top-k lists of the
  shipped classifier on real photos, or the modelled confusion), posted as the vision worker
  posts them: after a placement's settle (a weight increase of at least the worker's
  ``min_delta_g``), stamped an inference later; a held-up item ("show it again") when shown;
- the **runtime** and **engine** of ``cart.app.stack.build_runtime`` (its worker thread,
  ``FusionEngine`` with ``cart run``'s fusion settings) over a real SQLite journal in a temporary
  folder;
- the **shopper** reads only the published ``CartView`` (alerts, their choices and messages,
  lines by name, the receipt) and answers with the screen's actions (``cart.app.actions``:
  ``Answer`` with a choice key, ``AddProduce``, ``Pay``, ``EnterStaffPin``, ``ResolveAlert``,
  ``LeaveStaffMode``): the simulated shopper of ``cart.sim.trips`` (the same reasoning), whose
  answers are mapped to the choice a person would press.

Time: one ``ManualClock`` for the whole cart. The player moves it, then waits until every
driver has delivered and the runtime has processed everything and published its view; time
passing with no input is the runtime's ``tick``. Inputs reach the runtime's one queue in an
order the player fixes, so a seed gives the same trip every time (the threads only carry
bytes and wait).

What the screen cannot say is recorded, not worked around: an answer the engine refuses (its
message) is counted by alert kind in ``LiveTripResult.refused``.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cart.app import actions as ui
from cart.common.clock import ManualClock
from cart.common.events import DeviceStatus, Scan, VisionVerdict, WeightMoving, WeightSettled
from cart.fusion import actions as A
from cart.fusion.alerts import (
    Candidate,
    CheckedOut,
    Flag,
    FlagRaised,
    FlagResolved,
    LineAdded,
    LineRemoved,
)
from cart.sim.shopper import Trip
from cart.sim.trips import T0, BridgeScale, Rig, TripResult, TripRunner, _Play

INFER_MS = 150  # the classifier's inference after the settle that asked for it (Pi 5, int8)
MIN_DELTA_G = 6.0  # the vision worker's placement threshold (cart.app.vision.VisionWorker)
WAIT_S = 10.0  # longest wait for a thread to deliver (a stuck driver is a failed trip)
_NAMES = itertools.count(1)


class LiveCartError(RuntimeError):
    """The assembled cart did not deliver (a driver or the runtime stuck)."""


@dataclass
class LiveTripResult(TripResult):
    refused: dict[str, int] = field(default_factory=dict)  # kind -> answers the engine refused
    notices: dict[str, int] = field(default_factory=dict)  # what the screen said, by wording
    keyed_plu: int = 0  # codes without a barcode the shopper had to key (PLU stickers)
    physics: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _ScanPress:
    """The shopper pulls the scanner's trigger on ``code`` at ``t_ms``."""

    t_ms: int
    code: str


class LiveCart:
    """One assembled cart on simulated devices (one per trip, as a cart after a restart)."""

    def __init__(self, store, folder: Path, seed: int, scale_config=None, t0: int = T0) -> None:
        from cart.app.stack import build_runtime
        from cart.sim.scanner import ScannerSim
        from drivers.scanner import Scanner, ScannerConfig

        self.clock = ManualClock(t0)
        self.path = folder / f"trip-{seed}-{next(_NAMES)}.sqlite"
        self.runtime = build_runtime(
            store,
            self.path,
            clock=self.clock,
            synchronous="NORMAL",
            idle_gc=False,
            vision=True,
        )
        self.runtime.tick_ms = 3_600_000  # time passes only when the player says (``tick``)
        self._cond = threading.Condition()
        self._view_seq = -1
        self._scans = 0
        self.runtime.add_tap(self._tap)
        self.runtime.attach(self._on_view)
        name = f"live-{seed}-{next(_NAMES)}"
        self.scanner_sim = ScannerSim(name, seed=seed)
        self.scanner = Scanner(
            ScannerConfig(name="hand", url=f"simscanner://{name}"),
            on_event=self.runtime.post,
            clock=self.clock,
        )
        self.runtime.add_source(self.scanner)
        if not self.scanner.connected.wait(WAIT_S):
            self.close()
            raise LiveCartError("the simulated scanner did not connect")
        self.scale_config = scale_config
        self.runtime.post(DeviceStatus(t0, "scale", "connected", "simulated bridge"))
        self.sync()

    # ---- threads -----------------------------------------------------------------------------
    def _tap(self, event) -> None:
        if isinstance(event, Scan):
            with self._cond:
                self._scans += 1
                self._cond.notify_all()

    def _on_view(self, view) -> None:
        with self._cond:
            self._view_seq = view.seq
            self._cond.notify_all()

    def sync(self, seq: int | None = None) -> None:
        """Wait until the runtime has processed input ``seq`` (default: all accepted so far) and
        published the view after it."""
        target = self.runtime._seq if seq is None else seq
        with self._cond:
            if not self._cond.wait_for(lambda: self._view_seq >= target, WAIT_S):
                raise LiveCartError(f"the runtime did not process input {target}")

    @property
    def view(self):
        return self.runtime.view

    # ---- inputs -------------------------------------------------------------------------------
    def at(self, t_ms: int) -> int:
        """Move the clock to ``t_ms`` (never back); returns the present."""
        if t_ms > self.clock.now_ms():
            self.clock.set(t_ms)
        return self.clock.now_ms()

    def post(self, event) -> None:
        self.at(event.t_ms)
        self.sync(self.runtime.post(event))

    def submit(self, action) -> None:
        self.sync(self.runtime.submit(action))

    def tick(self, t_ms: int) -> None:
        self.at(t_ms)
        self.sync(self.runtime.tick())

    def scan(self, t_ms: int, code: str) -> bool:
        """The trigger pulled on ``code``: its bytes through the real driver. False when the
        driver's duplicate filter dropped it (a repeat within its window)."""
        self.at(t_ms)
        dup = self.scanner.decoder.duplicates
        with self._cond:
            before, dropped = self._scans, dup.dropped
        self.scanner_sim.scan(code, "]E0")
        deadline = time.monotonic() + WAIT_S
        with self._cond:
            # the reader thread either posts the scan (the tap wakes us) or drops it (polled)
            while not (self._scans > before or dup.dropped > dropped):
                if time.monotonic() > deadline:
                    raise LiveCartError(f"the scanner driver did not deliver {code}")
                self._cond.wait(0.002)
            passed = self._scans > before
        self.sync()
        return passed

    def close(self) -> None:
        self.runtime.close()
        self.scanner_sim.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)


class LiveScale(BridgeScale):
    """The simulated scale on the cart's clock, with the shopper's extra disturbances of a
    ``TripPhysics`` (bumps of other shapes during pushes, a hand resting on the rim)."""

    def __init__(self, profile, seed: int, clock: ManualClock, physics=None) -> None:
        super().__init__(profile, seed, config=physics.config if physics else None, clock=clock)
        self.physics = physics
        self._leans = 0

    def push(self, t: int, ms: int) -> tuple[list, int]:
        ph = self.physics
        if ph is None:
            return super().push(t, ms)
        t = self._now(t)
        end = self.sim.push(ms, t_ms=t)
        rng = self.rng
        n = 0
        while rng.random() < ph.bumps_per_push / (ph.bumps_per_push + 1.0) and n < 4:
            n += 1
        for at in sorted(rng.uniform(t, end) for _ in range(n)):
            u = rng.random()
            if u < ph.long_bump:  # a soft, long pulse: a ramp or a door sill
                self.sim.bump(t_ms=int(at), pulse_ms=rng.uniform(60.0, 200.0))
            else:
                self.sim.bump(t_ms=int(at))
                if u < ph.long_bump + ph.double_bump:  # the rear wheels hit it too
                    self.sim.bump(t_ms=int(at + rng.uniform(250.0, 700.0)))
        if rng.random() < ph.lean_rate:  # a hand on the rim after the push, then lifted
            self._leans += 1
            key = f"hand{self._leans}"
            start = end + int(rng.uniform(300.0, 1500.0))
            self.sim.place(
                key,
                rng.uniform(*ph.lean_g),
                rng.uniform(0.0, 1.0),
                0.0,
                t_ms=start,
                ramp_ms=rng.uniform(150.0, 600.0),
                drop_mm=0.0,
            )
            lift = start + int(rng.uniform(*ph.lean_ms))
            evs = self.sim.run_until(lift)
            self.sim.remove(key, t_ms=lift)
            end = lift + 600
            evs = [e for e in evs if isinstance(e, (WeightSettled, WeightMoving))]
            more, last = self._run(end + 1500)
            return evs + more, last
        return self._run(end + 1500)


class LiveRig(Rig):
    """The trip runner's rig with the scanner's trigger as an input of its own (the bytes go
    through the real driver, not a decoder called in line) and the scale on the cart's clock."""

    def __init__(self, profile, labels, seed: int, vision, clock, physics=None) -> None:
        super().__init__(profile, labels, seed, vision, scale="model")
        self.scale = LiveScale(profile, seed, clock, physics)

    def scan(self, t: int, code: str) -> list:
        if self.rng.random() < self.profile.scan_misread_rate:
            t += int(self.rng.uniform(700, 2000))  # no read; the shopper tries again
        return [_ScanPress(t, code)]


_DIGITS = re.compile(r"\d+")
_GRAMS = re.compile(r"\((\d+(?:\.\d+)?) g\)")
_KG = re.compile(r"^(\d+\.\d+) kg$")


class _LivePlay(_Play):
    """``cart.sim.trips._Play`` on the assembled cart: the shopper's steps become device bytes
    and screen actions; what the shopper knows of the cart is what the screen shows."""

    def __init__(self, runner: LiveTripRunner, trip: Trip) -> None:
        self.r, self.trip = runner, trip
        vision = runner.vision_factory(trip.seed) if runner.vision_factory else None
        self.physics = runner.physics_for(trip.seed)
        self.cart = LiveCart(
            runner.store, runner.folder, trip.seed, self.physics.config if self.physics else None
        )
        self.rig = LiveRig(
            runner.profile, runner.labels, trip.seed, vision, self.cart.clock, self.physics
        )
        self._shopper_state()
        self.fs = None
        self._shown: dict[int, Flag] = {}
        self._lines_seen: dict[int, object] = {}
        self.refused: dict[str, int] = {}
        self.notices: dict[str, int] = {}
        self.keyed_plu = 0
        self._said = ""
        self.by_name = {p.name: p for p in runner.products.products()}
        self.cart.at(self.t)

    # -- plumbing: inputs to the cart, the screen back to the shopper ---------------------------
    def feed(self, xs) -> None:
        for x in _after_settles(sorted(xs, key=lambda e: e.t_ms)):
            self.t = max(self.t, x.t_ms)
            if self.r.keep_log:
                self.log.append(("in", x))
            if isinstance(x, _ScanPress) and _is_plu(x.code):
                # a PLU sticker has no barcode to scan: the shopper keys it on the produce
                # screen's keypad (the screen's only way to enter a code)
                self.keyed_plu += 1
                self._press(A.SelectProduce(x.t_ms, self._open_produce_question(), x.code))
            elif isinstance(x, _ScanPress):
                self.cart.scan(max(x.t_ms, self.cart.clock.now_ms()), x.code)
                self._note()
            elif isinstance(x, (WeightMoving, WeightSettled, VisionVerdict)):
                self.cart.post(x)
            else:
                self._press(x)
            self._read_screen()

    def advance(self, dt: int) -> None:
        self.t += max(0, int(dt))
        evs = self.rig.scale.catch_up(self.t)
        if evs:
            self.feed(evs)
        self.cart.tick(self.t)
        self._read_screen()

    def _press(self, x) -> None:
        """A fusion-level answer of the shopper model, as the key a person presses."""
        self.cart.at(x.t_ms)
        action = self._screen_action(x)
        if action is None:
            return
        self.cart.submit(action)
        fid = getattr(x, "flag_id", None)
        msg = self._note()
        if fid is not None and msg and any(a.alert_id == fid for a in self.cart.view.alerts):
            f = self._shown.get(fid)
            kind = str(f.kind) if f is not None else "?"
            self.refused[kind] = self.refused.get(kind, 0) + 1

    def _note(self) -> str:
        """What the screen says after a press or a scan, counted by its wording."""
        msg = self.cart.view.message
        if msg:
            key = _DIGITS.sub("N", msg)
            self.notices[key] = self.notices.get(key, 0) + 1
        return msg

    def _open_produce_question(self) -> int | None:
        return next(
            (
                a.alert_id
                for a in reversed(self.cart.view.alerts)
                if a.kind in ("scan_added", "weigh_produce") and not a.staff_only
            ),
            None,
        )

    def _screen_action(self, x):
        match x:
            case A.SelectProduce(flag_id=fid, code=code, bagged=bagged):
                return ui.AddProduce(code, fid, bagged)
            case A.DeclarePersonal(flag_id=fid):
                return ui.Answer(fid, "personal")
            case A.CancelScan(flag_id=fid):
                return ui.Answer(fid, "cancel")
            case A.ShowAgain(flag_id=fid):
                return ui.Answer(fid, "show_again")
            case A.PickRemoved(flag_id=fid, line_id=lid):
                return ui.Answer(fid, "personal" if lid is None else f"line:{lid}")
            case A.NothingTakenOut(flag_id=fid):
                return ui.Answer(fid, "nothing")
            case A.ConfirmQuantity(flag_id=fid, quantity=n):
                return ui.Answer(fid, self._quantity_key(fid, n))
            case A.Checkout():
                return ui.Pay()
            case A.CallStaff(flag_id=fid):
                return None if fid is None else ui.Answer(fid, "staff")
            case A.StaffLogin(staff_id=sid, pin=pin):
                return ui.EnterStaffPin(pin, sid)
            case A.StaffResolve(flag_id=fid, resolution=res):
                return ui.ResolveAlert(fid, res)
            case A.StaffLogout():
                return ui.LeaveStaffMode()
        raise TypeError(f"no screen action for {type(x).__name__}")

    def _quantity_key(self, fid: int, n: int | None) -> str:
        """ "Yes: bill all of them" when the count is the screen's, else the count's own key."""
        f = self._shown.get(fid)
        if n is None or f is None:
            return "confirm"
        m = re.search(r"(\d+) (?:more )?×", f.message)
        if m and int(m.group(1)) == n:
            return "confirm"
        keys = {c.key for c in f.candidates}
        return str(n) if str(n) in keys else "confirm"

    def _read_screen(self) -> None:
        """What changed on the screen since the shopper last looked, as the shopper model's
        notes (lines by name; questions with the weight their message states)."""
        view = self.cart.view
        t = self.cart.clock.now_ms()
        if self.r.keep_log and view.message and view.message != self._said:
            self.log.append(("said", view.message))
        self._said = view.message
        lines = {ln.line_id: ln for ln in view.lines}
        for lid in list(self._lines_seen):
            if lid not in lines:
                del self._lines_seen[lid]
                self._effect(LineRemoved(t, lid, "gone from the screen"))
        for lid, ln in lines.items():
            if lid in self._lines_seen:
                continue
            self._lines_seen[lid] = ln
            p = self.by_name.get(ln.name)
            m = _KG.match(ln.quantity)
            grams = float(m.group(1)) * 1000 if m else None
            self._effect(
                LineAdded(t, lid, p.id if p else ln.name, "", ln.name, grams, None, _qty(ln))
            )
        alerts = {a.alert_id: a for a in view.alerts}
        gone = [fid for fid in self._shown if fid not in alerts]
        new = [a for fid, a in alerts.items() if fid not in self._shown]
        new_kinds = {a.kind for a in new}
        for fid in gone:
            f = self._shown.pop(fid)
            # the same kind of question gone and back under a new id: reworded, one question
            res = "updated" if f.kind in new_kinds else "closed"
            self._effect(FlagResolved(t, fid, f.kind, res, "screen"))
        for a in new:
            f = self._flag(a, view, t)
            self._shown[a.alert_id] = f
            self._effect(FlagRaised(t, f))
        if view.receipt is not None and not self.checked_out:
            self._effect(CheckedOut(t))

    def _effect(self, e) -> None:
        if self.r.keep_log:
            self.log.append(("out", e))
        super()._effect(e)

    def _flag(self, a, view, t: int) -> Flag:
        m = _GRAMS.search(a.message)
        grams = float(m.group(1)) if m else None
        if grams is None and self.last_placed is not None:
            # no weight in the message: the shopper knows what they just put in
            grams = self.last_placed.grams * self.group_size
        flagged = [ln for ln in view.lines if ln.flagged]
        named = [ln for ln in flagged if ln.name in a.message]
        line = (named or flagged or [None])[-1]
        return Flag(
            a.alert_id,
            a.kind,
            t,
            a.message,
            a.action,
            line.line_id if line is not None else None,
            grams,
            tuple(Candidate(c.key, c.label) for c in a.choices),
            a.staff_only,
        )

    # -- score ---------------------------------------------------------------------------------
    def run(self) -> TripResult:
        try:
            return super().run()
        finally:
            self.cart.close()

    def score(self) -> LiveTripResult:
        self.cart.runtime.close()  # the worker stops; the basket is read as journaled
        self.fs = self.cart.runtime.engine.fs
        base = super().score()
        return LiveTripResult(
            **{k: getattr(base, k) for k in base.__dataclass_fields__},
            refused=dict(self.refused),
            notices=dict(self.notices),
            keyed_plu=self.keyed_plu,
            physics=dict(self.physics.drawn) if self.physics else {},
        )


def _is_plu(code: str) -> bool:
    return code.isdigit() and len(code) in (4, 5)


def _qty(ln) -> int:
    return int(ln.quantity) if ln.quantity.isdigit() else 1


def _after_settles(xs: list) -> list:
    """Camera verdicts as the vision worker gives them: a placement's verdict once its weight
    has settled (an increase of at least ``MIN_DELTA_G``), an inference later; a verdict with no
    such settle after it (an item held up to the camera) stays where it is."""
    settles = [
        i for i, x in enumerate(xs) if isinstance(x, WeightSettled) and x.delta_g >= MIN_DELTA_G
    ]
    out, used = [], set()
    for x in xs:
        if isinstance(x, VisionVerdict):
            k = next((i for i in settles if i not in used and xs[i].t_ms >= x.t_ms), None)
            if k is not None:
                used.add(k)
                x = VisionVerdict(xs[k].t_ms + INFER_MS, x.top, x.source)
        out.append(x)
    return sorted(out, key=lambda e: e.t_ms)


class LiveTripRunner(TripRunner):
    """Trips on the assembled cart (see the module docstring). ``physics``: None (the
    profile's scale) or "random" (each trip's scale and basket drawn from its seed,
    ``cart.sim.scale_model.random_physics``)."""

    def __init__(self, store, profile, *, vision_factory=None, physics=None, **kw) -> None:
        super().__init__(store, profile, vision_factory=vision_factory, scale="bridge", **kw)
        if physics not in (None, "profile", "random"):
            raise ValueError(f"physics must be profile or random, not {physics!r}")
        self.physics = None if physics == "profile" else physics
        self._tmp = tempfile.TemporaryDirectory(prefix="cart-live-")
        self.folder = Path(self._tmp.name)

    def physics_for(self, seed: int):
        if self.physics != "random":
            return None
        from cart.sim.scale_model import random_physics

        return random_physics(seed, "typical")

    def run(self, trip: Trip) -> LiveTripResult:
        return _LivePlay(self, trip).run()

    def close(self) -> None:
        self._tmp.cleanup()
