"""A drop several billed products fit, held a moment before asking which it was
(``removal.AskWhichRemoved`` holds it in ``State.held_drop``): what ends the hold.

- ``HeldDropCameBack`` (a settle rule): the item put back, so nothing changed;
- ``flush_held_drop``: anything else (the next weight change, a line deleted on screen,
  check-out, or ``which_removed_hold_ms``) asks about it then; after the hold's end or at
  check-out the drop stays held with its question, which the item put back still closes.

Every line stays billed while a drop is held: waiting costs the store nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cart.fusion.alerts import AlertKind, Audit, Effect
from cart.fusion.rules.base import Rule, back_at
from cart.fusion.state import HeldDrop, Line, State

if TYPE_CHECKING:
    from cart.fusion.rules.settle import Reading


def may_be_put_back_in_steps(st: State, r: float, noise: float) -> bool:
    """A rise of ``r`` lighter than a held drop: maybe the first step of its item put back
    (a bag settling), so the drop goes on waiting (``HeldDropCameBack`` weighs the steps
    together); the hold's end still asks about it."""
    h = st.held_drop
    return h is not None and 0 < r < h.grams - st.tol(0.0, noise)


def flush_held_drop(st: State, t: int, out: list[Effect], keep: bool = False) -> None:
    """A held drop explained now, at ``t``, as if it had just happened: the removal rules
    again, with what is known now (a line deleted on screen meanwhile is what left), asking
    rather than holding. ``keep`` (the hold ran out, or the shopper pays, with nothing else
    in between): the drop stays held with its question (``HeldDrop.asked``), so the item
    put back later, in one step or several, still closes it (``HeldDropCameBack``). A drop
    already asked about is let go: its question stays open."""
    h = st.held_drop
    if h is None:
        return
    st.held_drop = None
    if h.asked is not None:
        return
    n_flags = st.next_flag
    st.rules.drop(st, h.grams, t, h.noise, out, hold=False)
    asked = [fid for fid in range(n_flags, st.next_flag) if fid in st.questions]
    if keep and asked and st.questions[asked[0]].flag.kind == AlertKind.WHICH_REMOVED:
        h.asked = asked[0]
        st.held_drop = h


class HeldDropCameBack(Rule):
    """Claims a rise back to where the weight was before a held drop, weighing what the drop
    did (to the noise, as ``WeightCameBack``: a new item of about that weight, scanned after
    it went in, is as likely): the item was lifted out and put back, so nothing changed and
    nobody is asked (a question the hold's end asked, still unanswered, closes). Put back in
    steps (a bag settling), the steps since the drop that are still unexplained and this one
    weigh it together; their questions close.

    Not when produce chosen on screen waits to be placed, or a scan waiting for its item fits
    the rise (a new item, likelier than the one put back): the drop is asked about and the
    rise goes on down the chain. When that waiting scan is of one of the drop's products, that
    product's line is what left and its waiting scan what came in (an item scanned twice,
    taken out and put back, is billed once). Nor when the camera saw something dearer go in
    that none of the drop's products explains (posterior under ``vision_flag_below`` against
    dearer look-alikes, prior ``readd_prior``; as a scan is judged, a look-alike that costs
    the same or less cannot undercharge)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        verdict_before_ms: int
        readd_prior: float
        vision_flag_below: float

    def apply(self, st: State, x: Reading, out: list[Effect]) -> bool:
        h = st.held_drop
        if h is not None and h.asked is not None and h.asked not in st.questions:
            st.held_drop = h = None  # answered meanwhile: nothing is held any more
        if h is None or x.r <= 0:
            return False
        tol = st.tol(0.0, x.noise)
        rise = x.r2 if x.r2 > 0 else x.r
        if not back_at(st, x.ev.grams, h.before_g, h.left_g, x.noise):
            return False
        # put back in steps (a bag settling): the earlier steps, still unexplained, and this
        # one together weigh what the drop did
        parts = [pl for pl in st.placements.values() if pl.t_ms > h.t_ms]
        if abs(rise - h.grams) > tol:
            if not parts or abs(x.ev.grams - h.left_g - h.grams) > tol:
                return False
            rise = x.ev.grams - h.left_g
        else:
            parts = []
        if st.pending_produce:
            return False
        if self.waiting_scan_fits(st, h, rise, x.noise, x.t, out):
            return False
        if not self.camera_agrees(st, h, rise, x):
            return False  # seen as something else: ``Rules.change`` asks about the drop
        st.held_drop = None
        if h.asked is not None:
            st.resolve(out, x.t, h.asked, "weight came back", "cart")
        for pl in parts:
            st.placements.pop(pl.id, None)
            if pl.flag_id in st.questions:
                st.resolve(out, x.t, pl.flag_id, "put back with the rest of the item", "cart")
        out.append(Audit(x.t, "fusion.put_back_unasked", (("grams", round(rise, 1)),)))
        st.accounted = x.ev.grams
        return True

    def waiting_scan_fits(
        self, st: State, h: HeldDrop, rise: float, noise: float, t: int, out: list[Effect]
    ) -> bool:
        waiting = [
            ln
            for ln in st.lines.values()
            if not ln.placed
            and ln.flag_id is None
            and abs(rise - ln.expect_g) <= st.tol(ln.expect_sigma**2, noise)
        ]
        if not waiting:
            return False
        held: dict[str, Line] = {}
        for i in h.line_ids:
            if i in st.lines:
                held[st.lines[i].product.id] = st.lines[i]
        same = next((held[ln.product.id] for ln in waiting if ln.product.id in held), None)
        if same is not None:
            st.held_drop = None
            st.take_out(same, t, out, "taken out")
            if h.asked is not None:
                st.resolve(out, t, h.asked, f"line {same.id} taken out", "cart")
        return True

    def camera_agrees(self, st: State, h: HeldDrop, rise: float, x: Reading) -> bool:
        v = st.last_verdict
        if v is None or not st.verdict_near(x.t, x.ev.settle_ms, self.s.verdict_before_ms):
            return True
        posts = [
            st.posterior(
                st.lines[i].product, rise, v[1], dearer_only=True, prior=self.s.readd_prior
            )
            for i in h.line_ids
            if i in st.lines
        ]
        if not any(p is None or p >= self.s.vision_flag_below for p in posts):
            return False
        st.last_verdict = None
        return True
