"""Scan rules: what a scanned (or keyed) code means for the basket.

A scan is explained by the FIRST of these rules that claims it, in this order (``SCAN``):

1. ``AgeRestricted`` — raises ``age_check`` for an age-restricted product (never claims);
2. ``ProduceCode`` — a produce PLU: weighs the oldest unexplained placement, or waits;
3. ``NotMoreOfThose`` — a quantity question about another product whose weight it fits;
4. ``OneMoreOfQuantity`` — a quantity question about this product: one more billed;
5. ``ScannedAgainAfterTakeOut`` — the item a ``take_out`` question was about stays;
6. ``ExplainsPlacement`` — place, then scan: the unexplained placement it fits best;
7. ``AnswersLooksDifferent`` — the right item scanned under ``looks_different``;
8. ``PutBackWasNew`` — an item just re-billed as put back was a new one, scanned now;
9. ``ScanThenPlace`` — bill now and expect the item on the scale.

A code the catalogue refuses is told to the shopper and journaled (``fusion.unknown_code``),
never billed (``on_scan``). A code with a weight or price of its own (a deli or bakery label) is
billed by the label, and its item is expected on the scale at the label's weight (the placement
rules check it). Once the chain has explained a scan, what its code still needs is the FIRST
of these (``AFTER_SCAN``):

1. ``ExpiredNeedsStaff`` — past its expiry date (store policy ``block``): ``expired`` (staff);
2. ``CodeWarnings`` — anything else the code says (expired under ``warn``, a best-before date
   passed): told to the shopper.
"""

from __future__ import annotations

from dataclasses import dataclass

from cart.common.events import Scan
from cart.common.i18n import Joined, Phrase
from cart.common.text import printable
from cart.fusion import actions as A
from cart.fusion.alerts import AlertKind, Audit, Effect, LineRemoved, Notice
from cart.fusion.products import Lookup, Product, Refused
from cart.fusion.rules.base import Rule, first_claim
from cart.fusion.rules.steps import pending_items
from cart.fusion.state import Line, PendingProduce, Placement, State

UNKNOWN_MESSAGE = Phrase("This code is not sold here. Put the item aside or call staff")


@dataclass(frozen=True, slots=True)
class Scanned:
    """A code looked up, at ``t``: its product, the weight its item should have (mean, σ: a
    pre-packed item's own, else the learned weight) and the price the code carries."""

    found: Lookup
    t: int
    mean: float
    sig: float

    @property
    def p(self) -> Product:
        return self.found.product

    @property
    def price(self) -> int | None:
        return self.found.price_minor

    @property
    def weight(self) -> float | None:
        """The net weight the code's label carries (billed by it), or None."""
        return self.found.weight_g

    @classmethod
    def of(cls, st: State, found: Lookup, t: int) -> Scanned:
        p = found.product
        mean, sig = st.sigma(p)
        if found.weight_g is not None:  # pre-packed with its weight in the code
            mean, sig = found.weight_g + p.tare_g, max(2.0, p.tolerance_g / 2)
        return cls(found, t, mean, sig)

    def fits(self, st: State, grams: float) -> bool:
        """This item fits ``grams`` (to the scale's default noise)."""
        return abs(grams - self.mean) <= st.tol(self.sig * self.sig, st.match.scale_sigma_g)


def bill(st: State, out: list[Effect], x: Scanned, **kw):
    """Put the scanned product on the bill: with the label's weight or price when its code
    carries one (a deli or bakery label), else at the catalogue's price."""
    return st.add_line(out, x.t, x.p, x.found.code, weight_g=x.weight, price_minor=x.price, **kw)


def on_scan(st: State, ev: Scan | A.EnterCode, t: int, out: list[Effect]) -> None:
    """Read the code as scanned (its symbology, and the time for expiry dates); a refused,
    unknown or broken code is told and journaled, never fatal. Then run the scan chain, and
    ``AFTER_SCAN`` on what it billed."""
    symbology = ev.symbology if isinstance(ev, Scan) else ""
    try:
        found = st.catalogue.read(ev.code, symbology, t)
    except (ValueError, KeyError, TypeError) as exc:  # a bad catalogue entry: not fatal
        out.append(
            Notice(t, "lookup_error", Phrase("could not look up the code: {error}", error=str(exc)))
        )
        return
    if isinstance(found, Refused):
        refused(found, symbology, t, out)
        return
    x = Scanned.of(st, found, t)
    first = st.next_line
    first_claim(st.rules.scan, st, x, out)
    billed = tuple(st.lines[i] for i in range(first, st.next_line) if i in st.lines)
    first_claim(st.rules.after_scan, st, Billed(x, billed), out)


def refused(r: Refused, symbology: str, t: int, out: list[Effect]) -> None:
    """Tell the shopper why a code is not billed, and journal it (``fusion.unknown_code``, the
    row the spot-check risk score counts), with the reason when there is one."""
    code = printable(r.code, 40)
    if r.misread:
        out.append(
            Notice(
                t,
                "misread",
                Phrase(
                    "Could not read that code, scan again ({code}: {reason})",
                    code=code,
                    reason=r.reason,
                ),
            )
        )
    elif r.reason:
        out.append(
            Notice(
                t,
                "refused_code",
                Phrase("This code is not sold here: {reason} ({code})", reason=r.reason, code=code),
            )
        )
    else:
        out.append(Notice(t, "unknown_code", UNKNOWN_MESSAGE))
    data: tuple[tuple[str, object], ...] = (("code", r.code),)
    if r.reason:
        data += (("reason", r.reason), ("symbology", symbology))
    out.append(Audit(t, "fusion.unknown_code", data))


def fitting_placement(st: State, x: Scanned, window_ms: int) -> Placement | None:
    """The unexplained placement (asked about within ``window_ms``, not yet staff's) that this
    item explains best, or None."""
    noise = st.match.scale_sigma_g
    best = None
    for pl in st.placements.values():
        if x.t - pl.t_ms > window_ms:
            continue  # an old question: a new scan is more likely a new item
        o = st.questions.get(pl.flag_id) if pl.flag_id is not None else None
        if o is not None and o.flag.needs_staff:
            continue  # staff decide this one
        z = abs(pl.grams - x.mean) / st.tol(x.sig * x.sig, noise)
        if z <= 1.0 and (best is None or z < best[0]):
            best = (z, pl)
    return None if best is None else best[1]


class AgeRestricted(Rule):
    """Claims nothing: for an age-restricted product, raises ``age_check`` (staff) and lets
    the scan go on down the chain (it is billed as any other)."""

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        if x.p.age_restricted:
            st.ask(
                out,
                x.t,
                AlertKind.AGE_CHECK,
                Phrase("{name} is age-restricted: staff will check your age", name=x.p.name),
                needs_staff=True,
                product=x.p,
            )
        return False


class ProduceCode(Rule):
    """Claims a produce code without a weight in it (a PLU): weighs the oldest unexplained
    placement under an open ``weigh_produce`` / ``scan_added`` question, or, with none, waits
    for the next placement (produce chosen first)."""

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        if not x.p.by_weight or x.found.weight_g is not None:
            return False
        for fid, o in st.open_of(AlertKind.WEIGH_PRODUCE, AlertKind.SCAN_ADDED):
            if o.placement is not None:
                st.rules.weigh(st, fid, x.p, x.found.code, False, x.t, out)
                return True
        st.pending_produce.append(PendingProduce(x.p, x.found.code, False, x.t))
        return True


class NotMoreOfThose(Rule):
    """Claims a scan that fits the weight of an open quantity question about another product:
    the placement was this item, not more of those. Bills it as placed, closes the question,
    and the lines the question had taken wait for their items again (``place_timeout_ms``)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        place_timeout_ms: int

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        for fid, o in st.open_of(AlertKind.QUANTITY):
            if (
                o.product is not None
                and o.product.id != x.p.id
                and o.placement is not None
                and x.fits(st, o.placement.grams)
            ):
                for lid in o.placement.line_ids:
                    ln = st.lines.get(lid)
                    if ln is not None:
                        st.unwait(ln, x.t, self.s.place_timeout_ms)
                st.resolve(out, x.t, fid, f"it was {x.p.name}", "cart")
                bill(
                    st,
                    out,
                    x,
                    placed=True,
                    measured=o.placement.grams,
                    expect=(x.mean, x.sig),
                )
                return True
        return False


class OneMoreOfQuantity(Rule):
    """Claims a scan of the product an open quantity question is about, unless an unexplained
    placement (within ``answer_window_ms``) fits this item: that is the more specific question
    it answers. Bills one more (placed); the question closes when all are scanned."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        answer_window_ms: int

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        asked = [
            (fid, o)
            for fid, o in st.open_of(AlertKind.QUANTITY)
            if o.product is not None and o.product.id == x.p.id
        ]
        if not asked or fitting_placement(st, x, self.s.answer_window_ms) is not None:
            return False
        fid, o = asked[0]
        bill(
            st,
            out,
            x,
            placed=True,
            measured=x.mean,
            alone=False,
            expect=(x.mean, x.sig),
        )
        o.count -= 1
        o.answered += 1
        if o.count <= 0:
            st.resolve(out, x.t, fid, "all scanned", "cart")
        return True


class ScannedAgainAfterTakeOut(Rule):
    """Claims a scan of the product an open ``take_out`` question is about (its line was
    deleted on screen): the item stays, billed again as placed; the question closes."""

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        for fid, o in st.open_of(AlertKind.TAKE_OUT):
            if o.product is not None and o.product.id == x.p.id:
                bill(
                    st,
                    out,
                    x,
                    placed=True,
                    measured=o.placement.grams if o.placement else x.mean,
                    expect=(x.mean, x.sig),
                )
                st.resolve(out, x.t, fid, "scanned again", "cart")
                return True
        return False


class ExplainsPlacement(Rule):
    """Claims a scan whose item fits an unexplained placement asked about within
    ``answer_window_ms`` (place, then scan; the best fit). An item of that product taken out
    earlier stays out. A scan of the same product still waiting for its item (matched late
    only if the camera saw it) is that item: nothing more is billed, the waiting line is
    placed. Otherwise the item is billed as placed. Either way the camera judges it."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        answer_window_ms: int

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        pl = fitting_placement(st, x, self.s.answer_window_ms)
        if pl is None:
            return False
        p, t = x.p, x.t
        del st.placements[pl.id]
        # the placement was this scanned item: an item of that product taken out earlier is
        # not the one that came back (it stays out)
        same = [
            (abs((ln.measured_g or ln.expect_g) - pl.grams), i)
            for i, (_, ln) in enumerate(st.taken_out)
            if ln.product.id == p.id
        ]
        if same:
            st.taken_out.pop(min(same)[1])
        # not once that scan has timed out: a scan kept out of the cart and a second item of
        # the product scanned later are then two items (staff decide)
        late = next(
            (
                ln
                for ln in st.lines.values()
                if not ln.placed
                and ln.product.id == p.id
                and ln.price_minor == x.price
                and ln.weight_g == x.weight
                and ln.flag_id is None
                and t - ln.t_ms <= self.s.answer_window_ms
            ),
            None,
        )
        if late is not None:
            st.mark_placed(late, t, out, pl.grams)
            if pl.flag_id in st.questions:
                st.resolve(out, t, pl.flag_id, "scanned (already billed)", "cart")
            pl.flag_id = None
            if not p.by_weight:
                st.rules.judge(st, pl, late, t, out)
            return True
        ln = st.add_line(
            out,
            t,
            p,
            x.found.code,
            placed=True,
            measured=pl.grams,
            expect=(x.mean, x.sig),
            weight_g=x.weight,
            price_minor=x.price,
        )
        if pl.flag_id in st.questions:
            st.resolve(out, t, pl.flag_id, "scanned", "cart")
        pl.flag_id = None
        if not x.found.labelled:  # a label's own weight or price is checked by the scale
            st.rules.judge(st, pl, ln, t, out, learn=True)
        return True


class AnswersLooksDifferent(Rule):
    """Claims a scan under an open ``looks_different`` question (not staff's, asked within
    ``answer_window_ms``): the same product again asks the camera for another view; another
    product that fits the placed weight is the item on the scale. The first scan then stays
    billed and waits for its own item (``place_timeout_ms``; never drop a billed line on the
    camera's word), or, produce weighed under the wrong PLU, its line is replaced."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        answer_window_ms: int
        place_timeout_ms: int

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        for fid, o in st.open_of(AlertKind.LOOKS_DIFFERENT):
            if (
                o.placement is None
                or o.flag.needs_staff
                or x.t - o.flag.t_ms > self.s.answer_window_ms
            ):
                continue  # staff decide that one; an old question is not this scan's
            old = st.flag_line(o)
            if old is None:
                continue
            if old.product.id == x.p.id:
                o.placement.recheck, o.placement.recheck_ms = True, x.t
                return True
            g = old.measured_g or 0.0
            if x.fits(st, g):
                self.swap(st, x, old, g, out)
                st.resolve(out, x.t, fid, "right item scanned", "cart")
                return True
        return False

    def swap(self, st: State, x: Scanned, old, g: float, out: list[Effect]) -> None:
        if old.weight_g is None:
            st.unwait(old, x.t, self.s.place_timeout_ms)
        else:  # produce weighed under the wrong PLU: that weight was this item
            del st.lines[old.id]
            out.append(LineRemoved(x.t, old.id, "replaced by the right item"))
        bill(
            st,
            out,
            x,
            placed=True,
            measured=g,
            expect=(x.mean, x.sig),
        )


class PutBackWasNew(Rule):
    """Claims a scan of the product of a line re-billed without a scan as an item put back
    (within ``quantity_window_ms``, same price): it was a new one put in before its scan, and
    the one taken out stays out. Nothing more is billed."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        quantity_window_ms: int

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        back = next(
            (
                ln
                for ln in st.lines.values()
                if ln.readd_ms is not None
                and ln.product.id == x.p.id
                and ln.price_minor == x.price
                and x.t - ln.readd_ms <= self.s.quantity_window_ms
            ),
            None,
        )
        if back is None:
            return False
        back.readd_ms = None
        out.append(Audit(x.t, "fusion.put_back_was_new", (("line_id", back.id),)))
        return True


class ScanThenPlace(Rule):
    """Claims every scan that reaches it: bills it now and expects the item on the scale
    within ``place_timeout_ms``. Several items put in together and then scanned one by one
    (``several_put_in_then_scanned``): once the recent scans (within 4 × ``quantity_window_ms``,
    this one among them) add up to an unexplained placement, they explain it."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        place_timeout_ms: int
        quantity_window_ms: int
        max_subset: int

    def apply(self, st: State, x: Scanned, out: list[Effect]) -> bool:
        ln = st.add_line(
            out,
            x.t,
            x.p,
            x.found.code,
            expect=(x.mean, x.sig),
            weight_g=x.weight,
            price_minor=x.price,
            deadline=x.t + self.s.place_timeout_ms,
        )
        self.several_put_in_then_scanned(st, ln, x.t, out)
        return True

    def several_put_in_then_scanned(self, st: State, ln, t: int, out: list[Effect]) -> None:
        window = self.s.quantity_window_ms * 4
        recent = []
        for x in reversed(st.lines.values()):  # newest first: lines are billed in time order,
            if t - x.t_ms > window:  # so the first one too old ends the look-back (a scan costs
                break  # the same however long the basket is)
            if not x.placed and x.weight_g is None:
                recent.append(x)
        recent.reverse()
        if len(recent) < 2:
            return
        for pl in sorted(st.placements.values(), key=lambda q: -q.t_ms):
            o = st.questions.get(pl.flag_id) if pl.flag_id is not None else None
            if o is not None and o.flag.needs_staff:
                continue  # staff decide this one (a refused "it's mine" among them)
            after = group_scans(recent, pl)
            if len(after) < 2:
                continue
            best = st.best_subset(
                pl.grams, pending_items(after), st.match.scale_sigma_g, self.s.max_subset
            )
            if best is not None and ln in best and len(best) >= 2:
                total = sum(x.expect_g for x in best)
                for x in best:
                    st.mark_placed(x, t, out, pl.grams * x.expect_g / total)
                del st.placements[pl.id]
                if pl.flag_id in st.questions:
                    st.resolve(out, t, pl.flag_id, "scanned", "cart")
                return


def group_scans(recent: list[Line], pl: Placement) -> list[Line]:
    """The scans that can be items of a group put in together at ``pl``: each one scanned
    since (one whose wait for its item ran out while the rest of the group was being scanned
    among them: its item was already in), and each one still waiting for its item when the
    group went in (scanned first, then put in with the others). A scan that had already
    timed out before the group went in is not one of them (staff decide)."""
    return [
        x
        for x in recent
        if x.t_ms >= pl.t_ms
        or x.flag_id is None
        or (x.deadline_ms is not None and x.deadline_ms > pl.t_ms)
    ]


SCAN: tuple[type[Rule], ...] = (
    AgeRestricted,
    ProduceCode,
    NotMoreOfThose,
    OneMoreOfQuantity,
    ScannedAgainAfterTakeOut,
    ExplainsPlacement,
    AnswersLooksDifferent,
    PutBackWasNew,
    ScanThenPlace,
)


# ---- after the chain: what the billed scan's code still needs ------------------------------


@dataclass(frozen=True, slots=True)
class Billed:
    """A scan the chain explained, and the lines it billed (none: its item was billed
    already, or it waits to be weighed)."""

    scan: Scanned
    lines: tuple[Line, ...]


class ExpiredNeedsStaff(Rule):
    """Claims a scan whose code is past its expiry date (17) under the store's ``expired =
    "block"`` policy (``Lookup.needs_staff``): the item stays billed, and ``expired``, a
    question only staff answer, blocks check-out until they approve the sale or remove the
    line."""

    def apply(self, st: State, x: Billed, out: list[Effect]) -> bool:
        if not x.scan.found.needs_staff:
            return False
        p = x.scan.p
        st.ask(
            out,
            x.scan.t,
            AlertKind.EXPIRED,
            Phrase("{name} is past its expiry date: staff will check it", name=p.name),
            line_id=x.lines[-1].id if x.lines else None,
            needs_staff=True,
            product=p,
        )
        return True


class CodeWarnings(Rule):
    """Claims a scan whose code carries warnings (an expiry date passed under ``expired =
    "warn"``, a best-before date passed): tells the shopper, once, with the product's name."""

    def apply(self, st: State, x: Billed, out: list[Effect]) -> bool:
        w = x.scan.found.warnings
        if not w:
            return False
        out.append(
            Notice(
                x.scan.t,
                "code_warning",
                Phrase("{name}: {warnings}", name=x.scan.p.name, warnings=Joined("; ", w)),
            )
        )
        return True


AFTER_SCAN: tuple[type[Rule], ...] = (ExpiredNeedsStaff, CodeWarnings)
