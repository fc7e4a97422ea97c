"""The catalogue's names in the shopper's language: a promotion's and a coupon's name where
the catalogue gives it in that language (``name_sv``), and what a coupon still needs, said in
the language. The journal and the receipt it keeps hold the one name and the English."""

from __future__ import annotations

from collections.abc import Sequence

from cart.common.i18n import local_name, say
from cart.store.model import Catalog


def promotion_name(catalog: Catalog, product_id: str, promotion: str) -> str:
    """The promotion named ``promotion`` on a line of ``product_id``, in the language."""
    p = catalog.get(product_id)
    if not promotion or p is None:
        return promotion
    for pid in p.promotions:
        promo = catalog.promotions.get(pid)
        if promo is not None and promo.name == promotion:
            return local_name(promo.name)
    return local_name(promotion)


def coupon_name(catalog: Catalog, code: str, name: str) -> str:
    """The coupon with the barcode ``code`` (``name`` as the basket has it), in the language."""
    found = catalog.coupon(code)
    return local_name(found.name if found is not None else name)


def coupon_text(catalog: Catalog, applied) -> str:
    """A coupon in the basket (``cart.pricing.engine.AppliedCoupon``): its name and what it
    still needs ("spend 200,00 kr to use"), in the language."""
    name = coupon_name(catalog, applied.code, applied.name)
    return name + (f" ({say(applied.note)})" if applied.note else "")


def receipt_coupon(catalog: Catalog, coupon: dict, applied: Sequence) -> tuple[str, str]:
    """A receipt's coupon (the journal's ``dict``): its name and its note in the language. The
    note is the basket's own phrase (``applied``, the coupons as priced now) when it is the one
    the receipt keeps, else the receipt's text looked up as a msgid."""
    note = coupon.get("note", "")
    now = next((a for a in applied if a.code == coupon["code"]), None)
    said = now.note if now is not None and now.note == note else note
    return coupon_name(catalog, coupon["code"], coupon["name"]), say(said) if said else ""
