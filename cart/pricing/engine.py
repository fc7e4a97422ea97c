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

from cart.common.i18n import Phrase
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
    note: str = ""  # why it does not apply yet (a Phrase), e.g. "spend 200.00 SEK to use"


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


# A priced line's identity in the caller's cache: everything its PricedLine is built from.
LineKey = tuple[str, str, int, int, int | None, int, int, str]
PriceCache = dict[LineKey, PricedLine]


def price_lines(
    lines: Sequence[LineInput],
    catalog: Catalog,
    config: StoreConfig,
    coupons: Sequence[Coupon] = (),
    loyalty: bool = False,
    cache: PriceCache | None = None,
) -> Priced:
    """Price a basket. Pure; cost is linear in the number of lines.

    ``cache`` (optional, owned by the caller) lets unchanged lines reuse their PricedLine.
    """
    amounts = _line_amounts(lines)
    savings, promo_name = _apply_promotions(lines, amounts, catalog, loyalty)
    applied, coupon_alloc = _apply_coupons(lines, amounts, savings, coupons, config)
    keys = [_line_key(li, amounts[i], savings[i], promo_name[i]) for i, li in enumerate(lines)]
    priced = [
        _priced_line(li, amounts[i], savings[i], promo_name[i], keys[i], cache)
        for i, li in enumerate(lines)
    ]
    if cache is not None:
        _prune_cache(cache, keys)
    paid = [a - s_ - c_ for a, s_, c_ in zip(amounts, savings, coupon_alloc, strict=True)]
    taxes = _taxes(_class_bases(lines, paid), config)
    totals = _totals(lines, amounts, savings, coupon_alloc, taxes, config)
    return Priced(tuple(priced), tuple(applied), totals)


def _line_amounts(lines: Sequence[LineInput]) -> list[int]:
    """Each line's amount before savings (a fixed price, a weighed price or a unit price)."""
    amounts = []
    for li in lines:
        p = li.product
        if li.fixed_price is not None:
            amounts.append(li.fixed_price * li.qty)
        elif p.sold_by == "weight":
            amounts.append(weight_amount(p.price, li.grams) * li.qty)
        else:
            amounts.append(p.price * li.qty)
    return amounts


def _promotion_groups(lines: Sequence[LineInput]) -> dict[str, list[int]]:
    """The indices of each promoted product's lines that are not fixed-price, by product id."""
    groups: dict[str, list[int]] = {}
    for i, li in enumerate(lines):
        if li.fixed_price is None and li.product.promotions:
            groups.setdefault(li.product.id, []).append(i)
    return groups


def _best_promotion(
    group_lines: list[LineInput], group_amounts: list[int], catalog: Catalog, loyalty: bool
) -> tuple[int, Promotion | None]:
    """The largest saving one of the product's promotions gives on its lines, and that promotion.

    The first promotion listed wins a tie; a saving never exceeds what the lines cost.
    """
    best, best_promo = 0, None
    for pid in group_lines[0].product.promotions:
        promo = catalog.promotions.get(pid)
        if promo is None:
            continue
        s_ = min(_promotion_saving(promo, group_lines, group_amounts, loyalty), sum(group_amounts))
        if s_ > best:
            best, best_promo = s_, promo
    return best, best_promo


def _apply_promotions(
    lines: Sequence[LineInput], amounts: list[int], catalog: Catalog, loyalty: bool
) -> tuple[list[int], list[str]]:
    """Promotion savings per line and the name of the promotion that gave each.

    Per product over all its lines that are not fixed-price; the best promotion wins and its
    saving is shared out over those lines, latest first.
    """
    savings = [0] * len(lines)
    promo_name = [""] * len(lines)
    for idx in _promotion_groups(lines).values():
        group_amounts = [amounts[i] for i in idx]
        best, best_promo = _best_promotion([lines[i] for i in idx], group_amounts, catalog, loyalty)
        if best_promo is None:
            continue
        shares = allocate_latest(best, group_amounts) if len(idx) > 1 else [best]
        for i, share in zip(idx, shares, strict=True):
            savings[i] = share
            if share:
                promo_name[i] = best_promo.name
    return savings, promo_name


def _apply_coupons(
    lines: Sequence[LineInput],
    amounts: list[int],
    savings: list[int],
    coupons: Sequence[Coupon],
    config: StoreConfig,
) -> tuple[list[AppliedCoupon], list[int]]:
    """Apply the coupons in the order they were scanned; each gives at most what is left to pay.

    Returns each coupon as applied and the coupon savings per line.
    """
    applied: list[AppliedCoupon] = []
    coupon_alloc = [0] * len(lines)
    for c in coupons:
        remaining = [a - s_ - c_ for a, s_, c_ in zip(amounts, savings, coupon_alloc, strict=True)]
        if c.kind == "product_amount_off":
            applied.append(_apply_product_coupon(c, lines, remaining, coupon_alloc))
        else:  # amount_off
            applied.append(_apply_basket_coupon(c, remaining, coupon_alloc, config))
    return applied, coupon_alloc


def _apply_product_coupon(
    c: Coupon, lines: Sequence[LineInput], remaining: list[int], coupon_alloc: list[int]
) -> AppliedCoupon:
    """Apply an amount off one product, shared over its lines; adds the shares to coupon_alloc."""
    idx = [i for i, li in enumerate(lines) if li.product.id == c.product]
    pool = sum(remaining[i] for i in idx)
    if not idx or pool <= 0:
        return AppliedCoupon(c.code, c.name, 0, Phrase("product not in the basket"))
    give = min(c.amount, pool)
    for i, share in zip(idx, allocate(give, [remaining[i] for i in idx]), strict=True):
        coupon_alloc[i] += share
    return AppliedCoupon(c.code, c.name, give)


def _apply_basket_coupon(
    c: Coupon, remaining: list[int], coupon_alloc: list[int], config: StoreConfig
) -> AppliedCoupon:
    """Apply an amount off the basket, shared over all lines; adds the shares to coupon_alloc."""
    pool = sum(remaining)
    if pool < c.min_spend or pool <= 0:
        need = config.amount(c.min_spend)
        return AppliedCoupon(c.code, c.name, 0, Phrase("spend {amount} to use", amount=need))
    give = min(c.amount, pool)
    for i, share in enumerate(allocate(give, remaining)):
        coupon_alloc[i] += share
    return AppliedCoupon(c.code, c.name, give)


def _line_key(li: LineInput, amount: int, saving: int, promo_name: str) -> LineKey:
    """The cache key of a line as priced."""
    return (li.line_id, li.product.id, li.qty, li.grams, li.fixed_price, amount, saving, promo_name)


def _priced_line(
    li: LineInput,
    amount: int,
    saving: int,
    promo_name: str,
    key: LineKey,
    cache: PriceCache | None,
) -> PricedLine:
    """The line as priced, reused from the cache when unchanged (and stored there when new)."""
    pl = cache.get(key) if cache is not None else None
    if pl is None:
        p = li.product
        pl = PricedLine(
            li.line_id,
            p.id,
            p.name,
            p.sold_by,
            li.qty,
            li.grams,
            li.fixed_price if li.fixed_price is not None else p.price,
            amount,
            saving,
            amount - saving,
            promo_name,
            p.tax_class,
            li.fixed_price is not None,
        )
        if cache is not None:
            cache[key] = pl
    return pl


def _prune_cache(cache: PriceCache, keys: list[LineKey]) -> None:
    """Drop the entries of lines no longer in the basket once the cache has grown large."""
    if len(cache) > 4 * len(keys) + 64:
        keep = set(keys)
        for k in [k for k in cache if k not in keep]:
            del cache[k]


def _class_bases(lines: Sequence[LineInput], paid: list[int]) -> dict[str, int]:
    """What is paid for each tax class, after all savings."""
    base_by_class: dict[str, int] = {}
    for li, amount in zip(lines, paid, strict=True):
        cls = li.product.tax_class
        base_by_class[cls] = base_by_class.get(cls, 0) + amount
    return base_by_class


def _taxes(base_by_class: dict[str, int], config: StoreConfig) -> list[TaxLine]:
    """The tax of each class on what is paid for it, in tax-class order."""
    taxes = []
    for cls in sorted(base_by_class):
        tc = config.tax_classes[cls]
        base = base_by_class[cls]
        if config.tax_inclusive:
            tax = round_half_up(base * tc.rate_bp, 10_000 + tc.rate_bp)
        else:
            tax = round_half_up(base * tc.rate_bp, 10_000)
        taxes.append(TaxLine(cls, tc.name, tc.rate_bp, base, tax))
    return taxes


def _totals(
    lines: Sequence[LineInput],
    amounts: list[int],
    savings: list[int],
    coupon_alloc: list[int],
    taxes: list[TaxLine],
    config: StoreConfig,
) -> PricedTotals:
    """The basket's totals from its line amounts, savings and taxes."""
    subtotal = sum(amounts)
    promo_savings = sum(savings)
    coupon_savings = sum(coupon_alloc)
    tax = sum(t.tax for t in taxes)
    total = subtotal - promo_savings - coupon_savings + (0 if config.tax_inclusive else tax)
    return PricedTotals(
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
