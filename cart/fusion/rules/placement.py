"""Placement rules: what a settled rise on the scale is.

A rise is explained by the FIRST of these rules that claims it, in this order (``PLACEMENT``):

1. ``PutBackUnexplainedRemoval`` — something taken out that nothing explained, put back;
2. ``PendingScans`` — the smallest set of pending scans that fits (scan, then place);
3. ``ProduceChosenFirst`` — produce chosen on screen before it was placed;
4. ``PendingScansAfterProduce`` — pending scans, when produce was chosen after the last of them;
5. ``MoreOfLastScanned`` — more of the item just scanned and placed, put in one by one;
6. ``ItemComingBack`` — an item taken out a moment ago, put back (the camera must see it);
7. ``QuantityOfPending`` — n × one pending product: a quantity question;
8. ``PriceLabelPlaced`` — a pending price label whose product has no typical weight: that item;
9. ``LabelWeightDiffers`` — a pending label the rise does not fit: ``label_weight`` (staff);
10. ``Unexplained`` — anything else: ``weigh_produce`` or ``scan_added``.

A deli or bakery label's item is expected at the label's net weight (plus the product's tare),
to the scale's tolerance, so ``PendingScans`` places it when the scale agrees with the label;
rules 8 and 9 say what a rise is when it does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from cart.common.i18n import Phrase
from cart.fusion import evidence as ev
from cart.fusion.alerts import AlertKind, Candidate, Effect
from cart.fusion.products import Product
from cart.fusion.rules.base import Rule
from cart.fusion.rules.steps import bag_tare, pending_items
from cart.fusion.state import Line, Placement, State, Undo


@dataclass
class Rise:
    """A settled rise of ``r`` grams to explain, and what the placement rules share about it:
    ``pend``, the scans waiting for their item (one whose item did not come in time only when
    the camera sees its product: without a view, a late item of that weight is as likely
    something else), and whether produce was chosen after the last of them."""

    pl: Placement
    r: float
    t: int
    noise: float
    pend: list[Line]
    produce_first: bool

    @classmethod
    def of(
        cls,
        st: State,
        r: float,
        t: int,
        settle_ms: int,
        noise: float,
        *,
        verdict_before_ms: int,
        produce_window_ms: int,
    ) -> Rise:
        """A new placement (with the camera verdict that belongs to it); produce chosen
        longer than ``produce_window_ms`` ago is dropped first."""
        pl = Placement(st.next_place, t, r, st.take_verdict(t, settle_ms, verdict_before_ms))
        pl.noise = noise
        st.next_place += 1
        st.last_placement = pl
        seen = dict(pl.verdict or ())
        pend = [
            ln
            for ln in st.lines.values()
            if not ln.placed
            and (ln.flag_id is None or seen.get(ln.product.label or "", 0.0) >= 0.3)
        ]
        st.pending_produce = [pp for pp in st.pending_produce if t - pp.t_ms <= produce_window_ms]
        produce_first = bool(st.pending_produce) and (
            not pend or st.pending_produce[0].t_ms >= max(ln.t_ms for ln in pend)
        )
        return cls(pl, r, t, noise, pend, produce_first)


def quantity_candidates(p: Product, fits: list[int]) -> tuple[Candidate, ...]:
    return tuple(Candidate(str(k), Phrase("{count} × {name}", count=k, name=p.name)) for k in fits)


class PutBackUnexplainedRemoval(Rule):
    """Claims a rise that weighs what an open ``unexplained_removal`` was about (to the
    scale's noise; the closest, the newest on a tie). Closes that question ("put back") and
    remembers it, so that a drop straight after re-opens it."""

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        back = [
            (abs(o.placement.grams - x.r), -fid)
            for fid, o in st.open_of(AlertKind.UNEXPLAINED_REMOVAL)
            if o.placement is not None
            and abs(o.placement.grams - x.r) <= st.tol(0.0, x.noise * 1.5)
        ]
        if not back:
            return False
        fid = -min(back)[1]
        o = st.questions[fid]
        assert o.placement is not None  # fid was chosen among questions with a placement
        st.undo = Undo(x.t, st.settled - x.r, reopen=o.flag, reopen_grams=o.placement.grams)
        st.resolve(out, x.t, fid, "put back", "cart")
        return True


class PendingScans(Rule):
    """Claims a rise that the smallest set of pending scans fits (``evidence.best_subset``,
    the camera a second witness of which single scan it was), unless produce was chosen after
    the last of them. A single wide-tolerance scan is not claimed when the camera vetoes it
    (``evidence.camera_vetoes``; products placed within ``quantity_window_ms`` do not count).
    Marks the scans placed, the weight shared by their expected weights; a single scan of an
    item sold each is judged by the camera, and its weight learned."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        max_subset: int
        quantity_window_ms: int

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        if not x.pend or x.produce_first:
            return False
        pl = x.pl
        best = st.best_subset(
            x.r, pending_items(x.pend), x.noise, self.s.max_subset, top=pl.verdict
        )
        if (
            best is not None
            and len(best) == 1
            and self.vetoed(st, best[0].product, x.r, pl.verdict)
        ):
            best = None  # a wide fit the camera and the weight both say is another item
        if best is None:
            return False
        for ln in best:
            st.mark_placed(
                ln,
                x.t,
                out,
                x.r * ln.expect_g / sum(b.expect_g for b in best),
                alone=len(best) == 1,
            )
        pl.line_ids = [ln.id for ln in best]
        if len(best) == 1 and pl.verdict is None and len(x.pend) > 1:
            # chosen by weight alone among several: the camera's verdict, when it comes just
            # after the settle, may choose again (``LateVerdict``)
            pl.choices = [ln.id for ln in x.pend]
        if len(best) == 1:
            ln = best[0]
            if not ln.product.by_weight and ln.price_minor is None:
                # (a weight matched among several unseen is not learned: it may be another's)
                st.rules.judge(st, pl, ln, x.t, out, learn=not pl.choices)
        return True

    def vetoed(self, st: State, p: Product, grams: float, top) -> bool:
        just_placed = {
            ln.product.id
            for ln in st.lines.values()
            if ln.placed and st.t - ln.t_ms <= self.s.quantity_window_ms
        }
        return ev.camera_vetoes(p, grams, top, st.facts, st.camera, just_placed)


class ProduceChosenFirst(Rule):
    """Claims a rise when produce was chosen on screen before it was placed (the oldest
    choice): billed by its net weight (less ``bag_tare_g`` when bagged) and judged by the
    camera like a scan. A choice the rise does not outweigh is dropped, and the rise goes on
    down the chain."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        bag_tare_g: float

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        if not st.pending_produce:
            return False
        pp = st.pending_produce.pop(0)
        tare = bag_tare(pp.product, self.s.bag_tare_g) if pp.bagged else 0.0
        net = x.r - tare
        if net <= 0:
            return False
        ln = st.add_line(
            out, x.t, pp.product, pp.code, weight_g=round(net, 1), placed=True, measured=x.r
        )
        x.pl.line_ids = [ln.id]
        st.rules.judge(st, x.pl, ln, x.t, out)
        return True


class PendingScansAfterProduce(Rule):
    """Claims a rise that the smallest set of pending scans fits when produce was chosen after
    the last of them (and the produce did not claim it): no camera term, the scans marked
    placed; a single one without a price of its own is judged, and its weight learned."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        max_subset: int

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        if not x.pend or not x.produce_first:
            return False
        best = st.best_subset(x.r, pending_items(x.pend), x.noise, self.s.max_subset)
        if best is None:
            return False
        for ln in best:
            st.mark_placed(ln, x.t, out, x.r * ln.expect_g / sum(b.expect_g for b in best))
        x.pl.line_ids = [ln.id for ln in best]
        if len(best) == 1 and best[0].price_minor is None:
            st.rules.judge(st, x.pl, best[0], x.t, out, learn=True)
        return True


class MoreOfLastScanned(Rule):
    """Claims a rise, with no scan pending, that weighs n × the item sold each that was just
    scanned and placed (within ``quantity_window_ms``; its scan said 1), when the camera sees
    that product, or sees nothing and the weight tells the count alone; never when the camera
    doubts it (posterior below ``vision_flag_below``) or n exceeds ``max_quantity``. Asks
    (or grows the open question about the same product) "Looks like n more × ..."."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        quantity_window_ms: int
        max_quantity: int
        vision_flag_below: float

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        last = st.last_scanned
        if (
            last is None
            or not last.placed
            or last.id not in st.lines
            or x.pend
            or x.t - last.t_ms > self.s.quantity_window_ms
            or last.product.by_weight
            or last.price_minor is not None
        ):
            return False
        p, pl = last.product, x.pl
        counted = self.count(st, p, x)
        if counted is None:
            return False
        n, fits = counted
        for fid, o in st.open_of(AlertKind.QUANTITY):  # the same question, grown
            if (
                o.product is not None
                and o.product.id == p.id
                and o.placement is not None
                and not o.placement.line_ids
            ):
                total = o.count + n
                o.placement.grams += x.r
                o.count = total
                st.replace_flag(
                    out,
                    x.t,
                    fid,
                    grams=o.placement.grams,
                    message=Phrase(
                        "Looks like {count} more × {name}; you scanned one. Confirm the quantity "
                        "or scan each one",
                        count=total,
                        name=p.name,
                    ),
                )
                return True
        o = st.ask(
            out,
            x.t,
            AlertKind.QUANTITY,
            Phrase(
                "Looks like {count} more × {name}; you scanned one. Confirm the quantity "
                "or scan each one",
                count=n,
                name=p.name,
            ),
            grams=x.r,
            candidates=quantity_candidates(p, fits),
            placement=pl,
            product=p,
        )
        o.count = n
        pl.line_ids = []
        return True

    def count(self, st: State, p: Product, x: Rise) -> tuple[int, list[int]] | None:
        """(the likeliest count, every count the rise fits), when the evidence allows asking;
        else None."""
        mean, sig = st.sigma(p)
        n = round(x.r / mean) if mean > 0 else 0
        fits = ev.counts_that_fit(x.r, mean, sig, x.noise, max(1, n - 2), n, st.match)
        verdict = x.pl.verdict
        post = st.posterior(p, None, verdict)
        seen = bool(verdict and dict(verdict).get(p.label or "", 0.0) >= 0.3)
        telling = len(fits) == 1 and st.tol(sig * sig, x.noise) < mean / 3
        if (
            fits
            and max(fits) <= self.s.max_quantity
            and (seen or (verdict is None and telling))
            and (post is None or post >= self.s.vision_flag_below)
        ):
            return (n if n in fits else fits[0]), fits
        return None


class ItemComingBack(Rule):
    """Claims a rise that weighs, to the scale's noise, like an item taken out within
    ``readd_window_ms`` (the closest fit), when the camera sees that product against every
    look-alike with a prior of ``readd_prior`` (posterior at least ``vision_flag_below``):
    without a scan, the weight alone cannot tell the item put back from a new one. Re-bills
    it (marked as re-added), and the camera judges an item sold each."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        readd_window_ms: int
        readd_prior: float
        vision_flag_below: float

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        best_out = None
        for i, (t_out, ln) in enumerate(st.taken_out):
            if x.t - t_out > self.s.readd_window_ms:
                continue
            # the same physical item comes back: its own measured weight, to the scale's noise
            m = ln.measured_g if ln.measured_g is not None else ln.expect_g
            spread = 0.0 if ln.measured_alone or ln.weight_g is not None else ln.expect_sigma**2
            z = abs(x.r - m) / st.tol(spread, x.noise * 1.5)
            post = st.posterior(
                ln.product,
                x.r if ln.weight_g is None else None,
                x.pl.verdict,
                dearer_only=False,
                prior=self.s.readd_prior,
            )
            if (
                z <= 1.0
                and post is not None
                and post >= self.s.vision_flag_below
                and (best_out is None or z < best_out[0])
            ):
                best_out = (z, i)
        if best_out is None:
            return False
        _, old = st.taken_out.pop(best_out[1])
        ln = st.add_line(
            out,
            x.t,
            old.product,
            old.code,
            weight_g=old.weight_g,
            price_minor=old.price_minor,
            placed=True,
            measured=x.r,
        )
        ln.readd_ms = x.t
        x.pl.line_ids = [ln.id]
        if old.weight_g is None:
            st.rules.judge(st, x.pl, ln, x.t, out)
        return True


class QuantityOfPending(Rule):
    """Claims a rise that weighs n × one pending product sold each (n more than its scans,
    at most ``max_quantity``, its last scan within ``quantity_window_ms``), unless the camera
    sees something else. Marks those scans placed and asks to confirm the quantity."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        quantity_window_ms: int
        max_quantity: int
        vision_flag_below: float

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        by_prod: dict[str, list[Line]] = {}
        for ln in x.pend:
            if not ln.product.by_weight and ln.price_minor is None:
                by_prod.setdefault(ln.product.id, []).append(ln)
        return any(self.ask(st, x, lines, out) for lines in by_prod.values())

    def ask(self, st: State, x: Rise, lines: list[Line], out: list[Effect]) -> bool:
        p, pl = lines[0].product, x.pl
        mean, sig = st.sigma(p)
        if mean <= 0 or x.t - lines[-1].t_ms > self.s.quantity_window_ms:
            return False
        n = round(x.r / mean)
        fits = ev.counts_that_fit(x.r, mean, sig, x.noise, max(len(lines) + 1, n - 2), n, st.match)
        if not fits or max(fits) > self.s.max_quantity:
            return False
        if n not in fits:
            n = fits[0]
        post = st.posterior(p, None, pl.verdict)
        if post is not None and post < self.s.vision_flag_below:
            return False  # the camera sees something else: not more of the same
        for ln in lines:
            st.mark_placed(ln, x.t, out, mean)
        ask = (
            Phrase(
                "Looks like {count} × {name}; you scanned {scanned}. "
                "Confirm the quantity or scan each one",
                count=n,
                name=p.name,
                scanned=len(lines),
            )
            if len(fits) == 1
            else Phrase(
                "How many {name} did you put in? Looks like {count}; you scanned "
                "{scanned}. Enter the number or scan each one",
                count=n,
                name=p.name,
                scanned=len(lines),
            )
        )
        o = st.ask(
            out,
            x.t,
            AlertKind.QUANTITY,
            ask,
            grams=x.r,
            candidates=quantity_candidates(p, fits),
            placement=pl,
            product=p,
        )
        o.count = n - len(lines)
        pl.line_ids = [ln.id for ln in lines]
        return True


def label_lines(x: Rise) -> list[Line]:
    """The pending scans billed by their label's weight or price, oldest first."""
    return [ln for ln in x.pend if ln.weight_g is not None or ln.price_minor is not None]


def typical_weight(p: Product) -> bool:
    """The catalogue says what one item of ``p`` weighs (a range to check a price label by)."""
    return p.unit_weight_g > 0 and p.tolerance_g > 0


class PriceLabelPlaced(Rule):
    """Claims a rise, that no pending scan fits, while a price label (no weight in it) is
    pending whose product has no typical weight in the catalogue: the scale has nothing to
    check the label by, so the rise is that item (the oldest such label), billed at the
    label's price."""

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        ln = next(
            (ln for ln in label_lines(x) if ln.weight_g is None and not typical_weight(ln.product)),
            None,
        )
        if ln is None:
            return False
        st.mark_placed(ln, x.t, out, x.r, alone=True)
        x.pl.line_ids = [ln.id]
        return True


class LabelWeightDiffers(Rule):
    """Claims a rise, that no pending scan fits, while a label is pending that the scale can
    check: a label weight (its net weight plus the product's tare), or a price label on a
    product with a typical weight. The rise is taken for the newest such item, placed at the
    weight measured, and ``label_weight``, a question only staff answer, says what the label
    and the scale disagree on (staff approve, or remove the line)."""

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        lines = [
            ln for ln in label_lines(x) if ln.weight_g is not None or typical_weight(ln.product)
        ]
        if not lines:
            return False
        ln = lines[-1]
        p = ln.product
        st.mark_placed(ln, x.t, out, x.r, alone=True)
        x.pl.line_ids = [ln.id]
        if ln.weight_g is not None:
            net = max(0.0, x.r - p.tare_g)
            message = Phrase(
                "{name}: the label says {label_g:.0f} g but the scale weighed "
                "{net_g:.0f} g: staff will check",
                name=p.name,
                label_g=ln.weight_g,
                net_g=net,
            )
        else:
            lo, hi = p.unit_weight_g - p.tolerance_g, p.unit_weight_g + p.tolerance_g
            message = Phrase(
                "{name} weighed {grams:.0f} g; one usually weighs {low_g:.0f}-{high_g:.0f}"
                " g: staff will check",
                name=p.name,
                grams=x.r,
                low_g=max(0.0, lo),
                high_g=hi,
            )
        st.ask(
            out,
            x.t,
            AlertKind.LABEL_WEIGHT,
            message,
            line_id=ln.id,
            grams=x.r,
            needs_staff=True,
            product=p,
        )
        return True


class Unexplained(Rule):
    """Claims every rise that reaches it: an unexplained placement, asked about
    (``AskUnexplained``: ``weigh_produce`` when the camera sees produce, else ``scan_added``)."""

    def apply(self, st: State, x: Rise, out: list[Effect]) -> bool:
        st.rules.ask_unexplained(st, x.pl, x.t, out)
        return True


PLACEMENT: tuple[type[Rule], ...] = (
    PutBackUnexplainedRemoval,
    PendingScans,
    ProduceChosenFirst,
    PendingScansAfterProduce,
    MoreOfLastScanned,
    ItemComingBack,
    QuantityOfPending,
    PriceLabelPlaced,
    LabelWeightDiffers,
    Unexplained,
)
