"""Receipts for tills and apps: the cart's receipt (schema ``docs/link/v1/receipt.schema.json``)
as stored, and its Open Receipt Format view.

What we follow (docs/LINK.md): the cart's receipt keeps integer minor units and the cart's own
line, tax and coupon detail (ARTS digital receipts' idea of a line item with its own tax class
and price modifiers, without their XML); :func:`to_orf` gives the Open Receipt Format 1.0 core
(``orf_version``, ``receipt_id``, ``merchant``, ``items``, ``totals``, ``transaction``) with
decimal amounts as strings, so a receipt app reads it without knowing the cart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def _decimal(minor: int, digits: int) -> str:
    sign = "-" if minor < 0 else ""
    q, r = divmod(abs(int(minor)), 10**digits)
    return f"{sign}{q}.{r:0{digits}d}" if digits else f"{sign}{q}"


def to_orf(receipt: dict[str, Any], cart: str) -> dict[str, Any]:
    st = receipt["store"]
    d = int(st.get("minor_digits", 2))
    t = receipt["totals"]
    when = dt.datetime.fromtimestamp(receipt["t_ms"] / 1000, dt.UTC)
    return {
        "orf_version": "1.0",
        "receipt_id": f"{cart}/{receipt['session']}",
        "merchant": {"name": st["name"], "store_id": st["id"]},
        "items": [
            {
                "name": ln["name"],
                "sku": ln["product"],
                "quantity": (
                    _decimal(ln["grams"], 3) if ln["sold_by"] == "weight" else str(ln["qty"])
                ),
                "unit": "kg" if ln["sold_by"] == "weight" else "each",
                "unit_price": _decimal(ln["unit_price"], d),
                "discount": _decimal(ln["savings"], d),
                "total_price": _decimal(ln["total"], d),
                "tax_class": ln["tax_class"],
            }
            for ln in receipt["lines"]
        ],
        "taxes": [
            {"name": x["name"], "rate": x["rate_bp"] / 100, "amount": _decimal(x["tax"], d)}
            for x in receipt["taxes"]
        ],
        "totals": {
            "subtotal": _decimal(t["subtotal"], d),
            "discounts": _decimal(t["savings"], d),
            "tax": _decimal(t["tax"], d),
            "total": _decimal(t["total"], d),
            "tax_included": st.get("tax_mode") == "inclusive",
        },
        "transaction": {
            "timestamp": when.isoformat().replace("+00:00", "Z"),
            "currency": st["currency"],
            "channel": "smart-cart",
            "cart": cart,
            "state": receipt["state"],
        },
    }
