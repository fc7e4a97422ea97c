"""Receipts: a JSON-able dict built from a snapshot (stored in the journal at check-out), and
its plain-text rendering. All amounts are integer minor units in the JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cart.basket.fold import BasketSnapshot
from cart.common.i18n import N_
from cart.common.money import format_number
from cart.common.text import printable
from cart.store.model import Store

RECEIPT_VERSION = 1


def build_receipt(snap: BasketSnapshot, store: Store) -> dict[str, Any]:
    cfg = store.config
    t = snap.totals
    return {
        "version": RECEIPT_VERSION,
        "store": {
            "id": cfg.id,
            "name": cfg.name,
            "currency": cfg.currency,
            "minor_digits": cfg.minor_digits,
            "tax_mode": cfg.tax_mode,
        },
        "session": snap.session,
        "t_ms": snap.t_ms,
        "state": snap.state,
        "loyalty_member": snap.loyalty_member,
        "lines": [
            {
                "line": ln.line_id,
                "product": ln.product_id,
                "name": ln.name,
                "sold_by": ln.sold_by,
                "qty": ln.qty,
                "grams": ln.grams,
                "unit_price": ln.unit_price,
                "amount": ln.amount,
                "savings": ln.savings,
                "total": ln.total,
                "promotion": ln.promotion,
                "tax_class": ln.tax_class,
                "fixed_price": ln.fixed_price,
            }
            for ln in snap.lines
        ],
        "coupons": [
            {"code": c.code, "name": c.name, "amount": c.amount, "note": c.note}
            for c in snap.coupons
        ],
        "taxes": [
            {
                "class": x.tax_class,
                "name": x.name,
                "rate_bp": x.rate_bp,
                "base": x.base,
                "tax": x.tax,
            }
            for x in t.taxes
        ],
        "totals": {
            "subtotal": t.subtotal,
            "savings": t.savings,
            "promotion_savings": t.promotion_savings,
            "coupon_savings": t.coupon_savings,
            "tax": t.tax,
            "total": t.total,
            "items": t.items,
        },
    }


def _same(text: str) -> str:
    return text


def render_text(
    receipt: dict[str, Any],
    width: int = 42,
    *,
    tr: Callable[[str], str] = _same,
    name: Callable[[dict[str, Any]], str] | None = None,
    promotion: Callable[[dict[str, Any]], str] | None = None,
    coupon: Callable[[dict[str, Any]], tuple[str, str]] | None = None,
) -> str:
    """The receipt as plain text (catalogue text is made printable, never interpreted).

    In English as the journal keeps it; the screen passes ``tr`` (``cart.common.i18n._``) for
    the receipt's own words, marked with ``N_`` here, ``name`` for a line's name in the
    shopper's language, ``promotion`` for its promotion's and ``coupon`` for a coupon's name and
    note (``(name, note)``). Amounts stay as the receipt writes them (``26.95``)."""
    st = receipt["store"]
    cur = st["currency"]

    def money(minor: int) -> str:
        return format_number(minor, st["minor_digits"])

    def row(left: str, right: str) -> str:
        left = printable(left, width)
        room = width - len(right) - 1
        if len(left) > room:
            left = left[: max(room - 1, 0)] + "…"
        return f"{left:<{room}} {right}"

    out = [printable(st["name"], width).center(width), "-" * width]
    for ln in receipt["lines"]:
        m = money(ln["amount"])
        out.append(row(name(ln) if name else ln["name"], m))
        if ln["sold_by"] == "weight" and ln["grams"]:
            kg = f"{ln['grams'] // 1000}.{ln['grams'] % 1000:03d} kg"
            if ln.get("fixed_price"):
                out.append(row(f"  {kg}, " + tr(N_("price on label")), ""))
            else:
                out.append(row(f"  {kg} x {money(ln['unit_price'])}/kg", ""))
        elif ln["qty"] > 1:
            out.append(row(f"  {ln['qty']} x {money(ln['unit_price'])}", ""))
        if ln["savings"]:
            saving = (promotion(ln) if promotion else ln["promotion"]) or tr(N_("saving"))
            out.append(row(f"  {saving}", "-" + money(ln["savings"])))
    said = tr(N_("Coupon: {name}"))
    for c in receipt["coupons"]:
        c_name, c_note = coupon(c) if coupon else (c["name"], c["note"])
        if c["amount"]:
            out.append(row(said.format(name=c_name), "-" + money(c["amount"])))
        else:
            out.append(row(said.format(name=c_name) + f" ({c_note})", "0"))
    t = receipt["totals"]
    out.append("-" * width)
    out.append(row(tr(N_("Subtotal")), money(t["subtotal"])))
    if t["savings"]:
        out.append(row(tr(N_("Savings")), "-" + money(t["savings"])))
    for x in receipt["taxes"]:
        rate = f"{x['rate_bp'] // 100}.{x['rate_bp'] % 100:02d}".rstrip("0").rstrip(".")
        word = tr(N_("incl.")) if st["tax_mode"] == "inclusive" else "+"
        of = tr(N_("{rate}% of {base}")).format(rate=rate, base=money(x["base"]))
        out.append(row(f"  {word} {x['name']} {of}", money(x["tax"])))
    out.append(row(tr(N_("TOTAL")) + " " + cur, money(t["total"])))
    out.append(row(tr(N_("Items")), str(t["items"])))
    if receipt.get("state") == "cancelled":
        out.append(tr(N_("*** SESSION CANCELLED ***")).center(width))
    out.append(row(tr(N_("Session")), printable(receipt["session"], 24)))
    return "\n".join(out) + "\n"
