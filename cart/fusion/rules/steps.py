"""Steps several chains share: the camera judging a billed line, asking about an unexplained
placement, and weighing produce under an open question."""

from __future__ import annotations

from dataclasses import dataclass

from cart.common.i18n import Phrase
from cart.fusion import evidence as ev
from cart.fusion.alerts import AlertKind, Candidate, Effect, Notice
from cart.fusion.products import Product
from cart.fusion.rules.base import Step
from cart.fusion.state import Line, Placement, State


def bag_tare(p: Product, default_g: float) -> float:
    """What a store bag of ``p`` weighs: the product's own tare, else ``default_g``."""
    return p.tare_g if p.tare_g > 0 else default_g


def pending_items(pend: list[Line]) -> list[ev.Expected]:
    """Scans waiting for their item, as expectations for ``evidence.best_subset``."""
    return [
        ev.Expected(
            ln, ev.ItemKind.PENDING_SCAN, ln.expect_g, ln.expect_sigma**2, ln.t_ms, ln.product.label
        )
        for ln in pend
    ]


class Judge(Step):
    """The camera judges a line billed for a placement (Bayes, the weight a second witness).

    With a verdict: a posterior of the line's product below ``vision_flag_below`` raises
    ``looks_different``; otherwise (``learn``) the item's weight is learned. Without one:
    produce (priced by the PLU the shopper chose) must be shown to the camera, and the weight
    is learned at once (``learn``; a late verdict may still judge the line)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        use_vision: bool
        produce_needs_view: bool
        vision_flag_below: float

    def __call__(
        self,
        st: State,
        pl: Placement,
        ln: Line,
        t: int,
        out: list[Effect],
        *,
        learn: bool = False,
        whole: int | None = None,
    ) -> None:
        """``whole``: the shopper says the placement holds that many items of ``ln``'s product
        (a confirmed quantity, ``ln`` one of them): its whole weight is the witness."""
        if pl.verdict is None:
            if learn and ln.measured_g is not None:
                pl.line_ids = [ln.id]  # a late verdict may still judge this
                st.weights.observe(ln.product, ln.measured_g)
            if (
                ln.product.by_weight
                and ln.product.label
                and self.s.use_vision
                and self.s.produce_needs_view
            ):
                # produce is priced by the PLU the shopper chose: the camera must see it
                o = st.ask(
                    out,
                    t,
                    AlertKind.LOOKS_DIFFERENT,
                    Phrase("Show the {name} to the camera", name=ln.product.name),
                    line_id=ln.id,
                    grams=ln.measured_g,
                    placement=pl,
                    product=ln.product,
                )
                pl.flag_id = o.flag.id
                pl.recheck, pl.recheck_ms = True, t
            return
        grams = ln.measured_g if ln.weight_g is None else None
        if whole is not None:
            grams = pl.grams
        post = st.posterior(ln.product, grams, pl.verdict, count=whole or 1)
        if post is not None and post < self.s.vision_flag_below:
            top_label = pl.verdict[0][0]
            o = st.ask(
                out,
                t,
                AlertKind.LOOKS_DIFFERENT,
                Phrase(
                    "This does not look like {name}. Show it again, or scan the right item",
                    name=ln.product.name,
                ),
                line_id=ln.id,
                grams=ln.measured_g,
                candidates=(Candidate(top_label, top_label, pl.verdict[0][1]),),
                placement=pl,
                product=ln.product,
            )
            pl.flag_id = o.flag.id
        elif learn and ln.measured_g is not None:
            st.weights.observe(ln.product, ln.measured_g)


class AskUnexplained(Step):
    """A placement nothing explains becomes a question: ``weigh_produce`` (with the camera's
    top three produce) when the camera is at least ``produce_vision_min`` sure it is produce
    (``evidence.produce_share``: its produce labels together), else ``scan_added``. The
    placement is kept as unexplained until answered."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        produce_vision_min: float

    def __call__(self, st: State, pl: Placement, t: int, out: list[Effect]) -> None:
        sugg = ev.produce_suggestions(pl.verdict, st.catalogue.by_label)
        if (
            sugg
            and ev.produce_share(pl.verdict, st.catalogue.by_label) >= self.s.produce_vision_min
        ):
            f = st.raise_flag(
                out,
                t,
                AlertKind.WEIGH_PRODUCE,
                Phrase("Which produce did you add ({grams:.0f} g)?", grams=pl.grams),
                grams=pl.grams,
                candidates=tuple(sugg[:3]),
            )
        else:
            f = st.raise_flag(
                out,
                t,
                AlertKind.SCAN_ADDED,
                Phrase("Scan the item you just added ({grams:.0f} g)", grams=pl.grams),
                grams=pl.grams,
            )
        pl.flag_id = f.id
        st.questions[f.id].placement = pl
        st.placements[pl.id] = pl


class WeighProduce(Step):
    """Produce chosen for an open question's placement: billed by its net weight (less the
    bag's tare when bagged; refused when that leaves nothing), the question answered, and the
    line judged by the camera."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        bag_tare_g: float

    def __call__(
        self, st: State, fid: int, p: Product, code: str, bagged: bool, t: int, out: list[Effect]
    ) -> None:
        o = st.questions[fid]
        pl = o.placement
        # weighed only for scan_added / weigh_produce (always about a placement) or a quantity
        # question its caller checked has one
        assert pl is not None
        tare = bag_tare(p, self.s.bag_tare_g) if bagged else 0.0
        net = pl.grams - tare
        if net <= 0:
            out.append(Notice(t, "refused", Phrase("That weighs less than the bag")))
            return
        st.placements.pop(pl.id, None)
        ln = st.add_line(out, t, p, code, weight_g=round(net, 1), placed=True, measured=pl.grams)
        st.resolve(out, t, fid, f"weighed as {p.name}", "shopper")
        pl.flag_id = None
        pl.line_ids = [ln.id]  # billed for this placement (a bag settling again re-weighs it)
        st.rules.judge(st, pl, ln, t, out)
