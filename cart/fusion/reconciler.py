"""The reconciler: scans, settled weights, camera verdicts and screen actions in, basket changes
and alerts out.

Pure and deterministic: ``handle(x)`` takes one timestamped input (a ``cart.common.events`` device
event or a ``cart.fusion.actions`` action), in time order, and returns the effects (see
``cart.fusion.alerts``) for the basket, the journal and the screen. It never reads a clock and
never does I/O; feeding the same inputs again gives the same effects, so a session is replayed
from its journaled inputs.

How it keeps the basket right (details in docs/FUSION.md):

- A scan bills its item at once (the shopper sees the price) and leaves an *expectation*: that
  item should reach the scale. A settled weight change is explained, in this order, by: putting
  back something taken out unexplained; a subset of the pending scans (several items at once);
  produce chosen before placing; an item taken out a moment ago coming back; n × one pending
  product (a quantity question). What is left is an *unexplained placement*, and a question.
- A scan after the placement (place-then-scan) explains an unexplained placement (or part of
  one) whose weight fits. Expectations are matched against learned weights (mean, σ), with the
  scale's own noise added, at ``match_k`` σ.
- A weight drop is matched to what is on the scale: one product fits → its line leaves the
  bill with no question; several products fit → a picker; nothing fits → put it back.
- The camera's verdict on a placement is weighed against the scan (Bayes, with the weight as a
  second witness): a confident "that is something else" becomes "this does not look like ...".
- Nothing is silently dropped: an expectation not met in time is a question, and check-out is
  refused while any question is open.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cart.common.events import DeviceStatus, Scan, VisionVerdict, WeightMoving, WeightSettled
from cart.fusion import actions as A
from cart.fusion.alerts import (
    KINDS,
    Audit,
    Candidate,
    CheckedOut,
    Effect,
    Flag,
    FlagRaised,
    FlagResolved,
    LineAdded,
    LineRemoved,
    Notice,
)
from cart.fusion.learning import WeightModel
from cart.fusion.products import Lookup, Product, ProductSource
from cart.fusion.staff import StaffGate

_SQRT2PI = math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class FusionConfig:
    place_timeout_ms: int = 25_000  # a scanned item should be on the scale by then
    take_out_timeout_ms: int = 30_000  # a line deleted on screen: its item should leave by then
    min_change_g: float = 6.0  # smaller settled changes are not items (drift, crumbs)
    min_item_g: float = 15.0  # lighter changes with no camera sighting are load shifts
    scale_sigma_g: float = 1.5  # scale error σ when a settle reports no noise estimate
    match_k: float = 4.0  # a weight fits an expectation within match_k σ
    match_floor_g: float = 4.0  # ... and never tighter than this
    max_subset: int = 4  # items placed at once matched against pending scans
    max_quantity: int = 24
    quantity_window_ms: int = 15_000  # "n × the item just scanned" only soon after its scan
    produce_window_ms: int = 60_000  # produce chosen before placing waits this long
    answer_window_ms: int = 30_000  # a scan answers "scan the item you just added" this soon
    readd_window_ms: int = 120_000  # an item taken out and put back within this is re-billed
    verdict_before_ms: int = 4_000  # a camera verdict this long before a settle belongs to it
    verdict_after_ms: int = 1_500  # ... or this long after it
    recheck_window_ms: int = 10_000  # "show it again": the verdict must come this soon
    slump_ms: int = 3_000  # a small rise this soon after a produce placement is its rest
    undo_ms: int = 5_000  # a drop the weight comes straight back from this soon did not happen
    defer_below_g: float = 30.0  # lighter changes the camera did not see wait a moment ...
    defer_ms: int = 4_000  # ... this long, for the load to settle back (then nothing happened)
    vision_prior: float = 0.97  # prior that a scanned code names the item placed
    readd_prior: float = 0.5  # prior that an unscanned item of a removed item's weight is it
    vision_flag_below: float = 0.7  # posterior of the scanned product below this: an alert
    vision_min_alt: float = 0.05  # classifier labels weaker than this are not alternatives
    produce_vision_min: float = 0.35  # camera this sure of produce: ask "which produce?"
    personal_max_g: float = 600.0  # heavier "personal items" need staff, as do later ones
    personal_vision_max: float = 0.6  # camera this sure of a store product: not personal
    bag_tare_g: float = 5.0  # a store produce bag, when the product names no tare
    vision_price_margin: float = 0.20  # look-alikes dearer by more than this are alternatives
    produce_needs_view: bool = True  # produce the camera did not see must be shown to it
    use_vision: bool = True  # False: ignore camera verdicts (the bench's baseline)
    # the classifier's measured behaviour (``camera_confusion_from``): label -> {top-1 label:
    # share of that label's validation photos}, "" -> the share of a top-1 never measured.
    # With it, the camera's word for a label blends its probability with how often photos
    # of that label really come out as this verdict's top-1 (see docs/FUSION.md)
    camera_confusion: Mapping[str, Mapping[str, float]] | None = field(default=None, hash=False)
    confusion_weight: float = 0.5  # weight of the measured confusion in the blend
    confusion_alt: float = 0.2  # labels that come out as this top-1 this often: alternatives
    # the scanned product against its strongest look-alike, not the average of every label
    # above vision_min_alt (a smoother classifier lists more of them, and the average dilutes)
    best_alternative: bool = True
    joint_views: bool = True  # "show it again": judge both views together, not the last alone


def camera_confusion_from(verdicts: Mapping[str, Iterable], alpha: float = 0.1
                          ) -> dict[str, dict[str, float]]:
    """The classifier's measured confusion, for ``FusionConfig.camera_confusion``.

    ``verdicts``: label -> the top-k ``(label, probability)`` lists of its validation photos
    (what the shipped model said about photos of that label). Returns label -> {top-1 label:
    its smoothed share}, with "" the share of a top-1 never seen for that label (additive
    smoothing ``alpha`` over every label measured). It describes the model, not one photo:
    a model that calls a fifth of its oranges satsumas makes "satsumas" weak evidence against
    an orange, however sure it sounds."""
    if alpha <= 0:
        raise ValueError(f"confusion smoothing alpha must be positive, got {alpha!r}")
    n = max(1, len(verdicts))
    out: dict[str, dict[str, float]] = {}
    for label, rows in verdicts.items():
        counts: dict[str, int] = {}
        total = 0
        for top in rows:
            if not top:
                continue
            first = str(top[0][0])
            counts[first] = counts.get(first, 0) + 1
            total += 1
        if not total:
            continue
        denom = total + alpha * n
        row = {k: (c + alpha) / denom for k, c in counts.items()}
        row[""] = alpha / denom
        out[str(label)] = row
    return out


@dataclass
class _Line:
    id: int
    product: Product
    code: str
    t_ms: int
    expect_g: float  # expected gross weight on the scale
    expect_sigma: float
    weight_g: float | None = None  # billed net weight (by-weight lines)
    price_minor: int | None = None
    placed: bool = False
    measured_g: float | None = None
    deadline_ms: int | None = None
    flag_id: int | None = None  # its place_scanned alert
    measured_alone: bool = False  # measured_g is this item's own weight change
    readd_ms: int | None = None  # re-billed without a scan as an item put back, at this time


@dataclass
class _Placement:
    id: int
    t_ms: int
    grams: float
    verdict: tuple[tuple[str, float], ...] | None = None
    line_ids: list[int] = field(default_factory=list)
    flag_id: int | None = None
    recheck: bool = False
    recheck_ms: int = 0
    views: int = 1


@dataclass
class _Undo:
    """What the last weight drop was taken to be, in case the weight comes straight back (a
    push that shifted the load for a moment, an item lifted and put down again)."""

    t_ms: int
    before_g: float  # the settled weight before the drop
    lines: list = field(default_factory=list)  # billed lines taken out
    tare: list = field(default_factory=list)  # personal items taken out
    reopen: Flag | None = None  # an unexplained removal taken as put back (a rise)
    reopen_grams: float = 0.0


@dataclass
class _Deferred:
    """A light change the camera did not see, held a moment: a push that shifts the load
    settles back within a few seconds, and then nothing happened."""

    ev: WeightSettled
    t_ms: int
    before_g: float
    noise: float


@dataclass
class _Pending:
    """Produce chosen before it is placed."""

    product: Product
    code: str
    bagged: bool
    t_ms: int


@dataclass
class _Open:
    flag: Flag
    placement: _Placement | None = None
    product: Product | None = None
    count: int = 0  # quantity: how many still unbilled
    answered: int = 0  # quantity: how many the shopper scanned since it was asked
    deadline_ms: int | None = None


@dataclass(frozen=True, slots=True)
class ReplayedStaffLogin:
    """A staff login read back from the journal: its outcome, never its PIN."""

    t_ms: int
    staff_id: str
    replay: str  # "ok" | "wrong" | "locked"
    pin: str = ""


@dataclass(frozen=True, slots=True)
class FusionLine:
    """One of fusion's lines in ``FusionState`` (the screen's row is ``cart.app.view.LineView``)."""

    id: int
    product_id: str
    name: str
    code: str
    weight_g: float | None
    price_minor: int | None
    placed: bool


@dataclass(frozen=True, slots=True)
class FusionState:
    """What the screen shows from fusion: an immutable snapshot."""

    lines: tuple[FusionLine, ...]
    flags: tuple[Flag, ...]
    tare_g: float
    settled_g: float
    staff: str | None
    checked_out: bool


class Reconciler:
    def __init__(
        self,
        catalogue: ProductSource,
        *,
        config: FusionConfig | None = None,
        weights: WeightModel | None = None,
        staff: StaffGate | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.cfg = config or FusionConfig()
        self.weights = weights or WeightModel()
        self.staff = staff or StaffGate()
        self._lines: dict[int, _Line] = {}
        self._open: dict[int, _Open] = {}
        self._placements: dict[int, _Placement] = {}  # unexplained (flagged) placements
        self._tare: list[float] = []
        self._out: list[tuple[int, _Line]] = []  # (t removed, line) for re-adds
        self._expected_out: list[tuple[_Line, int]] = []  # (line deleted on screen, flag deadline)
        self._pending_produce: list[_Pending] = []
        self._settled = 0.0
        self._accounted = 0.0  # settled weight everything so far accounts for
        self._shifted_from: float | None = None  # weight before a small unexplained shift
        self._last_verdict: tuple[int, tuple[tuple[str, float], ...]] | None = None
        self._last_placement: _Placement | None = None
        self._last_unexplained: tuple[int, float] | None = None  # (alert, weight before it)
        self._last_scanned: _Line | None = None
        self._undo: _Undo | None = None
        self._deferred: _Deferred | None = None
        self._moving = False  # the platform moved since the last settle (a new action began)
        self._next_line = 1
        self._n_labels = max(10, len({p.label for p in catalogue.products() if p.label}))
        self._next_flag = 1
        self._next_place = 1
        self._t = 0
        self.checked_out = False
        self.flags_raised = 0

    # ---- public ---------------------------------------------------------------------------

    def handle(self, x) -> list[Effect]:
        out: list[Effect] = []
        t = int(x.t_ms)
        if t < self._t:
            out.append(Notice(t, "out_of_order", f"input at {t} ms is older than {self._t} ms"))
            t = self._t
        self._advance(t, out)
        if self.checked_out:
            out.append(Notice(t, "checked_out", "this basket is already paid"))
            return out
        h = _HANDLERS.get(type(x))
        if h is None:
            out.append(Notice(t, "unsupported", f"unsupported input {type(x).__name__}"))
            return out
        h(self, x, t, out)
        return out

    def advance(self, t_ms: int) -> list[Effect]:
        """Let simulated or real time pass with no input (expectations time out)."""
        out: list[Effect] = []
        if t_ms >= self._t and not self.checked_out:
            self._advance(int(t_ms), out)
        return out

    def state(self) -> FusionState:
        return FusionState(
            lines=tuple(
                FusionLine(ln.id, ln.product.id, ln.product.name, ln.code, ln.weight_g,
                         ln.price_minor, ln.placed)
                for ln in self._lines.values()
            ),
            flags=tuple(o.flag for o in self._open.values()),
            tare_g=sum(self._tare),
            settled_g=self._settled,
            staff=self.staff.current(self._t),
            checked_out=self.checked_out,
        )

    @property
    def open_flags(self) -> list[Flag]:
        return [o.flag for o in self._open.values()]

    # ---- time -----------------------------------------------------------------------------

    def _advance(self, t: int, out: list[Effect]) -> None:
        d = self._deferred
        if d is not None and t >= d.t_ms + self.cfg.defer_ms:
            self._deferred = None
            te = d.t_ms + self.cfg.defer_ms  # the same time whenever time is next told
            self._t = te
            self._apply_change(d.ev.grams - d.before_g, d.before_g, d.ev, te, d.noise, out)
        self._t = t
        for ln in self._lines.values():
            if not ln.placed and ln.flag_id is None and ln.deadline_ms is not None \
                    and t >= ln.deadline_ms:
                self._flag_place_scanned(ln, t, out)
        still = []
        for ln, deadline in self._expected_out:
            if t >= deadline:
                f = self._raise(out, t, "take_out",
                                f"You removed {ln.product.name} from the list: take it out of "
                                "the cart, or scan it again", grams=ln.measured_g,
                                line_id=ln.id)
                self._open[f.id].product = ln.product
                self._open[f.id].placement = _Placement(-ln.id, t, ln.measured_g or 0.0)
            else:
                still.append((ln, deadline))
        self._expected_out = still
        if self.staff.active is not None and self.staff.current(t) is None:
            out.append(Audit(t, "fusion.staff.timeout", ()))

    # ---- weights --------------------------------------------------------------------------

    def _sigma(self, p: Product) -> tuple[float, float]:
        e = self.weights.estimate(p)
        return e.mean_g, e.sigma_g

    def _tol(self, var: float, noise: float) -> float:
        return max(self.cfg.match_floor_g, self.cfg.match_k * math.sqrt(var + noise * noise))

    def _on_settled(self, ev: WeightSettled, t: int, out: list[Effect]) -> None:
        self._moving = False
        # The change is measured between two settled readings (the scale's own drift tracking
        # keeps each reading honest); changes below min_change_g are not items.
        prev = self._settled
        before = self._accounted
        self._settled = ev.grams
        r = ev.grams - before  # against the weight everything so far accounts for
        r2 = ev.grams - prev  # against the reading just before (brackets the action)
        noise = max(ev.noise_g, self.cfg.scale_sigma_g)
        d = self._deferred
        if d is not None:
            self._deferred = None
            if abs(ev.grams - d.before_g) <= self._tol(0.0, noise * 1.5):
                out.append(Audit(t, "fusion.load_shift",
                                 (("grams", round(d.ev.grams - d.before_g, 1)),)))
                return  # it settled back: nothing happened
            # it stayed: that light change first, then this one
            self._apply_change(d.ev.grams - d.before_g, d.before_g, d.ev, t, d.noise, out)
            before = self._accounted
            r = ev.grams - before
        back = self._last_unexplained
        if back is not None:
            fid, was = back
            if fid in self._open and abs(ev.grams - was) <= self._tol(0.0, noise):
                # back where it was before the last unexplained change (a push that shifted
                # the load, a hand resting on the basket): nothing happened
                self._last_unexplained = None
                o = self._open[fid]
                if o.placement is not None:
                    self._placements.pop(o.placement.id, None)
                self._resolve(out, t, fid, "weight came back", "cart")
                self._accounted = ev.grams
                return
        if self._undo is not None and self._undo_change(r, ev, t, noise, out):
            self._accounted = ev.grams
            return
        if 1.0 < r and self._merge_slump(r, t, out):
            self._accounted = ev.grams  # the rest of a bag that settled in two steps
            return
        if self._shifted_from is not None:
            was, self._shifted_from = self._shifted_from, None
            if abs(ev.grams - was) <= self._tol(0.0, noise):
                self._accounted = ev.grams  # the shifted load settled back: nothing happened
                return
        if abs(r) < self.cfg.min_change_g:
            if abs(r2) < 0.5 * self.cfg.min_change_g and abs(r) < 0.5 * self.cfg.min_change_g:
                self._accounted = ev.grams  # follow slow drift while nothing happens
            return
        if abs(r) < self.cfg.min_item_g and not self._verdict_near(t, ev.settle_ms) \
                and not self._expects_small(abs(r)):
            # lighter than anything the store sells, and the camera saw nothing go in or out:
            # the load shifted (a push, a bag folding), not an item
            self._shifted_from = before
            self._accounted = ev.grams
            out.append(Audit(t, "fusion.small_change", (("grams", round(r, 1)),)))
            return
        if abs(r) < self.cfg.defer_below_g and not self._verdict_near(t, ev.settle_ms):
            self._deferred = _Deferred(ev, t, before, noise)
            return
        if abs(r2) >= self.cfg.min_change_g and (r2 > 0) == (r > 0):
            r = r2  # the two readings around the action measure it best
        self._apply_change(r, before, ev, t, noise, out)

    def _apply_change(self, r: float, before: float, ev: WeightSettled, t: int, noise: float,
                      out: list[Effect]) -> None:
        """Explain a settled change of ``r`` grams from the level ``before``."""
        self._accounted = ev.grams
        self._last_unexplained = None
        self._undo = None
        n_flags = self._next_flag
        if r > 0:
            self._placed(r, t, ev.settle_ms, noise, out)
        else:
            self._removed(-r, t, noise, out)
        for fid in range(n_flags, self._next_flag):
            o = self._open.get(fid)
            if o is not None and o.flag.kind in ("scan_added", "weigh_produce",
                                                 "unexplained_removal", "which_removed"):
                self._last_unexplained = (fid, before)

    def _undo_change(self, r: float, ev: WeightSettled, t: int, noise: float,
                     out: list[Effect]) -> bool:
        """The weight came straight back to where it was before the last change. After a drop:
        whatever it took out is in the cart again (the same lines, no new question), unless
        the camera saw something else go in. After a rise taken for something put back: it is
        gone again, and so is the question about it."""
        u = self._undo
        if u is None or t - u.t_ms > self.cfg.undo_ms or \
                abs(ev.grams - u.before_g) > self._tol(0.0, noise * 1.5):
            return False
        self._undo = None
        if u.reopen is not None:
            if r >= 0:
                return False
            f = self._raise(out, t, "unexplained_removal", u.reopen.message,
                            grams=u.reopen_grams)
            self._open[f.id].placement = _Placement(0, t, u.reopen_grams)
            return True
        if r <= 0:
            return False
        v = self._last_verdict
        top = v[1] if v is not None and t - ev.settle_ms - self.cfg.verdict_before_ms <= v[0] \
            <= t else None
        for ln in u.lines:
            post = self._posterior(ln.product, ln.measured_g, top, dearer_only=False,
                                   prior=self.cfg.readd_prior)
            if post is not None and post < self.cfg.vision_flag_below:
                return False
        if top is not None:
            self._last_verdict = None
        for ln in u.lines:
            self._out = [(to, x) for to, x in self._out if x is not ln]
            new = self._add_line(out, t, ln.product, ln.code, weight_g=ln.weight_g,
                                 price_minor=ln.price_minor, placed=True, measured=ln.measured_g,
                                 expect=(ln.expect_g, ln.expect_sigma), alone=ln.measured_alone)
            out.append(Audit(t, "fusion.weight_returned", (("line_id", new.id),
                                                            ("was_line_id", ln.id))))
        self._tare.extend(u.tare)
        return True

    def _merge_slump(self, r: float, t: int, out: list[Effect]) -> bool:
        """A bag of produce slumps: the scale may settle once on most of it and again on the
        rest a moment later. A small rise right after a produce placement (or an unexplained
        one) is the same placement."""
        pl = self._last_placement
        if pl is None or t - pl.t_ms > self.cfg.slump_ms or r > 0.5 * pl.grams:
            return False
        if pl.flag_id is not None and pl.flag_id in self._open and pl.id in self._placements:
            o = self._open[pl.flag_id]
            if o.flag.kind in ("scan_added", "weigh_produce"):
                # the whole placement, explained afresh (it may be an item coming back, or
                # one that was scanned)
                total = pl.grams + r
                self._resolve(out, t, pl.flag_id, "updated", "cart")
                del self._placements[pl.id]
                if pl.verdict is not None:
                    self._last_verdict = (t, pl.verdict)
                self._placed(total, t, 0, self.cfg.scale_sigma_g, out)
                return True
            return False
        if len(pl.line_ids) == 1 and pl.line_ids[0] in self._lines:
            ln = self._lines[pl.line_ids[0]]
            if ln.product.by_weight and ln.weight_g is not None and ln.price_minor is None:
                del self._lines[ln.id]
                out.append(LineRemoved(t, ln.id, "re-weighed (the bag settled)"))
                new = self._add_line(out, t, ln.product, ln.code,
                                     weight_g=round(ln.weight_g + r, 1), placed=True,
                                     measured=(ln.measured_g or 0.0) + r)
                pl.line_ids = [new.id]
                pl.grams += r
                pl.t_ms = t
                return True
        return False

    def _verdict_near(self, t: int, settle_ms: int) -> bool:
        v = self._last_verdict
        return v is not None and t - settle_ms - self.cfg.verdict_before_ms <= v[0] <= t

    def _expects_small(self, g: float) -> bool:
        """A scanned item, a tare or a placement this light is expected to come or go."""
        tol = self.cfg.match_floor_g * 2
        return any(abs(ln.expect_g - g) <= tol + 3 * ln.expect_sigma
                   for ln in self._lines.values()) or \
            any(abs(x - g) <= tol for x in self._tare) or \
            any(abs(pl.grams - g) <= tol for pl in self._placements.values())

    def _verdict_for(self, t: int, settle_ms: int):
        v = self._last_verdict
        if v is not None and t - settle_ms - self.cfg.verdict_before_ms <= v[0] <= t:
            self._last_verdict = None
            return v[1]
        return None

    def _placed(self, r: float, t: int, settle_ms: int, noise: float, out: list[Effect]) -> None:
        cfg = self.cfg
        pl = _Placement(self._next_place, t, r, self._verdict_for(t, settle_ms))
        self._next_place += 1
        self._last_placement = pl
        # 1. putting back something taken out that nothing explained
        back = [(abs(o.placement.grams - r), -fid) for fid, o in self._open.items()
                if o.flag.kind == "unexplained_removal" and o.placement is not None
                and abs(o.placement.grams - r) <= self._tol(0.0, noise * 1.5)]
        if back:
            fid = -min(back)[1]
            o = self._open[fid]
            self._undo = _Undo(t, self._settled - r, reopen=o.flag, reopen_grams=o.placement.grams)
            self._resolve(out, t, fid, "put back", "cart")
            return
        # 2. a subset of the pending scans, unless produce was chosen after the last of them;
        # a scan whose item did not come in time is matched late only if the camera sees it
        # (without a view, a late item of that weight is as likely something else: ask)
        seen = dict(pl.verdict or ())
        pend = [ln for ln in self._lines.values() if not ln.placed and
                (ln.flag_id is None or seen.get(ln.product.label or "", 0.0) >= 0.3)]
        self._pending_produce = [pp for pp in self._pending_produce
                                 if t - pp.t_ms <= cfg.produce_window_ms]
        produce_first = bool(self._pending_produce) and (
            not pend or self._pending_produce[0].t_ms >= max(ln.t_ms for ln in pend))
        if pend and not produce_first:
            best = self._best_subset(r, [(ln, ln.expect_g, ln.expect_sigma**2) for ln in pend],
                                     noise, top=pl.verdict)
            if best is not None and len(best) == 1 and self._camera_vetoes(best[0].product, r,
                                                                          pl.verdict):
                best = None  # a wide fit the camera and the weight both say is another item
            if best is not None:
                for ln in best:
                    self._mark_placed(ln, t, out, r * ln.expect_g / sum(b.expect_g for b in best),
                                      alone=len(best) == 1)
                pl.line_ids = [ln.id for ln in best]
                if len(best) == 1:
                    ln = best[0]
                    if not ln.product.by_weight and ln.price_minor is None:
                        self._judge(pl, ln, t, out, learn=True)
                return
        # 3. produce chosen before it was placed (the camera then judges it like a scan)
        if self._pending_produce:
            pp = self._pending_produce.pop(0)
            tare = self._bag_tare(pp.product) if pp.bagged else 0.0
            net = r - tare
            if net > 0:
                ln = self._add_line(out, t, pp.product, pp.code, weight_g=round(net, 1),
                                    placed=True, measured=r)
                pl.line_ids = [ln.id]
                self._judge(pl, ln, t, out)
                return
        if pend and produce_first:
            best = self._best_subset(r, [(ln, ln.expect_g, ln.expect_sigma**2) for ln in pend],
                                     noise)
            if best is not None:
                for ln in best:
                    self._mark_placed(ln, t, out, r * ln.expect_g / sum(b.expect_g for b in best))
                pl.line_ids = [ln.id for ln in best]
                if len(best) == 1 and best[0].price_minor is None:
                    self._judge(pl, best[0], t, out, learn=True)
                return
        # 4. more of the item just scanned and placed, put in one by one (its scan said 1)
        last = self._last_scanned
        if last is not None and last.placed and last.id in self._lines and not pend and \
                t - last.t_ms <= cfg.quantity_window_ms and not last.product.by_weight and \
                last.price_minor is None:
            p = last.product
            mean, sig = self._sigma(p)
            n = round(r / mean) if mean > 0 else 0
            fits = [k for k in range(max(1, n - 2), n + 3)
                    if abs(r - k * mean) <= self._tol(k * sig * sig, noise)]
            post = self._posterior(p, None, pl.verdict)
            seen = bool(pl.verdict) and dict(pl.verdict).get(p.label or "", 0.0) >= 0.3
            telling = len(fits) == 1 and self._tol(sig * sig, noise) < mean / 3
            if fits and max(fits) <= cfg.max_quantity and \
                    (seen or (pl.verdict is None and telling)) \
                    and (post is None or post >= cfg.vision_flag_below):
                n = n if n in fits else fits[0]
                for fid, o in list(self._open.items()):  # the same question, grown
                    if o.flag.kind == "quantity" and o.product is not None and \
                            o.product.id == p.id and o.placement is not None and \
                            not o.placement.line_ids:
                        total = o.count + n
                        o.placement.grams += r
                        o.count = total
                        self._replace_flag(out, t, fid, grams=o.placement.grams,
                                           message=f"Looks like {total} more × {p.name}; you "
                                                   "scanned one. Confirm the quantity or scan "
                                                   "each one")
                        return
                f = self._raise(out, t, "quantity",
                                f"Looks like {n} more × {p.name}; you scanned one. Confirm the "
                                "quantity or scan each one", grams=r,
                                candidates=tuple(Candidate(str(k), f"{k} × {p.name}")
                                                 for k in fits))
                o = self._open[f.id]
                o.product, o.count, o.placement = p, n, pl
                pl.line_ids = []
                return
        # 5. an item taken out a moment ago, put back (unless the camera sees something else)
        best_out = None
        for i, (t_out, ln) in enumerate(self._out):
            if t - t_out > cfg.readd_window_ms:
                continue
            # the same physical item comes back: its own measured weight, to the scale's noise
            m = ln.measured_g if ln.measured_g is not None else ln.expect_g
            spread = 0.0 if ln.measured_alone or ln.weight_g is not None \
                else ln.expect_sigma**2
            z = abs(r - m) / self._tol(spread, noise * 1.5)
            # with no scan, the weight alone cannot tell the item put back from a new one of
            # the same weight: the camera must see it (every look-alike counts), else ask
            post = self._posterior(ln.product, r if ln.weight_g is None else None, pl.verdict,
                                   dearer_only=False, prior=cfg.readd_prior)
            if z <= 1.0 and post is not None and post >= cfg.vision_flag_below and \
                    (best_out is None or z < best_out[0]):
                best_out = (z, i)
        if best_out is not None:
            _, i = best_out
            _, old = self._out.pop(i)
            ln = self._add_line(out, t, old.product, old.code, weight_g=old.weight_g,
                                price_minor=old.price_minor, placed=True, measured=r)
            ln.readd_ms = t
            pl.line_ids = [ln.id]
            if old.weight_g is None:
                self._judge(pl, ln, t, out)
            return
        # 6. n × one pending product: ask to confirm the quantity
        by_prod: dict[str, list[_Line]] = {}
        for ln in pend:
            if not ln.product.by_weight and ln.price_minor is None:
                by_prod.setdefault(ln.product.id, []).append(ln)
        for lines in by_prod.values():
            p = lines[0].product
            mean, sig = self._sigma(p)
            if mean <= 0 or t - lines[-1].t_ms > cfg.quantity_window_ms:
                continue
            n = round(r / mean)
            fits = [k for k in range(max(len(lines) + 1, n - 2), n + 3)
                    if abs(r - k * mean) <= self._tol(k * sig * sig, noise)]
            if fits and max(fits) <= cfg.max_quantity:
                if n not in fits:
                    n = fits[0]
                post = self._posterior(p, None, pl.verdict)
                if post is not None and post < cfg.vision_flag_below:
                    continue  # the camera sees something else: not more of the same
                for ln in lines:
                    self._mark_placed(ln, t, out, mean)
                ask = (f"Looks like {n} × {p.name}; you scanned {len(lines)}. "
                       "Confirm the quantity or scan each one") if len(fits) == 1 else \
                    (f"How many {p.name} did you put in? Looks like {n}; you scanned "
                     f"{len(lines)}. Enter the number or scan each one")
                f = self._raise(out, t, "quantity", ask, grams=r,
                                candidates=tuple(Candidate(str(k), f"{k} × {p.name}")
                                                 for k in fits))
                o = self._open[f.id]
                o.product, o.count, o.placement = p, n - len(lines), pl
                pl.line_ids = [ln.id for ln in lines]
                return
        # 7. unexplained: ask
        self._flag_unexplained(pl, t, out)

    def _flag_unexplained(self, pl: _Placement, t: int, out: list[Effect]) -> None:
        sugg = self._produce_suggestions(pl.verdict)
        if sugg and sugg[0].score >= self.cfg.produce_vision_min:
            f = self._raise(out, t, "weigh_produce",
                            f"Which produce did you add ({pl.grams:.0f} g)?", grams=pl.grams,
                            candidates=tuple(sugg[:3]))
        else:
            f = self._raise(out, t, "scan_added",
                            f"Scan the item you just added ({pl.grams:.0f} g)", grams=pl.grams)
        pl.flag_id = f.id
        self._open[f.id].placement = pl
        self._placements[pl.id] = pl

    def _produce_suggestions(self, top) -> list[Candidate]:
        if not top:
            return []
        seen: set[str] = set()
        cands = []
        for label, prob in top:
            for p in self.catalogue.by_label(label):
                if p.by_weight and p.id not in seen:
                    seen.add(p.id)
                    code = p.codes[0] if p.codes else p.id
                    cands.append(Candidate(code, p.name, float(prob)))
        return cands

    def _camera_loglik(self, p: Product, top) -> float:
        """log P(the camera's verdict | the item is ``p``), up to a constant shared by all
        products: its probability for ``p``'s label (at most the mass the top-k left when the
        label is not in it); a product the camera has no class for gets the average."""
        probs = dict(top)
        if not p.label:
            return math.log(1.0 / self._n_labels)
        rest = max(0.0, 1.0 - sum(probs.values()))
        floor = max(1e-4, min(0.5 * min(probs.values()),
                              rest / max(1, self._n_labels - len(probs))))
        return math.log(max(probs.get(p.label, floor), 1e-4))

    def _best_subset(self, r: float, items, noise: float, *, leave_cost: float = 0.0,
                     top=None):
        """The subset of ``items`` (obj, mean, var) whose total best fits ``r``, or None.

        The smallest set that fits wins (the scale reports items placed one after the other
        as separate changes); among sets of that size, the best Gaussian log-likelihood, minus
        ``leave_cost`` for each item left out and a little for each minute of age.
        """
        items = items[-12:][::-1]  # the 12 most recent expectations, newest first
        best = None
        n = len(items)
        for k in range(1, min(self.cfg.max_subset, n) + 1):
            for combo in itertools.combinations(items, k):
                m = sum(c[1] for c in combo)
                var = sum(c[2] for c in combo)
                z = abs(r - m) / self._tol(var, noise)
                if z <= 1.0:
                    # Gaussian log-likelihood: a narrow expectation that fits beats a wide one
                    # that fits as well; what was scanned last is most likely what went in,
                    # so older expectations pay a little per minute of age
                    s2 = var + noise * noise
                    age = sum(max(0, self._t - getattr(c[0], "t_ms", self._t)) for c in combo)
                    score = -0.5 * (r - m) ** 2 / s2 - 0.5 * math.log(s2) \
                        - leave_cost * (n - k) - 0.3 * age / 60_000
                    if top and k == 1 and hasattr(combo[0][0], "product"):
                        # one item: the camera is a second witness of which scan it was
                        score += self._camera_loglik(combo[0][0].product, top)
                    if best is None or score > best[0] + 1e-9:
                        best = (score, combo)
            if best is not None:
                break  # items mostly arrive one at a time: the smallest fitting set wins
        return None if best is None else [c[0] for c in best[1]]

    def _removed(self, r: float, t: int, noise: float, out: list[Effect]) -> None:
        # 1. lines deleted on the screen, now leaving the cart
        if self._expected_out:
            best = self._best_subset(
                r, [(e, e[0].measured_g or e[0].expect_g, e[0].expect_sigma**2)
                    for e in self._expected_out], noise)
            if best is not None:
                for e in best:
                    self._expected_out.remove(e)
                return
        for fid, o in list(self._open.items()):
            if o.flag.kind == "take_out" and o.placement is not None and \
                    abs(o.placement.grams - r) <= self._tol(o.product and
                                                            self._sigma(o.product)[1] ** 2 or 0,
                                                            noise):
                self._resolve(out, t, fid, "taken out", "cart")
                return
        # 2. an unexplained placement taken back out (or a false weight change reverting); one
        # that staff must see is not closed by a drop a billed item explains as well (the
        # shopper may have taken that out instead)
        billed_fits = any(
            abs(r - (ln.measured_g if ln.measured_g is not None else ln.expect_g))
            <= self._tol(0.0 if ln.weight_g is not None else ln.expect_sigma ** 2 * 0.25, noise)
            for ln in self._lines.values() if ln.placed)
        back = [(abs(pl.grams - r), -pid) for pid, pl in self._placements.items()
                if abs(pl.grams - r) <= self._tol(0.0, noise * 1.5)
                and not (billed_fits and pl.flag_id in self._open
                         and self._open[pl.flag_id].flag.needs_staff)]
        if back:
            pl = self._placements.pop(-min(back)[1])
            if pl.flag_id in self._open:
                self._resolve(out, t, pl.flag_id, "taken back out", "cart")
            return
        # 3. a personal item (tare) or billed items
        tare_i = next((i for i, g in enumerate(self._tare)
                       if abs(g - r) <= self._tol(0.0, noise * 1.5)), None)
        placed = [ln for ln in self._lines.values() if ln.placed]
        singles = []
        for ln in placed:
            m = ln.measured_g if ln.measured_g is not None else ln.expect_g
            var = 0.0 if ln.weight_g is not None else ln.expect_sigma**2 * 0.25
            if abs(r - m) <= self._tol(var, noise):
                singles.append(ln)
        if tare_i is not None and not singles:
            g = self._tare.pop(tare_i)
            self._undo = _Undo(t, self._settled + r, tare=[g])
            return
        if singles:
            prods = {ln.product.id for ln in singles}
            if len(prods) == 1 and tare_i is None:
                self._take_out(singles[-1], t, out, "taken out")
                self._undo = _Undo(t, self._settled + r, lines=[self._out[-1][1]])
                return
            # the weight fits different things: only the shopper knows which one left (their
            # own bag is one of the choices when it fits too)
            by_prod: dict[str, _Line] = {}
            for ln in singles:
                by_prod[ln.product.id] = ln
            cands = [Candidate(f"line:{ln.id}", ln.product.name) for ln in by_prod.values()]
            if tare_i is not None:
                cands.append(Candidate("personal", "My own bag or item"))
            f = self._raise(out, t, "which_removed", f"Which item did you take out ({r:.0f} g)?",
                            grams=r, candidates=tuple(cands))
            self._open[f.id].placement = _Placement(0, t, r)
            return
        # several billed items at once: only when one product mix fits
        if placed:
            best = self._best_subset(
                r, [(ln, ln.measured_g if ln.measured_g is not None else ln.expect_g,
                     0.0 if ln.weight_g is not None else ln.expect_sigma**2 * 0.25)
                    for ln in placed], noise)
            if best is not None:
                for ln in best:
                    self._take_out(ln, t, out, "taken out")
                self._undo = _Undo(t, self._settled + r, lines=list(best))
                return
        f = self._raise(out, t, "unexplained_removal",
                        f"Something of {r:.0f} g was taken out: put it back, or call staff",
                        grams=r, needs_staff=False)
        self._open[f.id].placement = _Placement(0, t, r)

    def _take_out(self, ln: _Line, t: int, out: list[Effect], reason: str) -> None:
        del self._lines[ln.id]
        self._out.append((t, ln))
        out.append(LineRemoved(t, ln.id, reason))
        self._resolve_line_flags(ln, t, out, "item left")

    def _resolve_line_flags(self, ln: _Line, t: int, out: list[Effect], why: str) -> None:
        for fid, o in list(self._open.items()):
            if o.flag.kind in ("place_scanned", "looks_different") and \
                    (o.flag.line_id == ln.id or self._flag_line(o) is ln):
                self._resolve(out, t, fid, why, "cart")

    def _mark_placed(self, ln: _Line, t: int, out: list[Effect], measured: float,
                     alone: bool = False) -> None:
        ln.placed = True
        ln.measured_g = measured
        ln.measured_alone = alone
        if ln.flag_id is not None and ln.flag_id in self._open:
            self._resolve(out, t, ln.flag_id, "placed", "cart")
        ln.flag_id = None

    # ---- vision ---------------------------------------------------------------------------

    def _posterior(self, p: Product, grams: float | None, top, *,
                   dearer_only: bool = True, prior: float | None = None) -> float | None:
        """P(the placed item is ``p``) from the camera's top-k and the weight; None: no view.

        ``dearer_only``: only look-alikes that cost more count as alternatives (judging a scan:
        a cheaper look-alike cannot undercharge). Without a scan (an item put back, more of the
        same) every alternative counts."""
        if not top or not p.label:
            return None
        probs = dict(top)
        # a label outside the top-k has at most the mass the top-k leaves, spread thin
        rest = max(0.0, 1.0 - sum(probs.values()))
        floor = max(1e-4, min(0.5 * min(probs.values()), rest / max(1, self._n_labels - len(top))))
        noise = self.cfg.scale_sigma_g

        def wlik(q: Product) -> float:
            if q.by_weight or grams is None:
                return 1.0 / 3000.0  # produce: any weight is plausible
            mean, sig = self._sigma(q)
            s = math.sqrt(sig * sig + noise * noise)
            return math.exp(-0.5 * ((grams - mean) / s) ** 2) / (_SQRT2PI * s) + 1e-12

        prior = self.cfg.vision_prior if prior is None else prior
        conf = self.cfg.camera_confusion
        top1 = top[0][0]
        w = self.cfg.confusion_weight

        def vlik(label: str, prob: float) -> float:
            row = conf.get(label) if conf is not None else None
            if row is None:
                return prob
            return (1.0 - w) * prob + w * row.get(top1, row.get("", 0.0))

        ps = prior * vlik(p.label, probs.get(p.label, floor)) * wlik(p)
        alts = []
        seen = [(label, prob) for label, prob in top if prob >= self.cfg.vision_min_alt]
        if conf is not None:  # labels whose photos often come out as this top-1
            seen += [(label, floor) for label, row in conf.items() if label not in probs
                     and row.get(top1, 0.0) >= self.cfg.confusion_alt]
        for label, prob in seen:
            if label == p.label:
                continue
            # only what would cost more is an alternative worth asking about: a look-alike
            # that is cheaper (or the same price) cannot undercharge
            if dearer_only:
                qs = [q for q in self.catalogue.by_label(label) if q.id != p.id
                      and q.by_weight == p.by_weight
                      and q.price_minor > p.price_minor * (1.0 + self.cfg.vision_price_margin)]
            else:
                qs = [q for q in self.catalogue.by_label(label) if q.id != p.id]
            if qs:
                alts.append(vlik(label, prob) * max(wlik(q) for q in qs))
        if not alts:
            return 1.0
        pa = (1.0 - prior) * (max(alts) if self.cfg.best_alternative else sum(alts) / len(alts))
        return ps / (ps + pa)

    def _joint(self, post: float, earlier: float | None) -> float:
        """The posterior of two views of the same item, each judged alone from the same prior
        (their likelihood ratios multiply)."""
        if earlier is None or not self.cfg.joint_views:
            return post
        prior = self.cfg.vision_prior
        eps = 1e-9
        odds = (post / max(eps, 1.0 - post)) * (earlier / max(eps, 1.0 - earlier)) \
            / (prior / (1.0 - prior))
        return odds / (1.0 + odds)

    def _camera_vetoes(self, p: Product, grams: float, top) -> bool:
        """A pending scan fits this weight only loosely (wide-tolerance produce sold each:
        melons, pineapples), and the camera sees another product whose weight fits far
        better: the placement is that other item (put in before its scan), not this one."""
        if not top or not p.label or p.by_weight:
            return False
        mean, sig = self._sigma(p)
        s = math.sqrt(sig * sig + self.cfg.scale_sigma_g ** 2)
        wl_p = math.exp(-0.5 * ((grams - mean) / s) ** 2) / (_SQRT2PI * s)
        better = False
        for label, prob in top:
            if label == p.label or prob < 0.5:
                continue
            for q in self.catalogue.by_label(label):
                if q.id == p.id or q.by_weight:
                    continue
                if any(x.product.id == q.id and x.placed and
                       self._t - x.t_ms <= self.cfg.quantity_window_ms
                       for x in self._lines.values()):
                    continue  # that product was just scanned and placed: weights swapped
                qm, qs = self._sigma(q)
                s2 = math.sqrt(qs * qs + self.cfg.scale_sigma_g ** 2)
                wl_q = math.exp(-0.5 * ((grams - qm) / s2) ** 2) / (_SQRT2PI * s2)
                better = better or wl_q > 10.0 * wl_p
        if not better:
            return False
        post = self._posterior(p, grams, top, dearer_only=False)
        return post is not None and post < 0.5

    def _judge(self, pl: _Placement, ln: _Line, t: int, out: list[Effect], *,
               learn: bool = False) -> None:
        if pl.verdict is None:
            if learn and ln.measured_g is not None:
                pl.line_ids = [ln.id]  # a late verdict may still judge this
                self.weights.observe(ln.product, ln.measured_g)
            if ln.product.by_weight and ln.product.label and self.cfg.use_vision and \
                    self.cfg.produce_needs_view:
                # produce is priced by the PLU the shopper chose: the camera must see it
                f = self._raise(out, t, "looks_different",
                                f"Show the {ln.product.name} to the camera", line_id=ln.id,
                                grams=ln.measured_g)
                pl.flag_id = f.id
                pl.recheck, pl.recheck_ms = True, t
                o = self._open[f.id]
                o.placement, o.product = pl, ln.product
            return
        grams = ln.measured_g if ln.weight_g is None else None
        post = self._posterior(ln.product, grams, pl.verdict)
        if post is not None and post < self.cfg.vision_flag_below:
            top_label = pl.verdict[0][0]
            f = self._raise(out, t, "looks_different",
                            f"This does not look like {ln.product.name}. Show it again, or "
                            f"scan the right item", line_id=ln.id, grams=ln.measured_g,
                            candidates=(Candidate(top_label, top_label, pl.verdict[0][1]),))
            pl.flag_id = f.id
            o = self._open[f.id]
            o.placement, o.product = pl, ln.product
        elif learn and ln.measured_g is not None:
            self.weights.observe(ln.product, ln.measured_g)

    def _on_verdict(self, ev: VisionVerdict, t: int, out: list[Effect]) -> None:
        if not self.cfg.use_vision:
            return
        d = self._deferred
        if d is not None and t - d.t_ms <= self.cfg.verdict_after_ms:
            # the camera saw something go in with that light change: an item, now
            self._deferred = None
            self._last_verdict = (t, ev.top)
            self._apply_change(d.ev.grams - d.before_g, d.before_g, d.ev, t, d.noise, out)
            return
        # a re-shown item under a looks_different alert
        for fid, o in list(self._open.items()):
            if o.flag.kind == "looks_different" and o.placement is not None and \
                    o.placement.recheck and t - o.placement.recheck_ms <= \
                    self.cfg.recheck_window_ms:
                o.placement.recheck = False
                ln = self._flag_line(o)
                if ln is None:
                    continue
                grams = ln.measured_g if ln.weight_g is None else None
                post = self._posterior(ln.product, grams, ev.top)
                pl = o.placement
                first = pl.verdict[0][0] if pl.verdict else None
                pl.views += 1
                if post is not None and post >= self.cfg.vision_flag_below and pl.verdict:
                    # the same item seen twice: both views are evidence, not only the last
                    post = self._joint(post, self._posterior(ln.product, grams, pl.verdict))
                if post is None or post >= self.cfg.vision_flag_below:
                    self._resolve(out, t, fid, "looks right on a second view", "cart")
                elif ev.top and ev.top[0][0] != first and pl.views < 3:
                    # the views disagree with each other: one more look decides
                    pl.verdict = ev.top
                    self._replace_flag(out, t, fid,
                                       message=f"Please show the {ln.product.name} to the "
                                               "camera once more")
                else:
                    self._replace_flag(out, t, fid, needs_staff=True,
                                       message=f"This still does not look like "
                                               f"{ln.product.name}: staff will check")
                return
        pl = self._last_placement
        if pl is not None and pl.verdict is None and not self._moving and \
                0 <= t - pl.t_ms <= self.cfg.verdict_after_ms:
            pl.verdict = ev.top
            if pl.flag_id is not None and pl.flag_id in self._open:
                o = self._open[pl.flag_id]
                if o.flag.kind == "scan_added":
                    sugg = self._produce_suggestions(ev.top)
                    if sugg and sugg[0].score >= self.cfg.produce_vision_min:
                        self._resolve(out, t, pl.flag_id, "produce seen", "cart")
                        del self._placements[pl.id]
                        pl.flag_id = None
                        self._flag_unexplained(pl, t, out)
            elif len(pl.line_ids) == 1 and pl.line_ids[0] in self._lines:
                ln = self._lines[pl.line_ids[0]]
                if ln.price_minor is None:
                    self._judge(pl, ln, t, out)
            return
        self._last_verdict = (t, ev.top)

    # ---- scans ----------------------------------------------------------------------------

    def _on_scan(self, ev: Scan | A.EnterCode, t: int, out: list[Effect]) -> None:
        try:
            found = self.catalogue.lookup(ev.code)
        except (ValueError, KeyError, TypeError) as exc:  # a bad catalogue entry: not fatal
            out.append(Notice(t, "lookup_error", f"could not look up the code: {exc}"))
            return
        if found is None:
            out.append(Notice(t, "unknown_code",
                              "This code is not sold here. Put the item aside or call staff"))
            out.append(Audit(t, "fusion.unknown_code", (("code", ev.code),)))
            return
        self._scanned(found, t, out)

    def _scanned(self, found: Lookup, t: int, out: list[Effect]) -> None:
        p = found.product
        if p.age_restricted:
            f = self._raise(out, t, "age_check", f"{p.name} is age-restricted: staff will "
                            "check your age", needs_staff=True)
            self._open[f.id].product = p
        if p.by_weight and found.weight_g is None:
            # produce: weigh the oldest unexplained placement, or the next placement
            for fid, o in list(self._open.items()):
                if o.flag.kind in ("weigh_produce", "scan_added") and o.placement is not None:
                    self._weigh_produce(fid, p, found.code, False, t, out)
                    return
            self._pending_produce.append(_Pending(p, found.code, False, t))
            return
        mean, sig = self._sigma(p)
        price = found.price_minor
        if found.weight_g is not None:  # pre-packed with its weight in the code
            mean, sig = found.weight_g + p.tare_g, max(2.0, p.tolerance_g / 2)
        # a quantity question about another product, and this one fits the weight: it was
        # this item, not more of those (the lines it had taken go back to waiting)
        for fid, o in list(self._open.items()):
            if o.flag.kind == "quantity" and o.product is not None and o.product.id != p.id \
                    and o.placement is not None and abs(o.placement.grams - mean) <= \
                    self._tol(sig * sig, self.cfg.scale_sigma_g):
                for lid in o.placement.line_ids:
                    ln = self._lines.get(lid)
                    if ln is not None:
                        ln.placed, ln.measured_g = False, None
                        ln.deadline_ms = t + self.cfg.place_timeout_ms
                self._resolve(out, t, fid, f"it was {p.name}", "cart")
                self._add_line(out, t, p, found.code, placed=True, measured=o.placement.grams,
                               expect=(mean, sig), price_minor=price)
                return
        # a quantity question about this product: one more of them billed (unless an
        # unexplained placement fits this item: that is the more specific question it answers)
        fits_placement = self._fitting_placement(mean, sig, t) is not None
        for fid, o in list(self._open.items()):
            if o.flag.kind == "quantity" and o.product is not None and o.product.id == p.id \
                    and not fits_placement:
                self._add_line(out, t, p, found.code, placed=True, measured=mean, alone=False,
                               expect=(mean, sig), price_minor=price)
                o.count -= 1
                o.answered += 1
                if o.count <= 0:
                    self._resolve(out, t, fid, "all scanned", "cart")
                return
        # the shopper scans the item again after a take_out alert: it stays
        for fid, o in list(self._open.items()):
            if o.flag.kind == "take_out" and o.product is not None and o.product.id == p.id:
                self._add_line(out, t, p, found.code, placed=True,
                               measured=o.placement.grams if o.placement else mean,
                               expect=(mean, sig), price_minor=price)
                self._resolve(out, t, fid, "scanned again", "cart")
                return
        # place-then-scan: an unexplained placement this item explains (wholly or partly)
        best = self._fitting_placement(mean, sig, t)
        if best is None:
            # a looks_different alert: the right item scanned (swap the line), or the same again
            for fid, o in list(self._open.items()):
                if o.flag.kind != "looks_different" or o.placement is None or \
                        o.flag.needs_staff or t - o.flag.t_ms > self.cfg.answer_window_ms:
                    continue  # staff decide that one; an old question is not this scan's
                old = self._flag_line(o)
                if old is None:
                    continue
                if old.product.id == p.id:
                    o.placement.recheck, o.placement.recheck_ms = True, t
                    return
                g = old.measured_g or 0.0
                if abs(g - mean) <= self._tol(sig * sig, self.cfg.scale_sigma_g):
                    # the placed item is this one; the first scan stays billed and waits for its
                    # own item (or a cancel): never drop a billed line on the camera's word
                    if old.weight_g is None:
                        old.placed, old.measured_g = False, None
                        old.deadline_ms = t + self.cfg.place_timeout_ms
                    else:  # produce weighed under the wrong PLU: that weight was this item
                        del self._lines[old.id]
                        out.append(LineRemoved(t, old.id, "replaced by the right item"))
                    self._add_line(out, t, p, found.code, placed=True, measured=g,
                                   expect=(mean, sig), price_minor=price)
                    self._resolve(out, t, fid, "right item scanned", "cart")
                    return
        if best is not None:
            _, pl, _ = best
            del self._placements[pl.id]
            # the placement was this scanned item: an item of that product taken out earlier
            # is not the one that came back (it stays out)
            same = [(abs((x.measured_g or x.expect_g) - pl.grams), i)
                    for i, (_, x) in enumerate(self._out) if x.product.id == p.id]
            if same:
                self._out.pop(min(same)[1])
            # the scan that waited for this item (not matched because the camera doubted it)
            # and the shopper scans it again when asked: no second line, and the camera judges
            # it as any scan. Not once that scan has timed out: a scan kept out of the cart and
            # a second item of the product scanned later are then two items (staff decide)
            late = next((x for x in self._lines.values() if not x.placed and x.product.id == p.id
                         and x.price_minor == price and x.flag_id is None
                         and t - x.t_ms <= self.cfg.answer_window_ms), None)
            if late is not None:
                self._mark_placed(late, t, out, pl.grams)
                if pl.flag_id in self._open:
                    self._resolve(out, t, pl.flag_id, "scanned (already billed)", "cart")
                pl.flag_id = None
                if not p.by_weight:
                    self._judge(pl, late, t, out)
                return
            ln = self._add_line(out, t, p, found.code, placed=True, measured=pl.grams,
                                expect=(mean, sig), price_minor=price)
            if pl.flag_id in self._open:
                self._resolve(out, t, pl.flag_id, "scanned", "cart")
            pl.flag_id = None
            if price is None:
                self._judge(pl, ln, t, out, learn=True)
            return
        # an item just re-billed as put back, without a scan, and now scanned: it was a new
        # one of the same product put in before its scan (the one taken out stays out)
        back = next((x for x in self._lines.values() if x.readd_ms is not None
                     and x.product.id == p.id and x.price_minor == price
                     and t - x.readd_ms <= self.cfg.quantity_window_ms), None)
        if back is not None:
            back.readd_ms = None
            out.append(Audit(t, "fusion.put_back_was_new", (("line_id", back.id),)))
            return
        # scan-then-place: bill now, expect the item on the scale
        ln = self._add_line(out, t, p, found.code, expect=(mean, sig), price_minor=price,
                            deadline=t + self.cfg.place_timeout_ms)
        self._several_put_in_then_scanned(ln, t, out)

    def _fitting_placement(self, mean: float, sig: float, t: int):
        """The unexplained placement (still asked about, not yet staff's) that an item of this
        weight explains best: (z, placement, False), or None."""
        noise = self.cfg.scale_sigma_g
        best = None
        for pl in self._placements.values():
            if t - pl.t_ms > self.cfg.answer_window_ms:
                continue  # an old question: a new scan is more likely a new item
            o = self._open.get(pl.flag_id)
            if o is not None and o.flag.needs_staff:
                continue  # staff decide this one
            z = abs(pl.grams - mean) / self._tol(sig * sig, noise)
            if z <= 1.0 and (best is None or z < best[0]):
                best = (z, pl, False)
        return best

    def _several_put_in_then_scanned(self, ln: _Line, t: int, out: list[Effect]) -> None:
        """Several items put in together, then scanned one by one: once the scans so far
        (this one among them) add up to an unexplained placement, they explain it."""
        recent = [x for x in self._lines.values() if not x.placed and
                  t - x.t_ms <= self.cfg.quantity_window_ms * 4 and x.weight_g is None]
        if len(recent) < 2:
            return
        for pl in sorted(self._placements.values(), key=lambda q: -q.t_ms):
            o = self._open.get(pl.flag_id)
            if o is not None and o.flag.needs_staff:
                continue  # staff decide this one (a refused "it's mine" among them)
            after = [x for x in recent if x.t_ms >= pl.t_ms and x.flag_id is None]
            if len(after) < 2:
                continue
            best = self._best_subset(pl.grams, [(x, x.expect_g, x.expect_sigma ** 2)
                                                for x in after], self.cfg.scale_sigma_g)
            if best is not None and ln in best and len(best) >= 2:
                total = sum(x.expect_g for x in best)
                for x in best:
                    self._mark_placed(x, t, out, pl.grams * x.expect_g / total)
                del self._placements[pl.id]
                if pl.flag_id in self._open:
                    self._resolve(out, t, pl.flag_id, "scanned", "cart")
                return

    def _weigh_produce(self, fid: int, p: Product, code: str, bagged: bool, t: int,
                       out: list[Effect]) -> None:
        o = self._open[fid]
        pl = o.placement
        tare = self._bag_tare(p) if bagged else 0.0
        net = pl.grams - tare
        if net <= 0:
            out.append(Notice(t, "refused", "That weighs less than the bag"))
            return
        self._placements.pop(pl.id, None)
        ln = self._add_line(out, t, p, code, weight_g=round(net, 1), placed=True,
                            measured=pl.grams)
        self._resolve(out, t, fid, f"weighed as {p.name}", "shopper")
        pl.flag_id = None
        self._judge(pl, ln, t, out)

    def _bag_tare(self, p: Product) -> float:
        return p.tare_g if p.tare_g > 0 else self.cfg.bag_tare_g

    # ---- shopper actions ------------------------------------------------------------------

    def _flag_line(self, o: _Open) -> _Line | None:
        """The line an alert is about: its own, or the one that replaced it when the bag
        settled and the produce was re-weighed (the alert keeps the first line's id)."""
        ln = self._lines.get(o.flag.line_id) if o.flag.line_id is not None else None
        if ln is None and o.placement is not None and len(o.placement.line_ids) == 1:
            ln = self._lines.get(o.placement.line_ids[0])
        return ln

    def _get_flag(self, fid, kinds, t, out) -> _Open | None:
        o = self._open.get(fid) if fid is not None else None
        if o is None or o.flag.kind not in kinds:
            out.append(Notice(t, "refused", f"alert {fid} is not open for that answer"))
            return None
        return o

    def _on_select_produce(self, a: A.SelectProduce, t: int, out: list[Effect]) -> None:
        found = self.catalogue.lookup(a.code)
        if found is None or not found.product.by_weight:
            out.append(Notice(t, "refused", "That code is not produce sold by weight"))
            return
        if a.flag_id is None:
            self._pending_produce.append(_Pending(found.product, a.code, a.bagged, t))
            return
        o = self._get_flag(a.flag_id, ("weigh_produce", "scan_added", "quantity"), t, out)
        if o is None:
            return
        if o.flag.kind == "quantity" and (o.placement is None or o.placement.line_ids):
            out.append(Notice(t, "refused", "Scan the items, or call staff"))
            return
        self._weigh_produce(a.flag_id, found.product, a.code, a.bagged, t, out)

    def _on_pick_removed(self, a: A.PickRemoved, t: int, out: list[Effect]) -> None:
        o = self._get_flag(a.flag_id, ("which_removed",), t, out)
        if o is None:
            return
        keys = {c.key for c in o.flag.candidates}
        if a.line_id is None:
            g = o.placement.grams if o.placement is not None else 0.0
            fit = [(abs(x - g), i) for i, x in enumerate(self._tare)]
            if "personal" not in keys or not fit:
                out.append(Notice(t, "refused", "That choice was not offered"))
                return
            self._tare.pop(min(fit)[1])
            self._resolve(out, t, a.flag_id, "own item taken out", "shopper")
            return
        if f"line:{a.line_id}" not in keys or a.line_id not in self._lines:
            out.append(Notice(t, "refused", "That line was not offered"))
            return
        self._take_out(self._lines[a.line_id], t, out, "picked as taken out")
        self._resolve(out, t, a.flag_id, f"line {a.line_id} taken out", "shopper")

    def _on_cancel_scan(self, a: A.CancelScan, t: int, out: list[Effect]) -> None:
        o = self._get_flag(a.flag_id, ("place_scanned",), t, out)
        if o is None:
            return
        ln = self._lines.get(o.flag.line_id)
        if ln is not None and not ln.placed:
            del self._lines[ln.id]
            out.append(LineRemoved(t, ln.id, "scan cancelled"))
        self._resolve(out, t, a.flag_id, "scan cancelled", "shopper")

    def _on_confirm_quantity(self, a: A.ConfirmQuantity, t: int, out: list[Effect]) -> None:
        o = self._get_flag(a.flag_id, ("quantity",), t, out)
        if o is None:
            return
        mean, sig = self._sigma(o.product)
        # N in the question counts the items scanned for it before and since it was asked
        scanned = (len(o.placement.line_ids) if o.placement is not None else 0) + o.answered
        count = o.count
        if a.quantity is not None and a.quantity != scanned + o.count:
            k = a.quantity
            g = o.placement.grams if o.placement is not None else 0.0
            if k <= scanned or k > self.cfg.max_quantity or \
                    abs(g - k * mean) > self._tol(k * sig * sig, self.cfg.scale_sigma_g):
                out.append(Notice(t, "refused", f"{k} × {o.product.name} does not fit the "
                                  "weight: scan each one, or call staff"))
                return
            count = k - scanned
        code = o.product.codes[0] if o.product.codes else o.product.id
        for _ in range(count):
            self._add_line(out, t, o.product, code, placed=True, measured=mean, alone=False,
                           expect=(mean, sig))
        self._resolve(out, t, a.flag_id, "quantity confirmed", "shopper")

    def _on_declare_personal(self, a: A.DeclarePersonal, t: int, out: list[Effect]) -> None:
        o = self._get_flag(a.flag_id, ("scan_added", "weigh_produce"), t, out)
        if o is None:
            return
        pl = o.placement
        seen_product = False
        if pl.verdict:
            label, prob = pl.verdict[0]
            seen_product = prob >= self.cfg.personal_vision_max and \
                bool(self.catalogue.by_label(label))
        late = self._next_line > 1  # own bags go in before the first item is scanned
        if pl.grams > self.cfg.personal_max_g or seen_product or late:
            self._replace_flag(out, t, a.flag_id, needs_staff=True,
                               message="Staff will check this item")
            out.append(Audit(t, "fusion.personal_refused", (("grams", round(pl.grams, 1)),)))
            return
        self._placements.pop(pl.id, None)
        self._tare.append(pl.grams)
        self._resolve(out, t, a.flag_id, "personal item (tare)", "shopper")

    def _on_remove_line(self, a: A.RemoveLine, t: int, out: list[Effect]) -> None:
        ln = self._lines.get(a.line_id)
        if ln is None:
            out.append(Notice(t, "refused", f"no line {a.line_id}"))
            return
        del self._lines[ln.id]
        out.append(LineRemoved(t, ln.id, "removed on screen"))
        self._resolve_line_flags(ln, t, out, "line removed")
        if ln.placed:
            self._expected_out.append((ln, t + self.cfg.take_out_timeout_ms))

    def _on_show_again(self, a: A.ShowAgain, t: int, out: list[Effect]) -> None:
        o = self._get_flag(a.flag_id, ("looks_different",), t, out)
        if o is not None and o.placement is not None:
            o.placement.recheck, o.placement.recheck_ms = True, t

    def _on_call_staff(self, a: A.CallStaff, t: int, out: list[Effect]) -> None:
        out.append(Audit(t, "fusion.call_staff", (("flag_id", a.flag_id),)))

    def _on_checkout(self, a: A.Checkout, t: int, out: list[Effect]) -> None:
        d = self._deferred
        if d is not None:  # nothing may wait unexplained at the till
            self._deferred = None
            self._apply_change(d.ev.grams - d.before_g, d.before_g, d.ev, t, d.noise, out)
        for ln in list(self._lines.values()):
            if not ln.placed and ln.flag_id is None:
                self._flag_place_scanned(ln, t, out)
        self._pending_produce.clear()
        if self._open:
            out.append(Notice(t, "checkout_refused",
                              f"{len(self._open)} question(s) to answer before paying"))
            return
        self.checked_out = True
        out.append(CheckedOut(t))

    # ---- staff ----------------------------------------------------------------------------

    def _on_staff_login(self, a: A.StaffLogin, t: int, out: list[Effect]) -> None:
        res = self.staff.login(t, a.staff_id, a.pin, replay=getattr(a, "replay", None))
        out.append(Audit(t, f"fusion.staff.login_{res}", (("staff_id", a.staff_id),)))
        if res != "ok":
            out.append(Notice(t, "staff_login", "Locked: try later" if res == "locked"
                              else "Wrong staff id or PIN"))

    def _on_staff_logout(self, a: A.StaffLogout, t: int, out: list[Effect]) -> None:
        who = self.staff.logout()
        if who:
            out.append(Audit(t, "fusion.staff.logout", (("staff_id", who),)))

    def _on_staff_resolve(self, a: A.StaffResolve, t: int, out: list[Effect]) -> None:
        who = self.staff.current(t)
        if who is None:
            out.append(Notice(t, "refused", "Staff mode is not active"))
            out.append(Audit(t, "fusion.staff.refused", (("flag_id", a.flag_id),)))
            return
        self.staff.touch(t)
        o = self._open.get(a.flag_id)
        if o is None or a.resolution not in A.STAFF_RESOLUTIONS:
            out.append(Notice(t, "refused", f"cannot {a.resolution!r} alert {a.flag_id}"))
            return
        audit = [("staff_id", who), ("flag_id", a.flag_id), ("kind", o.flag.kind),
                 ("resolution", a.resolution), ("note", a.note)]
        pl = o.placement
        if a.resolution == "remove_line":
            ln = self._lines.get(a.line_id if a.line_id is not None else o.flag.line_id or -1)
            if ln is None:
                out.append(Notice(t, "refused", "no such line"))
                return
            del self._lines[ln.id]
            out.append(LineRemoved(t, ln.id, f"removed by staff {who}"))
            audit.append(("line_id", ln.id))
        elif a.resolution == "add_product":
            found = self.catalogue.lookup(a.code or "")
            if found is None or a.quantity < 1:
                out.append(Notice(t, "refused", "unknown code or quantity"))
                return
            p = found.product
            if p.by_weight:
                g = (pl.grams if pl is not None else 0.0)
                self._add_line(out, t, p, found.code, weight_g=round(g, 1), placed=True,
                               measured=g)
            else:
                mean, sig = self._sigma(p)
                for _ in range(a.quantity):
                    self._add_line(out, t, p, found.code, placed=True, measured=mean, alone=False,
                                   expect=(mean, sig), price_minor=found.price_minor)
            audit += [("code", found.code), ("quantity", a.quantity)]
        elif a.resolution == "dismiss" and o.flag.kind in ("scan_added", "weigh_produce") \
                and pl is not None:
            self._tare.append(pl.grams)  # not billed: it stays on the scale as tare
        if pl is not None:
            self._placements.pop(pl.id, None)
        ln = self._lines.get(o.flag.line_id) if o.flag.line_id is not None else None
        if o.flag.kind == "place_scanned" and ln is not None and a.resolution == "approve":
            ln.placed = True  # billed and accepted without the scale (e.g. under the basket)
        out.append(Audit(t, "fusion.staff.resolve", tuple(audit)))
        self._resolve(out, t, a.flag_id, a.resolution, f"staff:{who}")

    # ---- helpers --------------------------------------------------------------------------

    def _add_line(self, out, t, p: Product, code: str, *, weight_g=None, price_minor=None,
                  placed=False, measured=None, expect=None, deadline=None,
                  alone: bool = True) -> _Line:
        if expect is None:
            expect = (measured or 0.0, 2.0) if p.by_weight else self._sigma(p)
        ln = _Line(self._next_line, p, code, t, expect[0], expect[1], weight_g=weight_g,
                   price_minor=price_minor, placed=placed, measured_g=measured,
                   deadline_ms=deadline, measured_alone=placed and measured is not None
                   and alone)
        self._next_line += 1
        self._lines[ln.id] = ln
        self._last_scanned = ln
        out.append(LineAdded(t, ln.id, p.id, code, p.name, weight_g, price_minor))
        return ln

    def _flag_place_scanned(self, ln: _Line, t: int, out: list[Effect]) -> None:
        f = self._raise(out, t, "place_scanned",
                        f"Put the scanned {ln.product.name} in the cart, or cancel the scan",
                        line_id=ln.id)
        ln.flag_id = f.id

    def _raise(self, out, t, kind, message, *, line_id=None, grams=None, candidates=(),
               needs_staff=False) -> Flag:
        f = Flag(self._next_flag, kind, t, message, KINDS[kind], line_id=line_id,
                 grams=None if grams is None else round(grams, 1), candidates=candidates,
                 needs_staff=needs_staff)
        self._next_flag += 1
        self.flags_raised += 1
        self._open[f.id] = _Open(f)
        out.append(FlagRaised(t, f))
        return f

    def _replace_flag(self, out, t, fid, *, message=None, grams=None, needs_staff=None) -> None:
        """Change an open alert (re-raised under a new id so the journal shows both)."""
        o = self._open.get(fid)
        if o is None:
            return
        old = o.flag
        self._resolve(out, t, fid, "updated", "cart")
        f = self._raise(out, t, old.kind, message or old.message, line_id=old.line_id,
                        grams=grams if grams is not None else old.grams,
                        candidates=old.candidates,
                        needs_staff=old.needs_staff if needs_staff is None else needs_staff)
        self.flags_raised -= 1  # the same question, not a new one
        n = self._open[f.id]
        n.placement, n.product, n.count = o.placement, o.product, o.count
        n.answered = o.answered
        if o.placement is not None and o.placement.flag_id == fid:
            o.placement.flag_id = f.id

    def _resolve(self, out, t, fid, resolution, by) -> None:
        o = self._open.pop(fid, None)
        if o is not None:
            out.append(FlagResolved(t, fid, o.flag.kind, resolution, by))


_HANDLERS = {
    Scan: Reconciler._on_scan,
    A.EnterCode: Reconciler._on_scan,
    WeightSettled: Reconciler._on_settled,
    WeightMoving: lambda self, ev, t, out: setattr(self, "_moving", True),  # the next action
    DeviceStatus: lambda self, ev, t, out: None,  # health: shown by the screen, not reconciled
    VisionVerdict: Reconciler._on_verdict,
    A.SelectProduce: Reconciler._on_select_produce,
    A.PickRemoved: Reconciler._on_pick_removed,
    A.CancelScan: Reconciler._on_cancel_scan,
    A.ConfirmQuantity: Reconciler._on_confirm_quantity,
    A.DeclarePersonal: Reconciler._on_declare_personal,
    A.RemoveLine: Reconciler._on_remove_line,
    A.ShowAgain: Reconciler._on_show_again,
    A.CallStaff: Reconciler._on_call_staff,
    A.Checkout: Reconciler._on_checkout,
    A.StaffLogin: Reconciler._on_staff_login,
    ReplayedStaffLogin: Reconciler._on_staff_login,
    A.StaffLogout: Reconciler._on_staff_logout,
    A.StaffResolve: Reconciler._on_staff_resolve,
}
