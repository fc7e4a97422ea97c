"""Play shopping trips against the cart in simulated time, and score them against the truth.

``TripRunner`` takes a ``Trip`` (``cart.sim.shopper``), turns each shopper step into device
events through a ``Rig`` (scanner bytes through the real scanner parser, scale events, camera
verdicts), feeds them with the shopper's and staff's answers to a ``Reconciler`` in time order,
and returns a ``TripResult``: the bill against the truth, the alerts, whether staff was needed,
and whether a cheat got through. No threads, no sleeps: simulated time jumps from one step to
the next.

Bill truth. Items sold each must be billed exactly (to the cent). A by-weight line is right
when its billed net weight is within the maximum permissible error of a class III retail scale
in service (OIML R 76, Max 15 kg, e = 5 g: ±5 g up to 2.5 kg, ±10 g up to 10 kg): the truth of a
weighed item is itself a reading on a legal scale, so the cart may not do worse than one.
Per-kg prices are rounded half up to the minor unit (as core's pricing does).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from cart.common.events import Scan, VisionVerdict, WeightMoving, WeightSettled
from cart.fusion import actions as A
from cart.fusion.alerts import (
    AlertKind,
    CheckedOut,
    FlagRaised,
    FlagResolved,
    LineAdded,
    LineRemoved,
)
from cart.fusion.products import Product
from cart.fusion.reconciler import FusionConfig
from cart.pricing.rounding import weight_amount
from cart.sim.shopper import Op, Profile, Trip, TruthItem, _code

T0 = 1_767_225_600_000
STAFF_ID, STAFF_PIN = "s1", "2468"  # the demo store's staff PIN


def mpe_g(net_g: float) -> float:
    """OIML R 76 class III retail scale, Max 15 kg, e = 5 g: maximum permissible error in
    service (±1 e up to 500 e, ±2 e up to 2000 e, ±3 e above)."""
    return 5.0 if net_g <= 2500 else 10.0 if net_g <= 10000 else 15.0


def line_price(p: Product, weight_g: float | None, price_minor: int | None) -> int:
    """What a line costs: the price in its code, else core's per-kg rule on whole grams."""
    if price_minor is not None:
        return price_minor
    if p.by_weight:
        return weight_amount(p.price_minor, round(weight_g or 0.0))
    return p.price_minor


# ---- devices ------------------------------------------------------------------------------


class ModelledScale:
    """Settled-weight events from a stated error model (the bench's fast path): each settle
    reads the true total + N(0, σ); pushes emit moving events and, at the profile's rate, a
    transient false change that settles back when the push ends. ``sigma_g`` can be measured
    from the real pipeline in the same run (``calibrate_scale``)."""

    def __init__(
        self,
        profile: Profile,
        rng: random.Random,
        sigma_g: float | None = None,
        settle_ms: tuple[int, int] = (350, 900),
    ) -> None:
        self.p, self.rng = profile, rng
        self.sigma = profile.scale_sigma_g if sigma_g is None else sigma_g
        self.settle_ms = settle_ms
        self.true_g = 0.0
        self.last_g = 0.0
        self.items: dict[str, float] = {}

    def _settle(self, t: int, settle_ms: int) -> list:
        g = self.true_g + self.rng.gauss(0.0, self.sigma)
        ev = WeightSettled(
            t + settle_ms, round(g, 1), round(g - self.last_g, 1), settle_ms, round(self.sigma, 2)
        )
        self.last_g = g
        return [WeightMoving(t, round(g, 1)), ev]

    def _change(self, t: int, delta_g: float) -> tuple[list, int]:
        self.true_g += delta_g
        lo, hi = self.settle_ms
        settle = int(self.rng.uniform(lo, hi if abs(delta_g) < 2000 else hi * 1.6))
        return self._settle(t, settle), t + settle

    def catch_up(self, t: int) -> list:
        return []

    def place(self, t: int, key: str, grams: float, bag: bool = False) -> tuple[list, int]:
        self.items[key] = grams
        return self._change(t, grams)

    def remove(self, t: int, key: str) -> tuple[list, int]:
        return self._change(t, -self.items.pop(key))

    def push(self, t: int, ms: int) -> tuple[list, int]:
        out = [WeightMoving(t, round(self.last_g, 1))]
        if self.rng.random() < self.p.false_settle_rate:
            shift = self.rng.choice((-1, 1)) * self.rng.uniform(3.0, self.p.false_settle_g)
            tm = t + ms // 2
            g = self.true_g + shift
            out.append(WeightSettled(tm, round(g, 1), round(g - self.last_g, 1), 600, self.sigma))
            self.last_g = g
        settle = int(self.rng.uniform(400, 900))
        return out + self._settle(t + ms, settle), t + ms + settle


class BridgeScale:
    """The scale simulated byte for byte: ``cart.sim.scale.SimScale`` (physical basket model,
    simulated bridge speaking the wire protocol) read by the real driver core and signal
    pipeline, in simulated time. Same interface as ``ModelledScale``; about 15 ms of CPU per
    placement, so the bench uses it with ``--scale bridge`` (or to calibrate the model)."""

    def __init__(
        self, profile: Profile, seed: int, t0_ms: int = T0, *, config=None, clock=None
    ) -> None:
        from cart.common.clock import ManualClock
        from cart.sim.scale import SimScale

        self.clock = clock or ManualClock(t0_ms)
        self.sim = SimScale(seed=seed, profile=profile.name, clock=self.clock, config=config)
        self.rng = random.Random(seed + 4242)
        self.sim.run_until(t0_ms + 500)

    def _now(self, t: int) -> int:
        return max(int(t), self.clock.now_ms())

    def catch_up(self, t: int) -> list:
        """Events up to ``t`` (the scale keeps reporting while the shopper does other things)."""
        if t <= self.clock.now_ms():
            return []
        return self._run(t)[0]

    def _run(self, until: int) -> tuple[list, int]:
        evs = [e for e in self.sim.run_until(until) if isinstance(e, (WeightSettled, WeightMoving))]
        settled = [e.t_ms for e in evs if isinstance(e, WeightSettled)]
        return evs, (settled[-1] if settled else until)

    def place(self, t: int, key: str, grams: float, bag: bool = False) -> tuple[list, int]:
        t = self._now(t)
        pl = self.sim.place(
            key, grams, self.rng.uniform(0.2, 0.8), self.rng.uniform(0.2, 0.8), t_ms=t, bag=bag
        )
        return self._run(pl.t_settle_ms + 700)

    def remove(self, t: int, key: str) -> tuple[list, int]:
        t = self._now(t)
        pl = self.sim.remove(key, t_ms=t)
        return self._run(pl.t_settle_ms + 700)

    def push(self, t: int, ms: int) -> tuple[list, int]:
        t = self._now(t)
        end = self.sim.push(ms, t_ms=t)
        return self._run(end + 1500)


def calibrate_scale(profile: Profile, n: int = 40, seed: int = 99, config=None) -> dict:
    """Measure the real pipeline's settled-change error on ``n`` simulated placements
    (5 g to 5 kg, pushes between): the σ the modelled scale then uses, in the same run.
    ``config``: the scale's physics (``cart.sim.scale_model.ScaleSimConfig``; default: the
    profile's)."""
    rig = BridgeScale(profile, seed, config=config)
    rng = random.Random(seed)
    t = T0 + 1000
    errs: list[float] = []
    settles: list[int] = []
    false_changes = 0
    for i in range(n):
        g = math.exp(rng.uniform(math.log(5.0), math.log(5000.0)))
        evs, t_end = rig.place(t, f"c{i}", g)
        d = sum(e.delta_g for e in evs if isinstance(e, WeightSettled))
        errs.append(d - g)
        settles += [e.settle_ms for e in evs if isinstance(e, WeightSettled) and e.delta_g]
        evs, t_end = rig.push(t_end + 2000, int(rng.uniform(2000, 6000)))
        false_changes += sum(
            1 for e in evs if isinstance(e, WeightSettled) and abs(e.delta_g) >= 6.0
        )
        t = t_end + 3000
    errs.sort(key=abs)
    p50 = abs(errs[len(errs) // 2])
    p95 = abs(errs[min(len(errs) - 1, int(0.95 * len(errs)))])
    settles.sort()
    return {
        "placements": n,
        "delta_error_g_p50": round(p50, 2),
        "delta_error_g_p95": round(p95, 2),
        "reading_sigma_g": round(max(0.2, p50 / 0.6745 / math.sqrt(2)), 3),
        "settle_ms_p50": settles[len(settles) // 2] if settles else None,
        "false_changes_per_push": round(false_changes / n, 4),
    }


class ModelledVision:
    """Camera verdicts drawn from a stated confusion model: the right fine label is top-1 with
    ``acc``; otherwise a label of the same coarse class (60 %) or any other label leads and the
    right one is second or third (70 %) or absent. Probabilities are drawn like a softmax's."""

    def __init__(self, labels: list[tuple[str, str]], acc: float, rng: random.Random) -> None:
        self.labels = sorted(set(labels))
        self.coarse: dict[str, list[str]] = {}
        for fine, coarse in self.labels:
            self.coarse.setdefault(coarse, []).append(fine)
        self.fine = [f for f, _ in self.labels]
        self.coarse_of = dict(self.labels)
        self.acc, self.rng = acc, rng

    def verdict(self, label: str | None) -> tuple[tuple[str, float], ...] | None:
        rng = self.rng
        if label is None or label not in self.coarse_of:
            # something the classifier was not trained on: a diffuse guess
            picks = rng.sample(self.fine, 5)
            ps = sorted((rng.uniform(0.05, 0.35) for _ in picks), reverse=True)
            return tuple(zip(picks, ps, strict=True))
        others = [f for f in self.fine if f != label]
        if rng.random() < self.acc:
            p1 = rng.uniform(0.55, 0.99)
            rest = rng.sample(others, 4)
            ps = [p1] + sorted((rng.uniform(0, 1 - p1) / 4 for _ in rest), reverse=True)
            return tuple(zip([label] + rest, ps, strict=True))
        sib = [f for f in self.coarse[self.coarse_of[label]] if f != label]
        lead = rng.choice(sib) if sib and rng.random() < 0.6 else rng.choice(others)
        p1 = rng.uniform(0.35, 0.9)
        rest = rng.sample([f for f in others if f != lead], 4)
        if rng.random() < 0.7:
            rest[rng.randrange(2)] = label
        ps = [p1] + sorted((rng.uniform(0, 1 - p1) / 2 for _ in rest), reverse=True)
        return tuple(zip([lead] + rest, ps, strict=True))


class PerfectVision:
    """A camera that always names the right label (p = 0.95): for scenarios that test the
    reconciler's logic rather than the classifier."""

    def verdict(self, label: str | None):
        if label is None:
            return (("Lemon", 0.2), ("Lime", 0.2))
        return ((label, 0.95), ("Lemon", 0.02))


class NoVision(PerfectVision):
    """A camera that never sees an item put in (hidden by the shopper's hand or another item),
    only one the shopper holds up to it when asked: for scenarios where the weight and the
    scans must decide."""

    blind = True


def scenario_vision(camera: str):
    """The camera a scenario asks for: perfect, none, or None (the bench's default)."""
    if camera == "perfect":
        return lambda seed: PerfectVision()
    if camera == "none":
        return lambda seed: NoVision()
    return None


class Rig:
    """The simulated devices of one cart: scanner bytes through the real parser (when the
    scanner driver is present), a scale, a camera model."""

    def __init__(
        self,
        profile: Profile,
        labels: list[tuple[str, str]],
        seed: int,
        vision=None,
        scale: str = "model",
        scale_sigma_g: float | None = None,
    ) -> None:
        self.rng = random.Random(seed * 7919 + 17)
        self.profile = profile
        if scale == "bridge":
            self.scale = BridgeScale(profile, seed)
        else:
            self.scale = ModelledScale(profile, self.rng, sigma_g=scale_sigma_g)
        self.vision = vision or ModelledVision(labels, 0.86, self.rng)
        try:
            from cart.sim.scanner import ScannerSim, aim_for
            from drivers.scanner import ScanDecoder, ScannerConfig

            self._sim = ScannerSim("trip", seed=seed)
            self._aim = aim_for
            self._dec = ScanDecoder(ScannerConfig(name="trip"))
        except ImportError:  # the scanner driver is not installed: plain events
            self._sim = self._dec = None
            self._aim = lambda code: "]C0" if len(code) in (4, 5) else "]E0"

    def scan(self, t: int, code: str) -> list:
        if self.rng.random() < self.profile.scan_misread_rate:
            t += int(self.rng.uniform(700, 2000))  # no read; the shopper tries again
        aim = self._aim(code)
        if self._dec is None:
            return [Scan(t, code, aim, "scanner:trip")]
        return self._dec.feed(self._sim.frame(code, aim), t)

    def view(self, t: int, label: str | None, *, held: bool = False) -> list:
        if not held and getattr(self.vision, "blind", False):
            return []
        if not held and self.rng.random() >= self.profile.camera_view_rate:
            return []
        top = self.vision.verdict(label)
        return [VisionVerdict(t, top, "camera:basket")] if top else []


# ---- one trip -----------------------------------------------------------------------------


@dataclass
class TripResult:
    seed: int
    cheat: str | None
    honest: bool
    checked_out: bool
    staff: bool
    review: bool
    age_check: bool
    bill_minor: int
    truth_minor: int
    exact: bool
    caught: bool | None
    alerts: int
    false_alerts: int
    kinds: dict[str, int] = field(default_factory=dict)
    log: list = field(default_factory=list)
    same_items: bool = True  # every product billed the right number of times (weights aside)
    # questions that needed an answer (by the shopper, or staff at check-out), by kind
    prompts: dict[str, int] = field(default_factory=dict)
    open_at_pay: dict[str, int] = field(default_factory=dict)  # questions left for staff, by kind


class TripRunner:
    """Plays trips against the whole cart: ``FusionSession`` over the core basket and an
    in-memory journal (the same code path as on the cart, without fsync)."""

    def __init__(
        self,
        store,
        profile: Profile,
        *,
        config=None,
        vision_factory=None,
        weights=None,
        keep_log: bool = False,
        scale: str = "model",
        scale_sigma_g: float | None = None,
    ) -> None:
        from cart.fusion.store import StoreProducts

        self.store = store
        self.products = StoreProducts(store)
        self.catalogue = self.products
        self.profile = profile
        self.config = config or FusionConfig()
        self.labels = [(p.label, p.coarse or p.label) for p in self.products.products() if p.label]
        self.vision_factory = vision_factory
        self.weights = weights
        self.keep_log = keep_log
        self.scale = scale
        self.scale_sigma_g = scale_sigma_g

    def run(self, trip: Trip) -> TripResult:
        return _Play(self, trip).run()


class _Play:
    def __init__(self, runner: TripRunner, trip: Trip) -> None:
        from cart.basket.journal import Journal
        from cart.fusion.session import FusionSession

        self.r, self.trip = runner, trip
        vision = runner.vision_factory(trip.seed) if runner.vision_factory else None
        self.rig = Rig(
            runner.profile, runner.labels, trip.seed, vision, runner.scale, runner.scale_sigma_g
        )
        self.journal = Journal(":memory:")
        self.fs = FusionSession.start(
            self.journal,
            runner.store,
            T0,
            config=runner.config,
            weights=runner.weights,
            products=runner.products,
        )
        self._shopper_state()

    def _shopper_state(self) -> None:
        """What the shopper knows and the score keeps, before the first step."""
        self.rng = random.Random(self.trip.seed * 31 + 5)
        self.t = T0
        self.lines: dict[int, LineAdded] = {}
        self.flags: dict[int, object] = {}
        self.flag_legit: dict[int, bool] = {}
        self.flag_kind: dict[int, str] = {}
        self.kinds: dict[str, int] = {}
        self.staff = False
        self.checked_out = False
        self.log: list = []
        # the shopper's own account: what went into the cart without being billed yet
        self.owed: list[tuple[str, TruthItem | float]] = []  # ("item"|"produce"|"bag", x)
        self.extra_scans: list[TruthItem] = []  # scanned twice: the spare scan
        self.removed: list[TruthItem] = []
        self.shown: set[int] = set()
        self.next_scan: TruthItem | None = None
        self.staff_reasons: set[str] = set()
        self._shown_flags: set[int] = set()
        self.last_placed: TruthItem | None = None
        self.group_size = 1
        self.preselected: list[TruthItem] = []
        self.bags = 0
        self.group_extra: list[TruthItem] = []
        self._updating: str | None = None  # the kind of an alert being re-raised
        self._rescanned: set[int] = set()
        self.scanned: set[int] = set()  # items the shopper scanned (or scanned a code for)
        # questions that needed an answer: the first id of each (a re-raise keeps it) -> kind
        self.prompts: dict[int, str] = {}
        self._origin: dict[int, int] = {}  # a re-raised question's id -> its first id
        self._updated_from: int | None = None
        self.open_at_pay: dict[str, int] = {}  # questions left for staff at check-out, by kind

    # -- plumbing ---------------------------------------------------------------------------

    def feed(self, xs) -> None:
        for x in sorted(xs, key=lambda e: e.t_ms):
            self.t = max(self.t, x.t_ms)
            effects = self.fs.handle(x)
            if self.r.keep_log:
                self.log.append(("in", x))
                self.log.extend(("out", e) for e in effects)
            for e in effects:
                self._effect(e)

    def _effect(self, e) -> None:
        if isinstance(e, LineAdded):
            self.lines[e.line_id] = e
            if e.weight_g is not None:  # chosen produce got weighed: nothing left to choose
                for it in self.preselected:
                    if (it.claimed or it.product).id == e.product_id and abs(
                        it.net_g - e.weight_g
                    ) <= max(15.0, 0.1 * it.net_g):
                        self.preselected.remove(it)
                        break
        elif isinstance(e, LineRemoved):
            self.lines.pop(e.line_id, None)
        elif isinstance(e, FlagRaised):
            self.flags[e.flag.id] = e.flag
            self.flag_kind[e.flag.id] = e.flag.kind
            if self._updating == e.flag.kind:
                # the same question, reworded or grown (the reconciler re-raises it under a
                # new id so the journal shows both): one alert for the shopper, not two
                self._updating = None
                if self._updated_from is not None:
                    self._origin[e.flag.id] = self._origin.get(
                        self._updated_from, self._updated_from
                    )
                return
            self.kinds[e.flag.kind] = self.kinds.get(e.flag.kind, 0) + 1
            self.flag_legit.setdefault(e.flag.id, self._legit(e.flag))
        elif isinstance(e, FlagResolved):
            self.flags.pop(e.flag_id, None)
            self._updating = e.kind if e.resolution == "updated" else None
            self._updated_from = e.flag_id if e.resolution == "updated" else None
        elif isinstance(e, CheckedOut):
            self.checked_out = True

    def _legit(self, f) -> bool:
        """Did the shopper's own behaviour give the cart a reason to ask?"""
        if f.kind in (
            AlertKind.AGE_CHECK,
            AlertKind.QUANTITY,
            AlertKind.WHICH_REMOVED,
            AlertKind.TAKE_OUT,
        ):
            return True
        if f.kind in (AlertKind.SCAN_ADDED, AlertKind.WEIGH_PRODUCE):
            return (
                bool(self.owed or self.group_extra or self.preselected)
                or self.next_scan is not None
            )
        if f.kind == AlertKind.PLACE_SCANNED:
            return bool(self.extra_scans) or self.trip.cheat == "scanned_not_placed"
        return False

    def advance(self, dt: int) -> None:
        self.t += max(0, int(dt))
        evs = self.rig.scale.catch_up(self.t)
        if evs:
            self.feed(evs)
        for e in self.fs.tick(self.t):
            if self.r.keep_log:
                self.log.append(("out", e))
            self._effect(e)

    # -- shopper steps ----------------------------------------------------------------------

    def item(self, i: int) -> TruthItem:
        return self.trip.items[i]

    def run(self) -> TripResult:
        ops = self.trip.ops
        for k, op in enumerate(ops):
            nxt = ops[k + 1] if k + 1 < len(ops) else None
            self.next_scan = None
            if (
                nxt is not None
                and nxt.kind == "scan"
                and op.kind == "place"
                and nxt.items
                and nxt.items[0] in op.items
            ):
                self.next_scan = self.item(nxt.items[0])
            self.advance(op.dt_ms)
            self.step(op)
            if op.kind != "checkout":
                self.answer()
        return self.score()

    def step(self, op: Op) -> None:
        """Play one shopper operation on the simulated devices."""
        getattr(self, f"_step_{op.kind}")(op)

    def _step_scan(self, op: Op) -> None:
        rig, t = self.rig, self.t
        it = self.item(op.items[0])
        code = op.code or _code(it.claimed or it.product)
        evs = rig.scan(t, code)
        self.feed(evs)
        if any(o[0] == "item" and o[1] is it for o in self.owed):
            self.owed = [o for o in self.owed if o[1] is not it]
        elif it.idx in self.shown:
            self.extra_scans.append(it)  # scanned a second time
        self.shown.update(op.items)  # a quantity group: one scan for all of them
        self.scanned.update(op.items)
        self.group_extra += [self.item(i) for i in op.items[1:]]

    def _step_select_produce(self, op: Op) -> None:
        t = self.t
        it = self.item(op.items[0])
        code = op.code or _code(it.claimed or it.product)
        self.feed([A.SelectProduce(t, None, code, it.bagged)])
        self.shown.add(it.idx)
        self.preselected.append(it)

    def _step_place(self, op: Op) -> None:
        rig, t = self.rig, self.t
        its = [self.item(i) for i in op.items]
        evs, sevs, t_end = [], [], t
        for k, it in enumerate(its):  # several items: one after the other
            at = t if k == 0 else t_end + int(self.rng.uniform(150, 600))
            # the camera sees each item entering, just before its weight settles
            evs += rig.view(at + 200, it.product.label)
            e, t_end = rig.scale.place(at, f"i{it.idx}", it.grams, it.bagged)
            sevs += e
        self.last_placed = its[0]
        self.group_size = len(its)
        for it in its:  # what the shopper knows they still owe, before the cart asks
            it.in_cart = True
            if it.idx not in self.shown:
                if it.product.by_weight:
                    self.owed.append(("produce", it))
                elif it.cheat is None:
                    self.owed.append(("item", it))
                self.shown.add(it.idx)
        back = [it for it in its if it in self.removed]
        for it in back:
            self.removed.remove(it)
        self.feed(evs + sevs)
        self.t = max(self.t, t_end)
        for it in back:  # put back: if the screen did not bill it again, they owe it
            pid = it.product.id
            billed = sum(1 for ln in self.lines.values() if ln.product_id == pid)
            have = sum(1 for x in self.trip.items if x.in_cart and x.product.id == pid)
            if billed < have and it.cheat is None:
                self.owed.append(("produce" if it.product.by_weight else "item", it))

    def _step_remove(self, op: Op) -> None:
        rig, t = self.rig, self.t
        it = self.item(op.items[0])
        sevs, t_end = rig.scale.remove(t, f"i{it.idx}")
        it.in_cart = False
        self.removed.append(it)
        self.feed(sevs)
        self.t = max(self.t, t_end)

    def _step_bag(self, op: Op) -> None:
        rig, t = self.rig, self.t
        self.bags += 1
        self.owed.append(("bag", op.grams))
        sevs, t_end = rig.scale.place(t, f"bag{self.bags}", op.grams)
        self.feed(rig.view(t + 200, None) + sevs)
        self.t = max(self.t, t_end)

    def _step_push(self, op: Op) -> None:
        rig, t = self.rig, self.t
        sevs, t_end = rig.scale.push(t, op.ms)
        self.feed(sevs)
        self.t = max(self.t, t_end)

    def _step_checkout(self, _op: Op) -> None:
        self.checkout()

    # -- answering the cart -----------------------------------------------------------------

    def answer(self) -> None:
        cheat = self.trip.cheat
        for _ in range(8):
            open_flags = sorted(self.flags.values(), key=lambda f: f.id)
            acted = False
            for f in open_flags:
                if f.id not in self.flags:
                    continue
                if self._answer(f, cheat):
                    acted = True
            if not acted:
                return

    def _answer(self, f, cheat) -> bool:
        self.advance(int(self.rng.uniform(1500, 4000)))
        t = self.t
        if f.needs_staff:
            return False
        answer = _ANSWERS.get(f.kind)
        acted = getattr(self, answer)(f, cheat, t) if answer is not None else False
        if acted:
            self.prompted(f)
        return acted

    def prompted(self, f) -> None:
        """``f`` needed an answer (the shopper gave one, or staff did at check-out)."""
        self.prompts.setdefault(self._origin.get(f.id, f.id), str(f.kind))

    def _answer_unscanned(self, f, cheat, t) -> bool:
        """Something weighed but not billed (scan it, choose it, count it, or declare it)."""
        if self.next_scan is not None:
            return False  # about to scan it anyway
        extra = next(
            (
                it
                for it in self.group_extra
                if abs(it.grams - (f.grams or 0.0)) <= max(15.0, 0.1 * it.grams)
            ),
            self.group_extra[0] if self.group_extra and f.kind != AlertKind.WEIGH_PRODUCE else None,
        )
        if extra is not None:  # one more of what they scanned once: scan it too
            self.group_extra.remove(extra)
            self.feed(self.rig.scan(t, _code(extra.product)))
            return True
        pre = next(
            (
                it
                for it in self.preselected
                if abs(it.grams - (f.grams or 0.0)) <= max(15.0, 0.1 * it.grams)
            ),
            None,
        )
        if pre is not None:  # produce they chose before placing: choose it again here
            self.preselected.remove(pre)
            self.feed([A.SelectProduce(t, f.id, _code(pre.claimed or pre.product), pre.bagged)])
            return True
        if f.kind == AlertKind.QUANTITY and self._fits_owed(f) is None:
            return self._answer_quantity(f, cheat, t)
        it = self.last_placed
        if (
            not self.owed
            and f.kind == AlertKind.SCAN_ADDED
            and it is not None
            and it.idx in self.scanned
            and not it.product.by_weight
            and f.id not in self._rescanned
            and abs(it.grams - (f.grams or 0.0)) <= max(15.0, 0.1 * it.grams)
        ):
            # "scan the item you just added": they scanned it already, so they scan it
            # again (a cheater scans the code they used)
            self._rescanned.add(f.id)
            self.feed(self.rig.scan(t, _code(it.claimed or it.product)))
            return True
        if not self.owed:
            if (
                cheat == "never_scanned"
                and f.kind == AlertKind.SCAN_ADDED
                and f.id not in self.shown_flags()
            ):
                self._shown_flags.add(f.id)
                self.feed([A.DeclarePersonal(t, f.id)])  # the cheater's lie
                return True
            return False
        i = self._owed_for(f.grams or 0.0)
        what, x = self.owed[i]
        g = x if what == "bag" else x.grams
        if abs(g - (f.grams or 0.0)) > max(15.0, 0.1 * g):
            return False  # not what they put in: they cannot answer this one
        self.owed.pop(i)
        if what == "bag":
            self.feed([A.DeclarePersonal(t, f.id)])
        elif what == "produce":
            self.feed([A.SelectProduce(t, f.id, _code(x.product), x.bagged)])
        else:
            self.feed(self.rig.scan(t, _code(x.product)))
        return True

    def _answer_place_scanned(self, f, cheat, t) -> bool:
        """A scanned item the scale has not seen: cancel a spare scan."""
        spare = next(
            (
                it
                for it in self.extra_scans
                if self.lines.get(f.line_id) and self.lines[f.line_id].product_id == it.product.id
            ),
            None,
        )
        if spare is not None:
            self.extra_scans.remove(spare)
            self.feed([A.CancelScan(t, f.id)])
            return True
        ln = self.lines.get(f.line_id)
        if cheat is None and ln is not None:
            # honest: more of that product on the bill than in the cart: the spare goes
            pid = ln.product_id
            have = sum(1 for x in self.trip.items if x.in_cart and x.product.id == pid)
            billed = sum(1 for x in self.lines.values() if x.product_id == pid)
            if billed > have:
                self.feed([A.CancelScan(t, f.id)])
                return True
        return False

    def _answer_which_removed(self, f, cheat, t) -> bool:
        """Which item came out: the shopper knows what they took."""
        for c in f.candidates:
            if not c.key.startswith("line:"):
                continue  # "my own bag": the honest shopper knows it stayed
            lid = int(c.key.split(":")[1])
            ln = self.lines.get(lid)
            if ln and self.removed and self.removed[-1].product.id == ln.product_id:
                self.feed([A.PickRemoved(t, f.id, lid)])
                return True
        return False

    def _answer_looks_different(self, f, cheat, t) -> bool:
        """The camera doubts the item: show it again, once."""
        if f.id in self.shown_flags():
            return False
        self._shown_flags.add(f.id)
        ln = self.lines.get(f.line_id)
        it = next(
            (
                x
                for x in reversed(self.trip.items)
                if x.in_cart and ln is not None and (x.claimed or x.product).id == ln.product_id
            ),
            self.last_placed,
        )
        self.feed([A.ShowAgain(t, f.id)])  # the shopper shows the item it asks about
        self.feed(self.rig.view(t + 1500, it.product.label if it else None, held=True))
        return True

    def _fits_owed(self, f):
        if not self.owed:
            return None
        i = self._owed_for(f.grams or 0.0)
        what, x = self.owed[i]
        g = x if what == "bag" else x.grams
        return i if abs(g - (f.grams or 0.0)) <= max(15.0, 0.1 * g) else None

    def _answer_quantity(self, f, cheat, t) -> bool:
        i = self._owed_for(f.grams or 0.0)
        if (
            cheat is None
            and self.owed
            and self.owed[i][0] == "item"
            and abs(self.owed[i][1].grams - (f.grams or 0.0)) < 0.05 * self.owed[i][1].grams
        ):
            _, x = self.owed.pop(i)  # not more of those: the item they forgot to scan
            self.feed(self.rig.scan(t, _code(x.product)))
            return True
        n = None
        if (
            cheat is None
            and self.last_placed is not None
            and self.last_placed.product.name not in f.message
        ):
            return False  # not what they put in: they cannot answer that (staff will)
        if cheat is None and self.last_placed is not None:  # honest: they count them
            pid = self.last_placed.product.id
            have = sum(1 for x in self.trip.items if x.in_cart and x.product.id == pid)
            billed = sum(1 for ln in self.lines.values() if ln.product_id == pid)
            if have <= billed:
                return False  # every one they put in is on the bill: "no", which staff hear
            n = max(1, round((f.grams or 0.0) / self.last_placed.grams))
            if not f.message.startswith("Looks like") or " more " not in f.message:
                n = self.group_size
        self.feed([A.ConfirmQuantity(t, f.id, n)])
        if f.id not in self.flags and n:
            pid = self.last_placed.product.id if self.last_placed else None
            for _ in range(n):
                it = next((x for x in self.group_extra if x.product.id == pid), None)
                if it is not None:
                    self.group_extra.remove(it)
        return f.id not in self.flags

    def _owed_for(self, grams: float) -> int:
        """The shopper knows what they just put in: the unbilled thing whose weight fits."""
        best, best_d = 0, math.inf
        for i, (what, x) in enumerate(self.owed):
            g = x if what == "bag" else x.grams
            d = abs(g - grams)
            if d < best_d:
                best, best_d = i, d
        return best

    def shown_flags(self) -> set:
        return self._shown_flags

    def checkout(self) -> None:
        self.feed([A.Checkout(self.t)])
        if self.checked_out:
            return
        # questions left: the honest shopper answers what they can, then staff come
        self.answer()
        self.advance(3000)
        self.feed([A.Checkout(self.t)])
        if self.checked_out:
            return
        self.staff = True
        self.staff_reasons = {f.kind for f in self.flags.values()}
        for f in self.flags.values():
            self.prompted(f)
            self.open_at_pay[str(f.kind)] = self.open_at_pay.get(str(f.kind), 0) + 1
        self.advance(60_000)
        self.feed([A.CallStaff(self.t), A.StaffLogin(self.t + 1, STAFF_ID, STAFF_PIN)])
        for f in sorted(self.flags.values(), key=lambda f: f.id):
            self.feed([A.StaffResolve(self.t + 2, f.id, "approve", note="sim staff review")])
        self.feed([A.StaffLogout(self.t + 3), A.Checkout(self.t + 4)])

    # -- scoring ----------------------------------------------------------------------------

    def score(self) -> TripResult:
        from cart.basket.fold import AddLine, Basket, OpenSession, WeighProduce

        cat = self.r.products
        trip = self.trip
        snap = self.fs.snapshot()
        bill = snap.totals.total
        each_billed: dict[str, int] = {}
        weighed: list[tuple[str, float]] = []
        for ln in snap.lines:
            p = cat.get(ln.product_id)
            if p.by_weight:
                weighed.append((p.id, float(ln.grams or 0)))
            else:
                each_billed[p.id] = each_billed.get(p.id, 0) + ln.qty
        truth_basket = Basket(self.r.store, "truth")
        truth_basket.apply(
            OpenSession(t_ms=T0, store=self.r.store.config.id, catalog_digest=self.r.store.digest)
        )
        each_truth: dict[str, int] = {}
        truth_w: list[tuple[str, float]] = []
        slack = 0
        for it in trip.items:
            if not (it.in_cart or it.cheat == "scanned_not_placed"):
                continue
            lid = f"T{it.idx}"
            if it.product.by_weight:
                truth_w.append((it.product.id, it.net_g))
                slack += line_price(it.product, mpe_g(it.net_g), None)
                truth_basket.apply(
                    WeighProduce(
                        t_ms=T0, line=lid, plu=_plu(it.product), grams=max(1, round(it.net_g))
                    )
                )
            else:
                each_truth[it.product.id] = each_truth.get(it.product.id, 0) + 1
                truth_basket.apply(AddLine(t_ms=T0, line=lid, product=it.product.id))
        truth = truth_basket.snapshot().totals.total
        exact_each = each_billed == each_truth
        exact_w = len(weighed) == len(truth_w)
        if exact_w:
            for (pid, g), (tpid, tg) in zip(sorted(weighed), sorted(truth_w), strict=True):
                if pid != tpid or abs(g - tg) > mpe_g(tg):
                    exact_w = False
                    break
        # the same products and counts, only a weighed line outside the legal tolerance: the
        # scale's precision, not a product billed wrongly
        same_items = exact_each and sorted(p for p, _ in weighed) == sorted(p for p, _ in truth_w)
        staff = self.staff
        review = staff or not self.checked_out
        honest = trip.cheat is None
        age_only = staff and self.staff_reasons <= {AlertKind.AGE_CHECK}
        exact = honest and exact_each and exact_w and (not staff or age_only)
        caught = None
        if not honest:
            caught = review or bill >= truth - slack
        alerts = sum(self.kinds.values())
        false = sum(1 for ok in self.flag_legit.values() if not ok) if honest else 0
        return TripResult(
            trip.seed,
            trip.cheat,
            honest,
            self.checked_out,
            staff,
            review,
            age_only,
            bill,
            truth,
            exact,
            caught,
            alerts,
            false,
            dict(self.kinds),
            self.log,
            same_items=same_items,
            prompts=_count(self.prompts.values()),
            open_at_pay=dict(self.open_at_pay),
        )


def _count(kinds) -> dict[str, int]:
    out: dict[str, int] = {}
    for k in kinds:
        out[k] = out.get(k, 0) + 1
    return out


def _plu(p: Product) -> str:
    return next((c for c in p.codes if len(c) in (4, 5)), p.codes[0] if p.codes else "")


# What the simulated shopper does about each kind of question (the method that answers it).
_ANSWERS = {
    AlertKind.SCAN_ADDED: "_answer_unscanned",
    AlertKind.WEIGH_PRODUCE: "_answer_unscanned",
    AlertKind.QUANTITY: "_answer_unscanned",
    AlertKind.PLACE_SCANNED: "_answer_place_scanned",
    AlertKind.WHICH_REMOVED: "_answer_which_removed",
    AlertKind.LOOKS_DIFFERENT: "_answer_looks_different",
}
