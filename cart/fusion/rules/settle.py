"""Settle rules: whether a settled reading is a change to explain at all, and which.

The scale reports a ``WeightSettled`` after each action. Its change is measured against the
weight everything so far accounts for (``r``) and across the action itself (``r2``: the
scale's own ``delta_g``, measured against the weight it held just before the motion, which it
follows through slow drift and creep while at rest; the reading just before when it reports
none). The reading goes to the FIRST of these rules that claims it, in
this order (``SETTLE``):

1. ``HeldChangeSettles`` — a held light change: back where it was (nothing happened), or
   explained now, before this reading (then the chain goes on);
   ``HeldDropCameBack`` — the item of a drop held before asking which it was, put back;
2. ``WeightCameBack`` — back where it was before the last unexplained change;
3. ``UndoLastChange`` — straight back from the last drop (or put-back) taken for an item;
4. ``BagSlump`` — the rest of a bag of produce, settling in a second step (after a question
   about the first step, its answer, or a quantity guess);
   ``SettledAgainLower`` — the last placement settling again a few grams lower;
5. ``ShiftSettledBack`` — a small unexplained shift that settled back;
6. ``ScaleFollowedDrift`` — the scale says nothing changed (``delta_g`` 0) but its reading
   moved a little: the creep and drift it followed while at rest;
7. ``Drift`` — under ``min_change_g``: no item (slow drift is followed);
8. ``LoadShift`` — light, unseen and expected by nothing: the load shifted;
9. ``PushShift`` — a drop, within the load's own shift, that settled after the cart was pushed;
10. ``HoldLight`` — light and unseen: held a moment (``defer_ms``) for the load to settle back;
11. ``ExplainChange`` — a rise or a drop, for the placement or removal rules.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from cart.common.events import WeightSettled
from cart.fusion.alerts import AlertKind, Audit, Effect, LineRemoved
from cart.fusion.rules.base import Rule, back_at, first_claim, load_shift_g
from cart.fusion.rules.held_drop import HeldDropCameBack
from cart.fusion.rules.steps import pending_items
from cart.fusion.state import Deferred, Line, Placement, State


@dataclass
class Reading:
    """A settled reading, at ``t``: ``r`` against the weight accounted for (``before``),
    ``r2`` across the action (the scale's ``delta_g``, else against the reading just before);
    ``noise`` the scale's error σ for it."""

    ev: WeightSettled
    t: int
    before: float
    r: float
    r2: float
    noise: float
    moved: float = 0.0  # the reading against the reading just before


def on_settled(st: State, ev: WeightSettled, t: int, out: list[Effect]) -> None:
    st.moving = False
    prev = st.settled
    before = st.accounted
    st.settled = ev.grams
    noise = max(ev.noise_g, st.match.scale_sigma_g)
    # the scale measures the change against the weight just before the motion (followed
    # through drift and creep while at rest); the last reading sent may be older than that
    across = ev.delta_g if ev.delta_g else ev.grams - prev
    x = Reading(ev, t, before, ev.grams - before, across, noise, ev.grams - prev)
    first_claim(st.rules.settle, st, x, out)


class HeldChangeSettles(Rule):
    """Claims a reading back where the held light change started (to 1.5 × the noise, and
    nearer it than the held reading): a push that shifted the load settled back, nothing
    happened (an audit says so). A held change that stayed is explained first, before this
    reading, which goes on down the chain measured from the new accounted weight (passes,
    having changed the state). A reading on further from a held light rise goes on as one
    change with it, measured from where it began (both its readings' own changes summed), when
    the rise was held only for the camera (``LoadShift``), or this reading's own step is light
    too (under ``defer_below_g``) and began to move within ``slump_start_ms`` of it settling:
    a light item lowered slowly onto a noisy scale settles in steps (a 40 g passion fruit as
    22 g, then 17 g, was one passion fruit and "1 more")."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        slump_start_ms: int
        defer_below_g: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        d = st.deferred
        if d is None:
            return False
        st.deferred = None
        if back_at(st, x.ev.grams, d.before_g, d.ev.grams, x.noise * 1.5):
            out.append(
                Audit(x.t, "fusion.load_shift", (("grams", round(d.ev.grams - d.before_g, 1)),))
            )
            return True  # it settled back: nothing happened
        held = d.ev.grams - d.before_g
        began = x.ev.t_ms - x.ev.settle_ms
        on = (x.ev.grams - d.ev.grams) * held > 0
        light_step = 0 < x.r2 < self.s.defer_below_g
        at_once = light_step and began - d.ev.t_ms <= self.s.slump_start_ms
        if on and held > 0 and (d.shift or at_once):
            # on from a light rise: an item still being lowered, settling in steps; the whole
            # from where it began goes down the chain as one change
            x.before = d.before_g
            x.r = x.ev.grams - x.before
            x.r2 += d.ev.delta_g if d.ev.delta_g else held
            return False
        # it stayed: that light change first, then this one
        held_change_stays(st, d, x.t, out)
        x.before = st.accounted
        x.r = x.ev.grams - x.before
        return False


def held_change_stays(st: State, d: Deferred, t: int, out: list[Effect]) -> None:
    """A held light change that stayed (its hold ran out, or the next reading came, or the
    shopper pays): a load shift when it was held only for the camera's word (``LoadShift``),
    else a change for the placement or removal rules."""
    if d.shift:
        load_shifted(st, d.before_g, d.ev.grams, t, out)
    else:
        st.rules.change(st, d.ev.grams - d.before_g, d.before_g, d.ev, t, d.noise, out)


def load_shifted(st: State, before: float, grams: float, t: int, out: list[Effect]) -> None:
    """The load shifted from ``before`` to ``grams``: accounted, with an audit; a reading back
    at ``before`` later is ``ShiftSettledBack``."""
    st.shifted_from = before
    st.accounted = grams
    out.append(Audit(t, "fusion.small_change", (("grams", round(grams - before, 1)),)))


class WeightCameBack(Rule):
    """Claims a reading back where it was before the last unexplained change, while its
    question is open (a push that shifted the load, a hand resting on the basket): the
    question closes and its placement is forgotten. Back means nearer the weight before than
    the weight the change left: a light item lowered slowly onto a noisy scale settles in
    steps each within the noise of where it began, but they go on away from it."""

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        back = st.last_unexplained
        if back is None:
            return False
        fid, was = back
        if fid not in st.questions or not back_at(st, x.ev.grams, was, x.before, x.noise):
            return False
        st.last_unexplained = None
        o = st.questions[fid]
        if o.placement is not None:
            st.placements.pop(o.placement.id, None)
        st.resolve(out, x.t, fid, "weight came back", "cart")
        st.accounted = x.ev.grams
        return True


class UndoLastChange(Rule):
    """Claims a reading straight back (within ``undo_ms``, to 1.5 × the noise) to where it was
    before the last change, when that was taken for an item. After a drop: what it took out
    is in the cart again (the same lines re-billed, no new question), unless the camera saw
    something else go in (posterior under ``vision_flag_below``, prior ``readd_prior``). After
    a rise taken for something put back: it is gone again, and so its question re-opens. An
    item put back that settled short of where it was (a bag put back in steps) has its rest
    still to come: a rise that began within ``slump_start_ms`` of that settle and weighs no
    more than the rest (to the noise) is that rest, nothing new (a mushroom bag put back as
    76 g, then 11 g, was asked "which produce did you add (11 g)?" and left for staff)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        undo_ms: int
        verdict_before_ms: int
        readd_prior: float
        vision_flag_below: float
        slump_start_ms: int

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        if self.rest_came(st, x, out):
            return True
        u = st.undo
        if (
            u is None
            or x.t - u.t_ms > self.s.undo_ms
            or abs(x.ev.grams - u.before_g) > st.tol(0.0, x.noise * 1.5)
        ):
            return False
        st.undo = None
        if u.reopen is not None:
            if x.r >= 0:
                return False
            st.ask(
                out,
                x.t,
                AlertKind.UNEXPLAINED_REMOVAL,
                u.reopen.message,
                grams=u.reopen_grams,
                placement=Placement(0, x.t, u.reopen_grams),
            )
        elif x.r <= 0 or not self.rebill(st, x, u, out):
            return False
        else:
            short = u.before_g - x.ev.grams
            st.undo_rest = (x.ev.t_ms, short) if short > 0 else None
        st.accounted = x.ev.grams
        return True

    def rest_came(self, st: State, x: Reading, out: list[Effect]) -> bool:
        rest, st.undo_rest = st.undo_rest, None
        if rest is None or x.r <= 0:
            return False
        settled_ms, short = rest
        began = x.ev.t_ms - x.ev.settle_ms
        if began - settled_ms > self.s.slump_start_ms or x.r > short + st.tol(0.0, x.noise):
            return False
        out.append(Audit(x.t, "fusion.put_back_rest", (("grams", round(x.r, 1)),)))
        st.accounted = x.ev.grams
        return True

    def rebill(self, st: State, x: Reading, u, out: list[Effect]) -> bool:
        t = x.t
        v = st.last_verdict
        top = (
            v[1]
            if v is not None and st.verdict_near(t, x.ev.settle_ms, self.s.verdict_before_ms)
            else None
        )
        for ln in u.lines:
            post = st.posterior(
                ln.product, ln.measured_g, top, dearer_only=False, prior=self.s.readd_prior
            )
            if post is not None and post < self.s.vision_flag_below:
                return False
        if top is not None:
            st.last_verdict = None
        for ln in u.lines:
            st.taken_out = [(to, y) for to, y in st.taken_out if y is not ln]
            new = st.add_line(
                out,
                t,
                ln.product,
                ln.code,
                weight_g=ln.weight_g,
                price_minor=ln.price_minor,
                placed=True,
                measured=ln.measured_g,
                expect=(ln.expect_g, ln.expect_sigma),
                alone=ln.measured_alone,
            )
            out.append(
                Audit(t, "fusion.weight_returned", (("line_id", new.id), ("was_line_id", ln.id)))
            )
        st.tare.extend(u.tare)
        return True


class BagSlump(Rule):
    """Claims a small rise (over 1 g, at most half the placement, see below) that settled within
    ``slump_ms`` of the last placement, or began to move within ``slump_start_ms`` of it (a
    basket that rings long settles late), when that was produce or is unexplained: a bag
    slumps, and the scale settles once on most of it and again on the rest (docs/SCALE.md:
    the rest slumps 0.1-0.5 s after the hand-over, so it moves at once after the first
    settle). The rest of an unexplained placement may be larger than half when it began to
    move at once (within ``slump_start_ms`` of the reading it settled at) and no waiting scan
    fits it alone better than it fits the whole: an item lowered slowly onto a noisy scale
    settles in steps. So may that of produce chosen first whose first step was lighter than
    ``min_item_g`` (a few asparagus spears in a bag, lowered slowly: the first step was not
    the whole of anything sold), or whose step now is light (under ``defer_below_g``: a bag
    of 50 g lowered onto a noisy scale settled as 16 g, then 20 g more, at once); a
    "show it to the camera" question about its line goes on about the re-weighed line. An
    unexplained one, or one only guessed at by a quantity question ("Looks like 2 more × ..."
    for most of a bag), is explained afresh as the whole (scans it had marked placed wait for
    their item again); a produce line is re-weighed (its line replaced)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        slump_ms: int
        slump_start_ms: int
        scale_sigma_g: float
        min_item_g: float
        defer_below_g: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        pl = st.last_placement
        r, t = x.r, x.t
        if not r > 1.0 or pl is None:
            return False
        # the rest of a bag moves at once; a slow ring takes long (on the scale's own clock: a
        # reading handled late, after a tap on the screen, began when the scale says)
        began = x.ev.t_ms - x.ev.settle_ms
        at_once = began - (pl.settled_ms or pl.t_ms) <= self.s.slump_start_ms
        lowered = (
            self.unexplained(st, pl)
            or pl.grams < self.s.min_item_g
            or (r < self.s.defer_below_g and self.produce_billed(st, pl))
        )
        if r > 0.5 * pl.grams and not (
            at_once and lowered and not self.scan_fits_alone(st, pl.grams, r, x.noise)
        ):
            return False  # (an item still being lowered settles in steps of any size)
        if t - pl.t_ms > self.s.slump_ms and not at_once:
            return False
        guessed = next(
            (fid for fid, o in st.open_of(AlertKind.QUANTITY) if o.placement is pl), None
        )
        if guessed is not None:
            for lid in pl.line_ids:  # the scans it took for this placement: pending again
                ln = st.lines.get(lid)
                if ln is not None:
                    ln.placed, ln.measured_g, ln.measured_alone = False, None, False
            pl.line_ids = []
            self.afresh(st, pl, guessed, r, t, out)
        elif pl.flag_id is not None and pl.flag_id in st.questions and pl.id in st.placements:
            kind = st.questions[pl.flag_id].flag.kind
            if kind in (AlertKind.SCAN_ADDED, AlertKind.WEIGH_PRODUCE):
                self.afresh(st, pl, pl.flag_id, r, t, out)
            elif not (kind == AlertKind.LOOKS_DIFFERENT and self.reweigh_asked(st, pl, r, t, out)):
                return False
        elif not self.reweigh(st, pl, r, t, out):
            return False
        st.accounted = x.ev.grams  # the rest of a bag that settled in two steps
        return True

    @staticmethod
    def scan_fits_alone(st: State, before: float, r: float, noise: float) -> bool:
        """A scan waiting for its item fits the step ``r`` alone, better than the whole
        (``before + r``): the next item put in after another (a hand puts items in 150-600 ms
        apart), not the rest of the one before. A scan that weighs nearer the whole is that
        item lowered in steps (a passion fruit onto a noisy scale: 8 g, then 17 g more)."""
        waiting = [ln for ln in st.lines.values() if not ln.placed and ln.flag_id is None]
        pend = pending_items(waiting)
        best = st.best_subset(r, pend, noise, 1) if pend else None
        if best is None:
            return False
        whole = st.best_subset(before + r, pend, noise, 1)
        if whole is None:
            return True
        return abs(before + r - whole[0].expect_g) >= abs(r - best[0].expect_g)

    @staticmethod
    def produce_billed(st: State, pl: Placement) -> bool:
        """``pl`` is billed as one produce line (sold by weight)."""
        lines = [st.lines[i] for i in pl.line_ids if i in st.lines]
        return len(lines) == 1 and lines[0].product.by_weight

    @staticmethod
    def unexplained(st: State, pl: Placement) -> bool:
        """``pl`` is still an unexplained placement, its question open."""
        o = st.questions.get(pl.flag_id) if pl.flag_id is not None else None
        return (
            o is not None
            and pl.id in st.placements
            and o.flag.kind in (AlertKind.SCAN_ADDED, AlertKind.WEIGH_PRODUCE)
        )

    def afresh(self, st: State, pl: Placement, fid: int, r: float, t: int, out) -> None:
        """The whole placement, explained afresh (it may be an item coming back, or one that
        was scanned): its question closes, and the whole rise goes down the placement rules."""
        st.rules.explain_afresh(st, pl, fid, pl.grams + r, t, out)

    def reweigh(self, st: State, pl: Placement, r: float, t: int, out: list[Effect]) -> bool:
        return reweigh(st, pl, r, t, out)

    def reweigh_asked(self, st: State, pl: Placement, r: float, t: int, out) -> bool:
        """Produce chosen first and asked to be shown to the camera (it settled before the
        camera's verdict came), lowered on in steps: its line is re-weighed and the question
        goes on about the new line."""
        fid = pl.flag_id
        if fid is None or not reweigh(st, pl, r, t, out):
            return False
        st.replace_flag(out, t, fid, line_id=pl.line_ids[0])
        return True


def reweigh(st: State, pl: Placement, r: float, t: int, out: list[Effect]) -> bool:
    """The produce line billed for ``pl`` re-weighed by ``r`` grams (its line replaced)."""
    if len(pl.line_ids) != 1 or pl.line_ids[0] not in st.lines:
        return False
    ln = st.lines[pl.line_ids[0]]
    if not ln.product.by_weight or ln.weight_g is None or ln.price_minor is not None:
        return False
    del st.lines[ln.id]
    out.append(LineRemoved(t, ln.id, "re-weighed (the bag settled)"))
    new = st.add_line(
        out,
        t,
        ln.product,
        ln.code,
        weight_g=round(ln.weight_g + r, 1),
        placed=True,
        measured=(ln.measured_g or 0.0) + r,
    )
    pl.line_ids = [new.id]
    pl.grams += r
    pl.t_ms = t
    return True


class SettledAgainLower(Rule):
    """Claims a small drop (over 1 g, under ``min_item_g`` and 5 % of the placement) that
    settled within ``slump_ms`` of the last placement, or began to move within
    ``slump_start_ms`` of the reading it settled at: the same placement settling again a
    little lower (a slowly ringing basket biases the first flat window either way; the rest
    of a bag is ``BagSlump``), not an item taken out. A produce line is re-weighed, an
    unexplained placement is asked about again at its weight; a billed item stays billed."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        slump_ms: int
        slump_start_ms: int
        min_item_g: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        pl = st.last_placement
        drop = -x.r
        if pl is None or not 1.0 < drop < min(self.s.min_item_g, 0.05 * pl.grams):
            return False
        began = x.ev.t_ms - x.ev.settle_ms
        at_once = began - (pl.settled_ms or pl.t_ms) <= self.s.slump_start_ms
        if x.t - pl.t_ms > self.s.slump_ms and not at_once:
            return False
        if BagSlump.unexplained(st, pl):
            assert pl.flag_id is not None  # an unexplained placement has its question
            st.rules.explain_afresh(st, pl, pl.flag_id, pl.grams - drop, x.t, out)
        else:
            reweigh(st, pl, -drop, x.t, out)  # (only a produce line is re-weighed)
        st.accounted = x.ev.grams
        out.append(Audit(x.t, "fusion.settled_again", (("grams", round(-drop, 1)),)))
        return True


class ShiftSettledBack(Rule):
    """Claims a reading back where it was before a small unexplained shift (``LoadShift``):
    the shifted load settled back. The shift is forgotten either way (passes, having changed
    the state, when the reading is elsewhere)."""

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        if st.shifted_from is None:
            return False
        was, st.shifted_from = st.shifted_from, None
        if not back_at(st, x.ev.grams, was, x.before, x.noise):
            return False
        st.accounted = x.ev.grams  # the shifted load settled back: nothing happened
        return True


class ScaleFollowedDrift(Rule):
    """Claims a reading the scale reports as no change (``delta_g`` 0) whose weight moved,
    by less than ``defer_below_g``, from the reading before: the scale followed creep and
    zero drift while at rest (a change under its resolution, which it measures on its own
    noise, is none). The accounted weight moves by as much; nothing is asked."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        defer_below_g: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        if x.ev.delta_g or not 0 < abs(x.moved) < self.s.defer_below_g:
            return False
        st.accounted += x.moved
        out.append(Audit(x.t, "fusion.scale_drift", (("grams", round(x.moved, 1)),)))
        return True


class Drift(Rule):
    """Claims a change under ``min_change_g``: not an item. While both measures stay under
    half of it, the accounted weight follows (slow drift while nothing happens)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        min_change_g: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        if abs(x.r) >= self.s.min_change_g:
            return False
        half = 0.5 * self.s.min_change_g
        if abs(x.r2) < half and abs(x.r) < half:
            st.accounted = x.ev.grams  # follow slow drift while nothing happens
        return True


class LoadShift(Rule):
    """Claims a change under ``min_item_g`` that the camera did not see (no verdict within
    ``verdict_before_ms``) and that no scanned item, tare or placement of that weight explains
    (to twice ``match_floor_g``), nor, for a rise, produce chosen and waiting to be placed (a
    few asparagus in a bag weigh 20 g: taken for a load shift, the choice billed the next item
    put in as asparagus): lighter than anything the store sells, the load shifted (a push, a
    bag folding); so is a drop within ``shift_frac`` of the load even where a light line
    fits it (the scale cannot tell them apart there). A drop is accounted at once, with an
    audit; a reading back at the old weight later is ``ShiftSettledBack``. A rise is held
    first (``Deferred.shift``): the vision worker looks only once the weight has settled, so
    its verdict on a light item (a few spears of asparagus, a mushroom) comes after the
    reading; seen within ``verdict_after_ms`` it is an item (``verdict.SeenWithHeldChange``),
    else a load shift."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        min_item_g: float
        verdict_before_ms: int
        match_floor_g: float
        shift_frac: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        # a drop within what the load shifts by on its own is no evidence of a light line
        # leaving (at 20 kg, 0.2 % is 40 g)
        within_shift = x.r < 0 and -x.r <= load_shift_g(self.s.shift_frac, x.before)
        if (
            abs(x.r) >= self.s.min_item_g
            or st.sighting_near(x.t, x.ev.settle_ms, self.s.verdict_before_ms)
            or (self.expected(st, abs(x.r)) and not within_shift)
            or (x.r > 0 and st.pending_produce)  # produce chosen, not yet placed: it, light
        ):
            return False
        if x.r > 0:
            st.deferred = Deferred(x.ev, x.t, x.before, x.noise, shift=True)
        else:
            load_shifted(st, x.before, x.ev.grams, x.t, out)
        return True

    def expected(self, st: State, g: float) -> bool:
        return expected_weight(st, g, self.s.match_floor_g)


def _weighs(ln: Line, g: float, match_floor_g: float) -> bool:
    """``ln``'s item weighs ``g`` (to twice ``match_floor_g`` plus 3 σ of its weight)."""
    return abs(ln.expect_g - g) <= match_floor_g * 2 + 3 * ln.expect_sigma


def expected_weight(st: State, g: float, match_floor_g: float) -> bool:
    """A scanned item, a tare or a placement this light is expected to come or go."""
    tol = match_floor_g * 2
    return (
        any(_weighs(ln, g, match_floor_g) for ln in st.lines.values())
        or any(abs(x - g) <= tol for x in st.tare)
        or any(abs(pl.grams - g) <= tol for pl in st.placements.values())
    )


def expected_to_come(st: State, g: float, match_floor_g: float) -> bool:
    """An item this light is expected to come in: a scan waiting for its item, or an item
    taken out that may come back (a line already in the cart cannot come in again)."""
    waiting = (ln for ln in st.lines.values() if not ln.placed)
    taken_out = (ln for _, ln in st.taken_out)
    return any(_weighs(ln, g, match_floor_g) for ln in itertools.chain(waiting, taken_out))


class PushShift(Rule):
    """Claims a drop that settled only after the platform moved for ``push_ms`` or longer (the
    cart pushed, not a hand taking an item out, which settles within a second or two) and
    that is within ``shift_frac`` of the load (at least ``min_item_g``), with no camera
    verdict within ``verdict_before_ms``: the load shifted while the cart moved (items
    sliding to a corner of the platform, load-cell creep under the basket's load). Taking a
    billed line off on such a drop would undercharge silently; the line stays, and a shopper
    who did take it out sees it billed and removes it on screen. Accounted, with an audit. So
    is a light rise (under ``defer_below_g``) after a push that nothing expected to come in
    weighs (a scan waiting for its item, an item taken out; a passion fruit billed and in the
    cart is no reason for a 19 g rise to be one), once the camera's verdict that follows the
    settle has not come (held as
    ``LoadShift`` holds one): a push that shifts a 10-35 kg load settles 14-21 g off, which
    "scan the item you just added" left for staff, while an item dropped in unscanned during
    a push is one the camera sees."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        push_ms: int
        shift_frac: float
        min_item_g: float
        verdict_before_ms: int
        defer_below_g: float
        match_floor_g: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        shift = max(self.s.min_item_g, load_shift_g(self.s.shift_frac, x.before))
        if (
            x.r == 0
            or x.ev.settle_ms < self.s.push_ms
            or abs(x.r) > shift
            or st.sighting_near(x.t, x.ev.settle_ms, self.s.verdict_before_ms)
        ):
            return False
        if x.r < 0:
            if st.expected_out:
                return False
            load_shifted(st, x.before, x.ev.grams, x.t, out)
            return True
        if (
            x.r >= self.s.defer_below_g
            or st.pending_produce
            or expected_to_come(st, x.r, self.s.match_floor_g)
        ):
            return False
        # a light rise: held for the camera's verdict, which follows the settle; unseen, a
        # load shift (``LoadShift``)
        st.deferred = Deferred(x.ev, x.t, x.before, x.noise, shift=True)
        return True


class HoldLight(Rule):
    """Claims a change under ``defer_below_g`` the camera did not see: held a moment (see
    ``Timeouts`` and ``HeldChangeSettles``) for the load to settle back."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        defer_below_g: float
        verdict_before_ms: int

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        if abs(x.r) >= self.s.defer_below_g or st.sighting_near(
            x.t, x.ev.settle_ms, self.s.verdict_before_ms
        ):
            return False
        st.deferred = Deferred(x.ev, x.t, x.before, x.noise)
        return True


class ExplainChange(Rule):
    """Claims every reading that reaches it: the change (measured between the two readings
    around the action when that agrees in sign and is at least ``min_change_g``) goes to the
    placement or the removal rules."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        min_change_g: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        r = x.r
        if abs(x.r2) >= self.s.min_change_g and (x.r2 > 0) == (r > 0):
            r = x.r2  # the two readings around the action measure it best
        st.rules.change(st, r, x.before, x.ev, x.t, x.noise, out)
        return True


SETTLE: tuple[type[Rule], ...] = (
    HeldChangeSettles,
    HeldDropCameBack,
    WeightCameBack,
    UndoLastChange,
    BagSlump,
    SettledAgainLower,
    ShiftSettledBack,
    ScaleFollowedDrift,
    Drift,
    LoadShift,
    PushShift,
    HoldLight,
    ExplainChange,
)
