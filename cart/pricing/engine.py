"""Pricing: line amounts, promotions, coupons, tax and totals, in integer minor units.

The rounding rules are in ``cart.pricing.rounding`` and ``docs/PRICING.md``. All amounts are
non-negative integers; rounding is half-up on exact integer arithmetic (no floats anywhere).

    amount of a weighed line  = round_half_up(price_per_kg × grams / 1000)
    inclusive tax of a class  = round_half_up(class_total × rate / (1 + rate))
    exclusive tax of a class  = round_half_up(class_total × rate)
    total                     = subtotal − savings (+ tax when prices exclude tax)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cart.pricing.rounding import allocate, allocate_latest, round_half_up, weight_amount
from cart.store.model import Catalog, CatalogProduct, Coupon, Promotion, StoreConfig


@dataclass(frozen=True, slots=True)
class LineInput:
    """One basket line as the pricing sees it (built by the basket fold)."""

    line_id: str
    product: CatalogProduct
    qty: int = 1  # units (each) — weighed lines have qty 1
    grams: int = 0  # net grams for products sold by weight
    fixed_price: int | None = None  # a price printed in the barcode, per unit


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_id: str
    product_id: str
    name: str
    sold_by: str
    qty: int
    grams: int
    unit_price: int  # per item (each) or per kg (weight); the printed price for fixed lines
    amount: int  # before savings
    savings: int  # promotion savings on this line
    total: int  # amount - savings
    promotion: str  # name of the promotion that applied, "" if none
    tax_class: str
    fixed_price: bool


@dataclass(frozen=True, slots=True)
class TaxLine:
    tax_class: str
    name: str
    rate_bp: int
    base: int  # the class's total after all savings (gross when inclusive, net when exclusive)
    tax: int


@dataclass(frozen=True, slots=True)
class AppliedCoupon:
    code: str
    name: str
    amount: int  # the saving it gives now (0 when it does not apply yet)
    note: str = ""  # why it does not apply yet, e.g. "spend 200.00 SEK"


@dataclass(frozen=True, slots=True)
class PricedTotals:
    """The basket's totals as priced (the screen's summary of them is ``cart.app.view.Totals``)."""

    subtotal: int  # Σ line amounts, before savings
    savings: int  # promotion savings + coupon savings
    tax: int  # included in total (inclusive stores) or added to it (exclusive stores)
    total: int  # what the shopper pays
    promotion_savings: int = 0
    coupon_savings: int = 0
    taxes: tuple[TaxLine, ...] = ()
    currency: str = ""
    minor_digits: int = 2
    tax_inclusive: bool = True
    items: int = 0  # units sold each + weighed lines


EMPTY_TOTALS = PricedTotals(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Priced:
    lines: tuple[PricedLine, ...]
    coupons: tuple[AppliedCoupon, ...]
    totals: PricedTotals


def line_amount(li: LineInput) -> int:
    if li.fixed_price is not None:
        return li.fixed_price * li.qty
    if li.product.by_weight:
        return weight_amount(li.product.price, li.grams) * li.qty
    return li.product.price * li.qty


def _promotion_saving(
    promo: Promotion, lines: list[LineInput], amounts: list[int], loyalty: bool
) -> int:
    if promo.loyalty_only and not loyalty:
        return 0
    p = lines[0].product
    if promo.kind in ("multibuy", "x_for_y", "bogo"):
        if p.by_weight:
            return 0
        units = sum(li.qty for li in lines)
        groups = units // promo.buy
        if promo.kind == "multibuy":
            return max(0, groups * (promo.buy * p.price - promo.price))
        return groups * (promo.buy - promo.pay) * p.price
    if promo.kind == "loyalty_price":
        if p.by_weight:
            return sum(
                max(0, a - weight_amount(promo.price, li.grams) * li.qty)
                for li, a in zip(lines, amounts, strict=True)
            )
        return sum(li.qty for li in lines) * max(0, p.price - promo.price)
    if promo.kind == "per_kg_discount":
        return sum(
            min(a, weight_amount(promo.off_per_kg, li.grams) * li.qty)
            for li, a in zip(lines, amounts, strict=True)
        )
    return 0


def price_lines(
    lines: Sequence[LineInput],
    catalog: Catalog,
    config: StoreConfig,
    coupons: Sequence[Coupon] = (),
    loyalty: bool = False,
    cache: dict | None = None,
) -> Priced:
    """Price a basket. Pure; cost is linear in the number of lines.

    ``cache`` (optional, owned by the caller) lets unchanged lines reuse their PricedLine.
    """
    n = len(lines)
    amounts = [0] * n
    savings = [0] * n
    promo_name = [""] * n
    groups: dict[str, list[int]] = {}
    for i, li in enumerate(lines):
        p = li.product
        if li.fixed_price is not None:
            amounts[i] = li.fixed_price * li.qty
        elif p.sold_by == "weight":
            amounts[i] = weight_amount(p.price, li.grams) * li.qty
        else:
            amounts[i] = p.price * li.qty
            if p.promotions:
                groups.setdefault(p.id, []).append(i)
        if li.fixed_price is None and p.promotions and p.sold_by == "weight":
            groups.setdefault(p.id, []).append(i)

    # Promotions: per product over all its lines that are not fixed-price; the best one wins.
    for idx in groups.values():
        group_lines = [lines[i] for i in idx]
        group_amounts = [amounts[i] for i in idx]
        best, best_promo = 0, None
        for pid in group_lines[0].product.promotions:
            promo = catalog.promotions.get(pid)
            if promo is None:
                continue
            s_ = min(
                _promotion_saving(promo, group_lines, group_amounts, loyalty), sum(group_amounts)
            )
            if s_ > best:
                best, best_promo = s_, promo
        if best_promo is not None:
            shares = allocate_latest(best, group_amounts) if len(idx) > 1 else [best]
            for i, share in zip(idx, shares, strict=True):
                savings[i] = share
                if share:
                    promo_name[i] = best_promo.name

    # Coupons, in the order they were scanned; each gives at most what is left to pay.
    applied: list[AppliedCoupon] = []
    coupon_alloc = [0] * n if coupons else None
    for c in coupons:
        remaining = [a - s_ - c_ for a, s_, c_ in zip(amounts, savings, coupon_alloc, strict=True)]
        if c.kind == "product_amount_off":
            idx = [i for i, li in enumerate(lines) if li.product.id == c.product]
            pool = sum(remaining[i] for i in idx)
            if not idx or pool <= 0:
                applied.append(AppliedCoupon(c.code, c.name, 0, "product not in the basket"))
                continue
            give = min(c.amount, pool)
            for i, share in zip(idx, allocate(give, [remaining[i] for i in idx]), strict=True):
                coupon_alloc[i] += share
            applied.append(AppliedCoupon(c.code, c.name, give))
        else:  # amount_off
            pool = sum(remaining)
            if pool < c.min_spend or pool <= 0:
                need = config.format_money(c.min_spend)
                applied.append(AppliedCoupon(c.code, c.name, 0, f"spend {need} to use"))
                continue
            give = min(c.amount, pool)
            for i, share in enumerate(allocate(give, remaining)):
                coupon_alloc[i] += share
            applied.append(AppliedCoupon(c.code, c.name, give))

    # Tax per class on what is paid for each class.
    base_by_class: dict[str, int] = {}
    priced = []
    use_cache = cache is not None
    for i, li in enumerate(lines):
        a, s_ = amounts[i], savings[i]
        paid = a - s_ - (coupon_alloc[i] if coupon_alloc is not None else 0)
        p = li.product
        base_by_class[p.tax_class] = base_by_class.get(p.tax_class, 0) + paid
        key = (
            (li.line_id, p.id, li.qty, li.grams, li.fixed_price, a, s_, promo_name[i])
            if use_cache
            else None
        )
        pl = cache.get(key) if use_cache else None
        if pl is None:
            pl = PricedLine(
                li.line_id,
                p.id,
                p.name,
                p.sold_by,
                li.qty,
                li.grams,
                li.fixed_price if li.fixed_price is not None else p.price,
                a,
                s_,
                a - s_,
                promo_name[i],
                p.tax_class,
                li.fixed_price is not None,
            )
            if use_cache:
                cache[key] = pl
        priced.append(pl)
    if use_cache and len(cache) > 4 * n + 64:
        keep = {
            (
                li.line_id,
                li.product.id,
                li.qty,
                li.grams,
                li.fixed_price,
                amounts[i],
                savings[i],
                promo_name[i],
            )
            for i, li in enumerate(lines)
        }
        for k in [k for k in cache if k not in keep]:
            del cache[k]
    taxes = []
    for cls in sorted(base_by_class):
        tc = config.tax_classes[cls]
        base = base_by_class[cls]
        if config.tax_inclusive:
            tax = round_half_up(base * tc.rate_bp, 10_000 + tc.rate_bp)
        else:
            tax = round_half_up(base * tc.rate_bp, 10_000)
        taxes.append(TaxLine(cls, tc.name, tc.rate_bp, base, tax))

    subtotal = sum(amounts)
    promo_savings = sum(savings)
    coupon_savings = sum(coupon_alloc) if coupon_alloc is not None else 0
    tax = sum(t.tax for t in taxes)
    total = subtotal - promo_savings - coupon_savings + (0 if config.tax_inclusive else tax)
    totals = PricedTotals(
        subtotal=subtotal,
        savings=promo_savings + coupon_savings,
        tax=tax,
        total=total,
        promotion_savings=promo_savings,
        coupon_savings=coupon_savings,
        taxes=tuple(taxes),
        currency=config.currency,
        minor_digits=config.minor_digits,
        tax_inclusive=config.tax_inclusive,
        items=sum(li.qty for li in lines),
    )
    return Priced(tuple(priced), tuple(applied), totals)
