"""A trip scored against the truth: the bill truth (``mpe_g``, ``line_price``), the
``TripResult``, and the scoring step of a played trip."""

from __future__ import annotations

from dataclasses import dataclass, field

from cart.fusion.alerts import AlertKind
from cart.fusion.products import Product
from cart.pricing.rounding import weight_amount
from cart.sim.trips.scales import T0


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


class _Scoring:
    """The scoring step of a played trip (``_Play``): the bill against the truth."""

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
