"""Removal rules: what a settled drop on the scale is.

A drop is explained by the FIRST of these rules that claims it, in this order (``REMOVAL``):

1. ``DeletedLineLeaves`` — the item of a line deleted on screen leaving the cart;
2. ``TakeOutAnswered`` — the item an open ``take_out`` question asked to take out;
3. ``UnexplainedPlacementTakenBack`` — an unexplained placement taken back out;
4. ``PersonalItemOut`` — a personal item (tare), when no billed item fits;
5. ``OneProductOut`` — a billed item, when only one product fits (and no personal item), by
   more than the load shifts on its own;
6. ``AskWhichRemoved`` — several products (or a product and a personal item) fit, or one
   within the load's own shift: a picker (with "nothing" for the latter);
7. ``SeveralLinesOut`` — several billed items at once, the smallest set that fits (asked
   when one other item misses it by no more than the load's own shift);
8. ``UnexplainedRemoval`` — nothing fits: "put it back, or call staff".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from cart.common.i18n import Phrase
from cart.fusion import evidence as ev
from cart.fusion.alerts import AlertKind, Candidate, Effect
from cart.fusion.rules.base import Rule, load_shift_g
from cart.fusion.state import HeldDrop, Line, Placement, State, Undo

NOTHING_OUT = "nothing"  # the picker's answer "I took nothing out"


def billed_weight(ln: Line) -> tuple[float, float]:
    """What a billed line's item weighs on the scale, and the variance to match it with (its
    own measured weight, else a quarter of its expected variance; none for by-weight lines)."""
    m = ln.measured_g if ln.measured_g is not None else ln.expect_g
    return m, 0.0 if ln.weight_g is not None else ln.expect_sigma**2 * 0.25


class Drop:
    """A settled drop of ``r`` grams to explain, and what the removal rules share about it."""

    def __init__(self, st: State, r: float, t: int, noise: float, hold: bool = True) -> None:
        self.st, self.r, self.t, self.noise = st, r, t, noise
        self.hold = hold  # False: a held drop asked about now (``flush_held_drop``)

    @cached_property
    def placed(self) -> list[Line]:
        """The billed lines whose item is on the scale."""
        return [ln for ln in self.st.lines.values() if ln.placed]

    @cached_property
    def singles(self) -> list[Line]:
        """The billed lines whose item alone fits the drop."""
        fit = []
        for ln in self.placed:
            m, var = billed_weight(ln)
            if abs(self.r - m) <= self.st.tol(var, self.noise):
                fit.append(ln)
        return fit

    @cached_property
    def tare_i(self) -> int | None:
        """The first personal item (tare) that fits the drop, by index."""
        return next(
            (
                i
                for i, g in enumerate(self.st.tare)
                if abs(g - self.r) <= self.st.tol(0.0, self.noise * 1.5)
            ),
            None,
        )


class DeletedLineLeaves(Rule):
    """Claims a drop that the smallest set of lines deleted on screen (their items still
    expected to leave) fits; they are no longer expected."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        max_subset: int

    def apply(self, st: State, x: Drop, out: list[Effect]) -> bool:
        if not st.expected_out:
            return False
        best = st.best_subset(
            x.r,
            [
                ev.Expected(
                    e,
                    ev.ItemKind.DELETED_LINE,
                    e[0].measured_g or e[0].expect_g,
                    e[0].expect_sigma ** 2,
                )
                for e in st.expected_out
            ],
            x.noise,
            self.s.max_subset,
        )
        if best is None:
            return False
        for e in best:
            st.expected_out.remove(e)
        return True


class TakeOutAnswered(Rule):
    """Claims a drop that weighs what an open ``take_out`` question is about; answers it."""

    def apply(self, st: State, x: Drop, out: list[Effect]) -> bool:
        for fid, o in st.open_of(AlertKind.TAKE_OUT):
            if o.placement is not None and abs(o.placement.grams - x.r) <= st.tol(
                o.product and st.sigma(o.product)[1] ** 2 or 0, x.noise
            ):
                st.resolve(out, x.t, fid, "taken out", "cart")
                return True
        return False


class UnexplainedPlacementTakenBack(Rule):
    """Claims a drop that weighs like an unexplained placement (or a false weight change
    reverting; the closest, the newest on a tie), except one staff must see when a billed item
    fits the drop as well (the shopper may have taken that out instead). Forgets the
    placement and closes its question. So too a rise only guessed at by an open quantity
    question ("Looks like 1 more × ...", nothing billed for it yet): a hand that leaned on the
    basket for a few seconds and let go. The two changes are matched to 1.5 × the noise plus
    ``shift_frac`` of the weight (load cells' creep and hysteresis over a load cycle); when a
    billed item fits the drop too, only to 1.5 × the noise and only when every billed item
    that fits misses the drop by more than twice the noise beyond the guess."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        shift_frac: float

    def apply(self, st: State, x: Drop, out: list[Effect]) -> bool:
        billed_fits = bool(x.singles)
        back = [
            (abs(pl.grams - x.r), -pid)
            for pid, pl in st.placements.items()
            if abs(pl.grams - x.r) <= st.tol(0.0, x.noise * 1.5)
            and not (
                billed_fits
                and pl.flag_id in st.questions
                and st.questions[pl.flag_id].flag.needs_staff
            )
        ]
        if not back:
            return self.guess_taken_back(st, x, out)
        pl = st.placements.pop(-min(back)[1])
        if pl.flag_id in st.questions:
            st.resolve(out, x.t, pl.flag_id, "taken back out", "cart")
        return True

    def guess_taken_back(self, st: State, x: Drop, out: list[Effect]) -> bool:
        # a billed item that fits as well may be what left, unless the guess fits within the
        # scale's noise and the billed items clearly worse (by more than twice the noise)
        billed = min((abs(x.r - billed_weight(ln)[0]) for ln in x.singles), default=None)
        for fid, o in reversed(st.open_of(AlertKind.QUANTITY)):
            pl = o.placement
            if pl is None or pl.line_ids or o.answered:
                continue
            miss = abs(pl.grams - x.r)
            if billed is None:
                tol = st.tol(0.0, x.noise * 1.5) + load_shift_g(self.s.shift_frac, abs(pl.grams))
            elif billed - miss > 2.0 * x.noise:
                tol = st.tol(0.0, x.noise * 1.5)
            else:
                continue
            if miss <= tol:
                st.resolve(out, x.t, fid, "taken back out", "cart")
                return True
        return False


class PersonalItemOut(Rule):
    """Claims a drop that fits a personal item (tare) when no billed item fits it: the tare
    goes (undone if the weight comes straight back)."""

    def apply(self, st: State, x: Drop, out: list[Effect]) -> bool:
        if x.tare_i is None or x.singles:
            return False
        g = st.tare.pop(x.tare_i)
        st.undo = Undo(x.t, st.settled + x.r, tare=[g])
        return True


def within_shift(st: State, x: Drop, shift_frac: float) -> bool:
    """The drop is within what the load shifts by on its own (``shift_frac`` of the load before
    it: load-cell creep and hysteresis, the corner error as items slide): the scale cannot
    tell it from an item taken out."""
    return x.r <= load_shift_g(shift_frac, st.accounted + x.r)


class OneProductOut(Rule):
    """Claims a drop that billed items of exactly one product fit, and no personal item: the
    newest such line leaves the bill, with no question (undone if the weight comes straight
    back). Not a drop within the load's own shift (``within_shift``): that is asked."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        shift_frac: float

    def apply(self, st: State, x: Drop, out: list[Effect]) -> bool:
        if (
            not x.singles
            or x.tare_i is not None
            or len({ln.product.id for ln in x.singles}) != 1
            or within_shift(st, x, self.s.shift_frac)
        ):
            return False
        st.take_out(x.singles[-1], x.t, out, "taken out")
        st.undo = Undo(x.t, st.settled + x.r, lines=[st.taken_out[-1][1]])
        return True


class AskWhichRemoved(Rule):
    """Claims a drop that billed items of several products fit, or one and a personal item,
    or any that billed items fit within the load's own shift (``within_shift``): only the
    shopper knows which one left. Asks ``which_removed`` (one choice per product, "my own bag
    or item" when the tare fits too, "nothing" when the load may only have shifted: a line
    kept costs the store nothing, so that answer needs no proof).

    Several products and nothing else: the question waits (``State.held_drop``, every line
    still billed) until the next weight change, a line deleted on screen, check-out or
    ``which_removed_hold_ms``, whichever comes first (``flush_held_drop``): a shopper who
    lifted an item out to read its label and put it back needs no question
    (``held_drop.HeldDropCameBack``)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        shift_frac: float
        which_removed_hold_ms: int

    def apply(self, st: State, x: Drop, out: list[Effect]) -> bool:
        if not x.singles:
            return False
        nothing = within_shift(st, x, self.s.shift_frac)
        several = len({ln.product.id for ln in x.singles}) > 1
        hold = x.hold and self.s.which_removed_hold_ms > 0
        if hold and several and not nothing and x.tare_i is None:
            ids = tuple(ln.id for ln in x.singles)
            st.held_drop = HeldDrop(x.t, x.r, st.settled + x.r, st.settled, x.noise, ids)
            return True
        ask_which_removed(st, x, x.singles, out, nothing=nothing)
        return True


def ask_which_removed(
    st: State, x: Drop, lines: list[Line], out: list[Effect], nothing: bool
) -> None:
    """Ask ``which_removed`` about the drop: one choice per product of ``lines`` (the newest
    line of each), "my own bag or item" when a personal item fits, and "nothing" when
    ``nothing``."""
    by_prod: dict[str, Line] = {}
    for ln in lines:
        by_prod[ln.product.id] = ln
    cands = [Candidate(f"line:{ln.id}", ln.product.name) for ln in by_prod.values()]
    if x.tare_i is not None:
        cands.append(Candidate("personal", Phrase("My own bag or item")))
    if nothing:
        cands.append(Candidate(NOTHING_OUT, Phrase("Nothing: I took nothing out")))
    st.ask(
        out,
        x.t,
        AlertKind.WHICH_REMOVED,
        Phrase("Which item did you take out ({grams:.0f} g)?", grams=x.r),
        grams=x.r,
        candidates=tuple(cands),
        placement=Placement(0, x.t, x.r),
    )


class SeveralLinesOut(Rule):
    """Claims a drop that the smallest set of billed items fits (several taken out at once):
    their lines leave the bill (undone if the weight comes straight back). When one other
    billed item misses the drop by no more than the load's own shift beyond its tolerance,
    the shopper is asked which left instead (each of those items, and each of the set's): one
    item out is likelier than several, and the scale cannot tell them apart."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        max_subset: int
        shift_frac: float

    def apply(self, st: State, x: Drop, out: list[Effect]) -> bool:
        if not x.placed:
            return False
        items = [
            ev.Expected(ln, ev.ItemKind.BILLED_LINE, *billed_weight(ln), t_ms=ln.t_ms)
            for ln in x.placed
        ]
        best = st.best_subset(x.r, items, x.noise, self.s.max_subset)
        if best is None:
            return False
        if len(best) > 1:
            shift = load_shift_g(self.s.shift_frac, st.accounted + x.r)
            near = []
            for ln in x.placed:
                m, var = billed_weight(ln)
                if ln not in best and abs(x.r - m) <= st.tol(var, x.noise) + shift:
                    near.append(ln)
            if near:
                ask_which_removed(st, x, [*near, *best], out, nothing=False)
                return True
        for ln in best:
            st.take_out(ln, x.t, out, "taken out")
        st.undo = Undo(x.t, st.settled + x.r, lines=list(best))
        return True


class UnexplainedRemoval(Rule):
    """Claims every drop that reaches it: ``unexplained_removal`` ("put it back, or call
    staff")."""

    def apply(self, st: State, x: Drop, out: list[Effect]) -> bool:
        st.ask(
            out,
            x.t,
            AlertKind.UNEXPLAINED_REMOVAL,
            Phrase(
                "Something of {grams:.0f} g was taken out: put it back, or call staff", grams=x.r
            ),
            grams=x.r,
            needs_staff=False,
            placement=Placement(0, x.t, x.r),
        )
        return True


REMOVAL: tuple[type[Rule], ...] = (
    DeletedLineLeaves,
    TakeOutAnswered,
    UnexplainedPlacementTakenBack,
    PersonalItemOut,
    OneProductOut,
    AskWhichRemoved,
    SeveralLinesOut,
    UnexplainedRemoval,
)
