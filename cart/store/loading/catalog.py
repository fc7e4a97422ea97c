"""Validating ``catalog.toml``: products, promotions and coupons, and the ids and codes no two
entries may share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cart.common.i18n import available_languages
from cart.store.loading.fields import (
    _ID_RE,
    _LABEL_RE,
    _MAX_GRAMS,
    Problem,
    _Entry,
    _gtin14,
)
from cart.store.model import (
    COUPON_KINDS,
    PROMOTION_KINDS,
    SOLD_BY,
    Catalog,
    CatalogProduct,
    Coupon,
    Promotion,
)

_PRODUCT_KEYS = {
    "id",
    "name",
    "gtins",
    "plu",
    "sold_by",
    "price_each",
    "price_per_kg",
    "unit_weight_g",
    "weight_tolerance_g",
    "tare_g",
    "label",
    "tax_class",
    "age_min",
    "promotions",
    "variable_measure",
}
# a product's, promotion's or coupon's name in another language: name_sv = "Banan"
# (docs/CATALOG.md, docs/I18N.md)
_NAME_KEYS = {f"name_{code}" for code in available_languages()}
_PROMO_KEYS = {"id", "kind", "name", "buy", "pay", "price", "off_per_kg", "loyalty_only"}
_COUPON_KEYS = {"code", "name", "kind", "amount", "min_spend", "product"}


def _names(e: _Entry) -> tuple[tuple[str, str], ...]:
    """An entry's name in other languages: ``name_sv = "Banan"`` → ``(("sv", "Banan"),)``."""
    return tuple(
        (key.removeprefix("name_"), text)
        for key in sorted(_NAME_KEYS)
        if key in e.data and (text := e.text(key)) is not None
    )


def _entries(doc, key, file, problems) -> list:
    v = doc.get(key, [])
    if not isinstance(v, list):
        problems.append(Problem(file, key, "", f"must be an array of tables ([[{key}]])"))
        return []
    return v


def _validate_catalog(doc, file, tax_ids, problems, digest) -> Catalog | None:
    n_before = len(problems)
    _Entry(doc, file, "file", problems, {"product", "promotion", "coupon"})
    promotions = _validate_promotions(doc, file, problems)
    products, seen = _validate_products(doc, file, tax_ids, promotions, problems)
    coupons = _validate_coupons(doc, file, seen, problems)
    if len(problems) > n_before:
        return None
    return Catalog(tuple(products), promotions, coupons, digest)


@dataclass(slots=True)
class _SeenCodes:
    """The product ids, GTINs and PLUs met so far in the catalogue, to find duplicates.

    ``gtins`` and ``plus`` map to the product id as written (whatever the file holds there).
    """

    ids: dict[str, int]  # product id -> index of its [[product]] entry
    gtins: dict[str, object]  # GTIN-14 -> product id
    plus: dict[str, object]  # PLU -> product id


def _validate_promotions(
    doc: dict[str, Any], file: str, problems: list[Problem]
) -> dict[str, Promotion]:
    """The ``[[promotion]]`` entries: the valid promotions by id (the last of a duplicate id)."""
    promotions: dict[str, Promotion] = {}
    for i, pdata in enumerate(_entries(doc, "promotion", file, problems)):
        pid = pdata.get("id") if isinstance(pdata, dict) else None
        e = _Entry(pdata, file, f"promotion[{i}] {pid!r}", problems, _PROMO_KEYS | _NAME_KEYS)
        promo = _validate_promotion(e)
        if promo is not None:
            if promo.id in promotions:
                e.fail("id", f"duplicate promotion id {promo.id!r}")
            promotions[promo.id] = promo
    return promotions


def _validate_products(
    doc: dict[str, Any],
    file: str,
    tax_ids: set[str],
    promotions: dict[str, Promotion],
    problems: list[Problem],
) -> tuple[list[CatalogProduct], _SeenCodes]:
    """The ``[[product]]`` entries (at least one): the valid products, and the ids and codes
    of all entries."""
    products: list[CatalogProduct] = []
    seen = _SeenCodes({}, {}, {})
    raw_products = _entries(doc, "product", file, problems)
    if not raw_products:
        problems.append(Problem(file, "product", "", "the catalogue has no products"))
    for i, pdata in enumerate(raw_products):
        pid = pdata.get("id") if isinstance(pdata, dict) else None
        e = _Entry(pdata, file, f"product[{i}] {pid!r}", problems, _PRODUCT_KEYS | _NAME_KEYS)
        prod = _validate_product(e, tax_ids, promotions)
        _check_duplicates(e, i, pdata, seen)
        if prod is not None:
            products.append(prod)
    return products, seen


def _check_duplicates(e: _Entry, i: int, pdata: object, seen: _SeenCodes) -> None:
    """Report a product id, GTIN or PLU of entry ``i`` already met, and record them in ``seen``.

    Duplicates are checked on the raw entry, so an otherwise bad entry still reports the codes
    it would clash on.
    """
    raw = pdata if isinstance(pdata, dict) else {}
    rid: object = raw.get("id")
    if isinstance(rid, str):
        if rid in seen.ids:
            e.fail("id", f"duplicate product id (also product[{seen.ids[rid]}])")
        else:
            seen.ids[rid] = i
    raw_gtins = raw.get("gtins")
    for g in raw_gtins if isinstance(raw_gtins, list) else []:
        g14, _ = _gtin14(g)
        if g14 is None:
            continue
        if g14 in seen.gtins and seen.gtins[g14] != rid:
            e.fail("gtins", f"GTIN {g} is also on product {seen.gtins[g14]!r}")
        seen.gtins.setdefault(g14, rid)
    rplu = raw.get("plu")
    if isinstance(rplu, str) and rplu:
        if rplu in seen.plus:
            e.fail("plu", f"PLU {rplu} is also on product {seen.plus[rplu]!r}")
        else:
            seen.plus[rplu] = rid


def _validate_coupons(
    doc: dict[str, Any], file: str, seen: _SeenCodes, problems: list[Problem]
) -> dict[str, Coupon]:
    """The ``[[coupon]]`` entries: the valid coupons by GTIN-14 (a code may be neither another
    coupon's nor a product's GTIN)."""
    coupons: dict[str, Coupon] = {}
    for i, cdata in enumerate(_entries(doc, "coupon", file, problems)):
        code = cdata.get("code") if isinstance(cdata, dict) else None
        e = _Entry(cdata, file, f"coupon[{i}] {code!r}", problems, _COUPON_KEYS | _NAME_KEYS)
        c = _validate_coupon(e, seen.ids)
        if c is None:
            continue
        if c.gtin in coupons:
            e.fail("code", "duplicate coupon code")
        if c.gtin in seen.gtins:
            e.fail("code", f"coupon code is also product {seen.gtins[c.gtin]!r}'s GTIN")
        coupons[c.gtin] = c
    return coupons


def _validate_promotion(e: _Entry) -> Promotion | None:
    pid = e.text("id", pattern=_ID_RE)
    kind = e.text("kind")
    name = e.text("name")
    if kind is not None and kind not in PROMOTION_KINDS:
        e.fail("kind", f"must be one of {', '.join(PROMOTION_KINDS)}, got {kind!r}")
        return None
    loyalty = e.get("loyalty_only", bool, kind == "loyalty_price", what="true or false")
    buy = pay = price = off = 0
    if kind == "multibuy":
        buy, price = e.integer("buy", lo=2, hi=100), e.integer("price", lo=0)
        need = {"buy": buy, "price": price}
    elif kind == "x_for_y":
        buy, pay = e.integer("buy", lo=2, hi=100), e.integer("pay", lo=1, hi=99)
        need = {"buy": buy, "pay": pay}
        if buy is not None and pay is not None and pay >= buy:
            e.fail("pay", f"must be less than buy ({buy})")
            return None
    elif kind == "bogo":
        buy, pay = 2, 1
        need = {}
        for k in ("buy", "pay"):
            if k in e.data:
                e.fail(k, "bogo is always buy 2 pay 1; use x_for_y for other groups")
    elif kind == "loyalty_price":
        price = e.integer("price", lo=0)
        need = {"price": price}
    elif kind == "per_kg_discount":
        off = e.integer("off_per_kg", lo=1)
        need = {"off_per_kg": off}
    else:
        need = {}
    if None in (pid, kind, name, loyalty) or None in need.values():
        return None
    names = _names(e)
    return Promotion(
        pid,
        kind,
        name,
        buy=buy,
        pay=pay,
        price=price,
        off_per_kg=off,
        loyalty_only=loyalty,
        names=names,
    )


def _validate_product(
    e: _Entry, tax_ids: set[str], promotions: dict[str, Promotion]
) -> CatalogProduct | None:
    n_before = len(e.problems)
    pid = e.text("id", pattern=_ID_RE)
    name = e.text("name")
    sold_by = e.text("sold_by")
    if sold_by is not None and sold_by not in SOLD_BY:
        e.fail("sold_by", f"must be 'each' or 'weight', got {sold_by!r}")
        sold_by = None
    price = _product_price(e, sold_by)
    gtins = _product_gtins(e)
    plu = e.text("plu", "", pattern=re.compile(r"^(?:[3-4]\d{3}|9[3-4]\d{3})$"))
    if plu == "" and not gtins:
        e.fail("gtins", "a product needs at least one GTIN or a PLU")
    unit_w = e.integer("unit_weight_g", 0 if sold_by == "weight" else ..., lo=0, hi=_MAX_GRAMS)
    if sold_by == "each" and unit_w == 0:
        e.fail("unit_weight_g", "a product sold each needs its expected weight (> 0 g)")
    tol = e.integer("weight_tolerance_g", 0, lo=0, hi=_MAX_GRAMS)
    if sold_by == "each" and unit_w and tol is not None and tol >= unit_w:
        e.fail("weight_tolerance_g", f"must be less than unit_weight_g ({unit_w})")
    tare = e.integer("tare_g", 0, lo=0, hi=_MAX_GRAMS)
    label = e.text("label", "", pattern=_LABEL_RE)
    tax = e.text("tax_class")
    if tax is not None and tax_ids and tax not in tax_ids:
        e.fail("tax_class", f"unknown tax class {tax!r} (store has: {', '.join(sorted(tax_ids))})")
    age = e.integer("age_min", 0, lo=0, hi=99)
    variable = e.get("variable_measure", bool, sold_by == "weight", what="true or false")
    if sold_by == "weight" and variable is False:
        e.fail("variable_measure", "a product sold by weight is always variable measure")
    promos = _product_promotions(e, sold_by, promotions)
    names = _names(e)
    # A price is None only with a problem recorded (sold_by or its price field invalid).
    if len(e.problems) > n_before or price is None:
        return None
    return CatalogProduct(
        id=pid,
        name=name,
        sold_by=sold_by,
        price=price,
        tax_class=tax,
        gtins=tuple(gtins),
        plu=plu,
        unit_weight_g=unit_w,
        weight_tolerance_g=tol,
        tare_g=tare,
        label=label,
        age_min=age,
        promotions=promos,
        organic=len(plu) == 5,
        variable_measure=bool(variable),
        names=names,
    )


def _product_price(e: _Entry, sold_by: str | None) -> int | None:
    """The price field of how the product is sold (price_each or price_per_kg), None when it
    is invalid or how the product is sold is not known; the other price field is refused."""
    price = None
    if sold_by == "each":
        price = e.integer("price_each", lo=0)
        if "price_per_kg" in e.data:
            e.fail("price_per_kg", "only for products sold by weight")
    elif sold_by == "weight":
        price = e.integer("price_per_kg", lo=0)
        if "price_each" in e.data:
            e.fail("price_each", "only for products sold each")
    return price


def _product_gtins(e: _Entry) -> list[str]:
    """The product's valid GTINs as GTIN-14, each once."""
    raw_gtins = e.get("gtins", list, [], what="a list of strings")
    gtins: list[str] = []
    for g in raw_gtins or []:
        g14, why = _gtin14(g)
        if g14 is None:
            e.fail("gtins", why)
        elif g14 in gtins:
            e.fail("gtins", f"{g!r} listed twice")
        else:
            gtins.append(g14)
    return gtins


def _product_promotions(
    e: _Entry, sold_by: str | None, promotions: dict[str, Promotion]
) -> tuple[str, ...]:
    """The product's valid promotion ids, in the order listed; each must be a known promotion,
    and a per-kg discount only on a product sold by weight."""
    promos = e.get("promotions", list, [], what="a list of promotion ids")
    valid: list[str] = []
    for p in promos or []:
        if not isinstance(p, str) or p not in promotions:
            e.fail("promotions", f"unknown promotion {p!r}")
        elif promotions[p].kind == "per_kg_discount" and sold_by != "weight":
            e.fail("promotions", f"{p!r} is a per-kg discount but the product is sold each")
        else:
            valid.append(p)
    return tuple(valid)


def _validate_coupon(e: _Entry, product_ids: dict[str, int]) -> Coupon | None:
    n_before = len(e.problems)
    code = e.text("code")
    g14 = None
    if code is not None:
        g14, why = _gtin14(code)
        if g14 is None:
            e.fail("code", why)
        elif not g14[1:].startswith("99"):
            e.fail("code", "a coupon code must be a GTIN-13 with the GS1 coupon prefix 99")
    name = e.text("name")
    kind = e.text("kind")
    if kind is not None and kind not in COUPON_KINDS:
        e.fail("kind", f"must be one of {', '.join(COUPON_KINDS)}, got {kind!r}")
    amount = e.integer("amount", lo=1)
    min_spend = e.integer("min_spend", 0, lo=0)
    product = e.text("product", "" if kind != "product_amount_off" else ...)
    if product and product not in product_ids:
        e.fail("product", f"unknown product {product!r}")
    if kind == "amount_off" and product:
        e.fail("product", "only for product_amount_off")
    names = _names(e)
    # g14 is None only with a problem recorded (code missing or not a GTIN).
    if len(e.problems) > n_before or g14 is None:
        return None
    return Coupon(code, g14, name, kind, amount, min_spend, product, names=names)
