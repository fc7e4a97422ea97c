"""Matching an interpretation to the store's catalogue (``lookup``, ``match``): products,
coupons, and when a weight or price in a code may be billed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cart.common.i18n import Phrase
from cart.store.barcodes.codes import interpret
from cart.store.barcodes.results import Interpretation, ScanMatch

if TYPE_CHECKING:
    from cart.store.model import CatalogProduct, Store


def lookup(store: Store, code: str, symbology: str = "", t_ms: int | None = None) -> ScanMatch:
    """Interpret ``code`` with the store's rules and match it to a product or coupon."""
    it = interpret(code, symbology, config=store.config, t_ms=t_ms)
    return match(store, it)


def match(store: Store, it: Interpretation) -> ScanMatch:
    """Match an accepted interpretation to the catalogue. Never raises."""
    if not it.ok:
        return ScanMatch(it, reason=it.reason)
    cat = store.catalog
    if it.kind == "plu":
        p = cat.by_plu(it.plu)
        if p is None:
            if it.organic:
                return ScanMatch(
                    it, reason=Phrase("organic PLU {plu} is not sold in this store", plu=it.plu)
                )
            return ScanMatch(it, reason=Phrase("PLU {plu} is not sold in this store", plu=it.plu))
        return ScanMatch(it, product=p)
    for g in (it.gtin, *it.alt_gtins):
        c = cat.coupon(g)
        if c is not None:
            if it.price is not None or it.weight_g is not None:
                return ScanMatch(it, reason=Phrase("a coupon code carries no price or weight"))
            return ScanMatch(it, coupon=c)
        p = cat.by_gtin(g)
        if p is None:
            continue
        problem = _measure_problem(it, p, g)
        if problem:
            return ScanMatch(it, product=p, reason=problem)
        return ScanMatch(it, product=p)
    return ScanMatch(
        it, reason=Phrase("unknown product {gtin}", gtin=it.gtin.lstrip("0") or it.gtin)
    )


def in_store_number(gtin14: str) -> bool:
    """A restricted circulation number (GenSpecs 2.1.11.1, Figure 1.4.3-1): a GTIN-13 with
    GS1 prefix 20-29 (GTIN-14 ``02...``) or a UPC-A with number system 2 (``002...``)."""
    return len(gtin14) == 14 and (gtin14[:2] == "02" or gtin14[:3] == "002")


def _measure_problem(it: Interpretation, p: CatalogProduct, gtin14: str) -> str:
    """Why a weight or price inside the code cannot be billed for ``p`` ("" when it can).

    A price or weight in a code is the item's only where the item is a variable measure trade
    item (GenSpecs 2.1.11.2): the catalogue says so (``variable_measure``, always for products
    sold by weight), or it is the store's own in-store number. Otherwise anyone could print the
    carton's GTIN with (3922) 0.01 next to it."""
    if it.price is None and it.weight_g is None:
        return ""
    if not (p.variable_measure or p.by_weight or it.kind == "rcn" or in_store_number(gtin14)):
        if it.price is not None:
            return Phrase(
                "a price in the code of {name}, which has a fixed price "
                "(not variable measure in the catalogue)",
                name=p.name,
            )
        return Phrase(
            "a weight in the code of {name}, which has a fixed price "
            "(not variable measure in the catalogue)",
            name=p.name,
        )
    if it.weight_g is not None and it.price is None and not p.by_weight:
        return Phrase("a weight label on {name}, which is sold each", name=p.name)
    return ""
