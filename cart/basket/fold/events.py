"""The typed basket events, their journal rows, and the event a matched scan stands for."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from cart.store.barcodes import ScanMatch


class BasketError(ValueError):
    """An event that cannot apply to the basket as it is (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class BasketEvent:
    """Base of the basket events. ``KIND`` is the journal kind."""

    KIND: ClassVar[str] = ""
    t_ms: int

    def to_payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "t_ms"}

    def row(self) -> tuple[int, str, dict[str, Any]]:
        return (self.t_ms, self.KIND, self.to_payload())


@dataclass(frozen=True, slots=True)
class OpenSession(BasketEvent):
    """First event of every session."""

    KIND: ClassVar[str] = "open"
    store: str = ""
    catalog_digest: str = ""
    cart: str = ""


@dataclass(frozen=True, slots=True)
class AddLine(BasketEvent):
    """A product goes on the bill. ``grams`` for products sold by weight (net of tare);
    ``price`` when the barcode carries the price (restricted-circulation or GS1 392n)."""

    KIND: ClassVar[str] = "add_line"
    line: str = ""
    product: str = ""
    qty: int = 1
    grams: int | None = None
    price: int | None = None
    code: str = ""  # the scanned code, for the audit trail


@dataclass(frozen=True, slots=True)
class WeighProduce(BasketEvent):
    """Loose produce weighed on the cart's scale: integer net grams (tare already removed)."""

    KIND: ClassVar[str] = "weigh_produce"
    line: str = ""
    plu: str = ""
    grams: int = 0
    tare_g: int = 0  # what was taken off for the bag/container, for the audit trail


@dataclass(frozen=True, slots=True)
class RemoveLine(BasketEvent):
    KIND: ClassVar[str] = "remove_line"
    line: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetQuantity(BasketEvent):
    KIND: ClassVar[str] = "set_quantity"
    line: str = ""
    qty: int = 1


@dataclass(frozen=True, slots=True)
class ApplyCoupon(BasketEvent):
    KIND: ClassVar[str] = "apply_coupon"
    code: str = ""


@dataclass(frozen=True, slots=True)
class RemoveCoupon(BasketEvent):
    KIND: ClassVar[str] = "remove_coupon"
    code: str = ""


@dataclass(frozen=True, slots=True)
class SetLoyalty(BasketEvent):
    """A loyalty card identified (``member`` = its number), or cleared (``member`` = "")."""

    KIND: ClassVar[str] = "set_loyalty"
    member: str = ""


@dataclass(frozen=True, slots=True)
class RaiseFlag(BasketEvent):
    """Something the cart cannot reconcile by itself; the shopper (or staff) must act.

    ``kind``: a free string the raiser owns; fusion's kinds are listed in
    ``cart.fusion.alerts.KINDS`` ("scan_added", "which_removed", "age_check", ...). ``action``:
    the one thing to do, as shown. ``payload``: any JSON-able data the screen needs (picker
    options, product ids, grams)."""

    KIND: ClassVar[str] = "raise_flag"
    flag: str = ""
    kind: str = ""
    message: str = ""
    action: str = ""
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResolveFlag(BasketEvent):
    KIND: ClassVar[str] = "resolve_flag"
    flag: str = ""
    resolution: str = ""  # how, e.g. "scanned", "removed", "approved", "picked:<product>"
    by: str = "shopper"  # shopper | staff | system
    staff_id: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class CheckOut(BasketEvent):
    """Closes the session. Refused while a flag is open."""

    KIND: ClassVar[str] = "check_out"
    receipt_no: str = ""


@dataclass(frozen=True, slots=True)
class CancelSession(BasketEvent):
    """Staff void the whole session (the receipt then shows nothing to pay)."""

    KIND: ClassVar[str] = "cancel"
    by: str = "staff"
    staff_id: str = ""
    reason: str = ""


EVENT_TYPES: dict[str, type[BasketEvent]] = {
    cls.KIND: cls
    for cls in (
        OpenSession,
        AddLine,
        WeighProduce,
        RemoveLine,
        SetQuantity,
        ApplyCoupon,
        RemoveCoupon,
        SetLoyalty,
        RaiseFlag,
        ResolveFlag,
        CheckOut,
        CancelSession,
    )
}


def is_basket_kind(kind: str) -> bool:
    return "." not in kind


def event_from_row(t_ms: int, kind: str, payload: dict[str, Any]) -> BasketEvent:
    """Rebuild a basket event from a journal row. Raises BasketError for unknown kinds/fields."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise BasketError(f"unknown basket event kind {kind!r}")
    if not isinstance(payload, dict):
        raise BasketError(f"{kind}: payload must be an object")
    names = {f.name for f in fields(cls)} - {"t_ms"}
    extra = set(payload) - names
    if extra:
        raise BasketError(f"{kind}: unknown field(s) {', '.join(sorted(extra))}")
    return cls(t_ms=t_ms, **payload)


def scan_event(match: ScanMatch, t_ms: int, line: str) -> AddLine | ApplyCoupon:
    """The basket event a matched scan stands for: ``AddLine`` (qty from a count label, grams
    and price from a label) or ``ApplyCoupon``. Raises ValueError when the scan cannot go on the
    bill as it is (rejected, unknown, or needs weighing)."""
    if not match.ok:
        raise ValueError(match.reason or "nothing matched")
    if match.coupon is not None:
        return ApplyCoupon(t_ms, code=match.coupon.code)
    product, it = match.product, match.interpretation
    assert product is not None  # ok and no coupon: a product
    if match.needs_weighing:
        raise ValueError(f"{product.name} is sold by weight: weigh it")
    return AddLine(
        t_ms,
        line=line,
        product=product.id,
        qty=it.count or 1,
        grams=it.weight_g if product.by_weight else None,
        price=it.price,
        code=it.text,
    )
