"""Play one trip: ``TripRunner`` and the played trip (``_Play``): the shopper's state, feeding
the session, and each shopper step on the simulated devices."""

from __future__ import annotations

import random

from cart.fusion import actions as A
from cart.fusion.alerts import (
    AlertKind,
    CheckedOut,
    FlagRaised,
    FlagResolved,
    LineAdded,
    LineRemoved,
)
from cart.fusion.reconciler import FusionConfig
from cart.sim.shopper import Op, Profile, Trip, TruthItem, _code
from cart.sim.trips.answers import _Answers
from cart.sim.trips.rig import Rig
from cart.sim.trips.scales import T0
from cart.sim.trips.scoring import TripResult, _Scoring


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
        scale_sigma_g: float | tuple[float, ...] | None = None,
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


class _Play(_Answers, _Scoring):
    def __init__(self, runner: TripRunner, trip: Trip) -> None:
        from cart.basket.journal import Journal
        from cart.fusion.session import FusionSession

        self.r, self.trip = runner, trip
        vision = runner.vision_factory(trip.seed) if runner.vision_factory else None
        sigma = runner.scale_sigma_g
        if isinstance(sigma, tuple):  # one σ per drawn scale: the trip's seed picks its scale
            sigma = sigma[trip.seed % len(sigma)]
        self.rig = Rig(runner.profile, runner.labels, trip.seed, vision, runner.scale, sigma)
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
        self.removed_ms: int | None = None  # when the shopper last took an item out
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
        self.removed_ms = t_end
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
