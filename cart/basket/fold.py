"""The basket: typed basket events and the fold that applies them.

A basket is a fold over its events. :class:`Basket` validates an event against the current
state (:meth:`Basket.check`, raising :class:`BasketError` with the reason) before anything is
journaled, then applies it. :meth:`Basket.snapshot` gives an immutable :class:`BasketSnapshot`
(priced lines, totals, open flags), cached until the next change.

Event rows are ``(t_ms, kind, payload)``. Basket kinds have no dot (``add_line``); kinds with a
dot (``fusion.scan``, ``staff.login``) belong to other subsystems that share the journal and
fold them themselves: the basket ignores them.

Pure: no clock, no I/O. Time is the ``t_ms`` each event carries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from cart.pricing.engine import (
    EMPTY_TOTALS,
    AppliedCoupon,
    LineInput,
    PricedLine,
    PricedTotals,
    price_lines,
)
from cart.store.model import Coupon, Store

if TYPE_CHECKING:
    from cart.store.barcodes import ScanMatch

MAX_QTY = 999
MAX_GRAMS = 100_000
FLAG_BY = ("shopper", "staff", "system")


class BasketError(ValueError):
    """An event that cannot apply to the basket as it is (the reason is the message)."""


# ---------------------------------------------------------------------------------------------
# Events


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


# ---------------------------------------------------------------------------------------------
# State and snapshot


@dataclass(frozen=True, slots=True)
class BasketFlag:
    """A flag as the basket journals it (raised by ``RaiseFlag``, closed by ``ResolveFlag``):
    string id, JSON payload and how it was resolved. Fusion's live alert is
    ``cart.fusion.alerts.Flag``."""

    id: str
    kind: str
    message: str
    action: str
    payload: dict  # JSON-able; treat as read-only
    raised_ms: int
    resolution: str = ""
    resolved_by: str = ""
    staff_id: str = ""
    resolved_ms: int | None = None

    @property
    def open(self) -> bool:
        return self.resolved_ms is None


@dataclass(frozen=True, slots=True)
class _LineState:
    line_id: str
    product_id: str
    qty: int
    grams: int
    fixed_price: int | None
    code: str
    added_ms: int


@dataclass(frozen=True, slots=True)
class BasketSnapshot:
    """What the screen shows and fusion reads: immutable, cheap to pass around."""

    session: str
    seq: int  # basket events applied so far
    t_ms: int  # time of the last basket event
    lines: tuple[PricedLine, ...]
    totals: PricedTotals
    flags: tuple[BasketFlag, ...]  # open flags, in the order they were raised
    coupons: tuple[AppliedCoupon, ...]
    loyalty_member: str
    expected_weight_g: int  # Σ expected weights (unit weight × qty or grams, plus tare)
    state: str  # "open" | "checked_out" | "cancelled"
    store: str = ""

    @property
    def closed(self) -> bool:
        return self.state != "open"

    def line(self, line_id: str) -> PricedLine | None:
        for ln in self.lines:
            if ln.line_id == line_id:
                return ln
        return None


class Basket:
    """The fold. ``Basket(store, session)``; ``apply(event)``; ``snapshot()``."""

    def __init__(self, store: Store, session: str = "") -> None:
        self.store = store
        self.session = session
        self._lines: dict[str, _LineState] = {}
        self._inputs: dict[str, LineInput] = {}  # the same lines as pricing inputs
        self._open: dict[str, BasketFlag] = {}  # open flags, in the order raised
        self._price_cache: dict = {}
        self._line_ids_used: set[str] = set()
        self._coupons: list[Coupon] = []
        self._flags: dict[str, BasketFlag] = {}  # every flag raised, in order
        self._loyalty = ""
        self._opened = False
        self._state = "open"
        self._seq = 0
        self._t_ms = 0
        self._snapshot: BasketSnapshot | None = None
        self._lines_seq = 0
        self._flags_seq = 0

    # -- convenience for producers ------------------------------------------------------------

    def next_line_id(self) -> str:
        """A fresh line id ("L1", "L2", ...) not used before in this session."""
        n = self._lines_seq + 1
        while f"L{n}" in self._line_ids_used:
            n += 1
        return f"L{n}"

    def next_flag_id(self) -> str:
        n = self._flags_seq + 1
        while f"F{n}" in self._flags:
            n += 1
        return f"F{n}"

    @property
    def seq(self) -> int:
        return self._seq

    @property
    def state(self) -> str:
        return self._state

    @property
    def open_flags(self) -> tuple[BasketFlag, ...]:
        return tuple(self._open.values())

    @property
    def all_flags(self) -> tuple[BasketFlag, ...]:
        """Every flag raised in this session with how it was resolved (the audit trail)."""
        return tuple(self._flags.values())

    def copy(self) -> Basket:
        """An independent copy (to validate a batch of events before journaling it)."""
        b = Basket.__new__(Basket)
        b.__dict__.update(self.__dict__)
        b._lines = dict(self._lines)
        b._inputs = dict(self._inputs)
        b._open = dict(self._open)
        b._price_cache = {}
        b._line_ids_used = set(self._line_ids_used)
        b._coupons = list(self._coupons)
        b._flags = dict(self._flags)
        return b

    # -- the fold -----------------------------------------------------------------------------

    def apply_row(self, t_ms: int, kind: str, payload: dict[str, Any]) -> bool:
        """Apply a journal row. Namespaced kinds are ignored (returns False)."""
        if not is_basket_kind(kind):
            return False
        self.apply(event_from_row(t_ms, kind, payload))
        return True

    def apply(self, ev: BasketEvent) -> None:
        """Validate and apply; on error nothing changes."""
        self.check(ev)
        self._apply(ev)

    def check(self, ev: BasketEvent) -> None:
        """Raise BasketError if ``ev`` cannot apply now. Changes nothing."""
        if not isinstance(ev, BasketEvent) or ev.KIND not in EVENT_TYPES:
            raise BasketError(f"not a basket event: {ev!r}")
        if not isinstance(ev.t_ms, int) or isinstance(ev.t_ms, bool) or ev.t_ms < 0:
            raise BasketError(f"{ev.KIND}: t_ms must be a non-negative integer")
        if ev.t_ms < self._t_ms:
            raise BasketError(f"{ev.KIND}: time goes backwards ({ev.t_ms} < {self._t_ms})")
        if isinstance(ev, OpenSession):
            if self._opened:
                raise BasketError("session already open")
            return
        if not self._opened:
            raise BasketError(f"{ev.KIND}: the session is not open")
        if self._state != "open":
            raise BasketError(f"{ev.KIND}: the session is {self._state.replace('_', ' ')}")
        getattr(self, f"_check_{ev.KIND}")(ev)

    def _apply(self, ev: BasketEvent) -> None:
        getattr(self, f"_do_{ev.KIND}")(ev)
        self._seq += 1
        self._t_ms = ev.t_ms
        self._snapshot = None

    # -- checks ---------------------------------------------------------------------------------

    @staticmethod
    def _int(v, name, lo, hi) -> None:
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise BasketError(f"{name} must be an integer {lo}..{hi}, got {v!r}")

    def _new_line_id(self, line) -> None:
        if not isinstance(line, str) or not line or len(line) > 64:
            raise BasketError(f"line id must be a non-empty string, got {line!r}")
        if line in self._line_ids_used:
            raise BasketError(f"line id {line!r} already used in this session")

    def _line(self, line) -> _LineState:
        st = self._lines.get(line) if isinstance(line, str) else None
        if st is None:
            raise BasketError(f"no line {line!r} in the basket")
        return st

    def _check_add_line(self, ev: AddLine) -> None:
        self._new_line_id(ev.line)
        p = self.store.catalog.get(ev.product) if isinstance(ev.product, str) else None
        if p is None:
            raise BasketError(f"unknown product {ev.product!r}")
        self._int(ev.qty, "qty", 1, MAX_QTY)
        if ev.price is not None:
            self._int(ev.price, "price", 0, 10**9)
        if p.by_weight:
            if ev.grams is None and ev.price is None:
                raise BasketError(f"{p.name} is sold by weight: grams needed")
            if ev.grams is not None:
                self._int(ev.grams, "grams", 1, MAX_GRAMS)
        elif ev.grams is not None:
            raise BasketError(f"{p.name} is sold each: no grams")
        if not isinstance(ev.code, str):
            raise BasketError("code must be a string")

    def _check_weigh_produce(self, ev: WeighProduce) -> None:
        self._new_line_id(ev.line)
        p = self.store.catalog.by_plu(ev.plu) if isinstance(ev.plu, str) else None
        if p is None:
            raise BasketError(f"unknown PLU {ev.plu!r}")
        if not p.by_weight:
            raise BasketError(f"PLU {ev.plu} ({p.name}) is sold each, not by weight")
        self._int(ev.grams, "grams", 1, MAX_GRAMS)
        self._int(ev.tare_g, "tare_g", 0, MAX_GRAMS)

    def _check_remove_line(self, ev: RemoveLine) -> None:
        self._line(ev.line)

    def _check_set_quantity(self, ev: SetQuantity) -> None:
        st = self._line(ev.line)
        self._int(ev.qty, "qty", 1, MAX_QTY)
        p = self.store.catalog[st.product_id]
        if p.by_weight and st.fixed_price is None and ev.qty != st.qty:
            raise BasketError(f"{p.name} is weighed: remove the line and weigh again")

    def _coupon(self, code) -> Coupon | None:
        return self.store.catalog.coupon(code) if isinstance(code, str) else None

    def _check_apply_coupon(self, ev: ApplyCoupon) -> None:
        c = self._coupon(ev.code)
        if c is None:
            raise BasketError(f"unknown coupon {ev.code!r}")
        if any(x.gtin == c.gtin for x in self._coupons):
            raise BasketError(f"coupon {c.name!r} is already applied")

    def _check_remove_coupon(self, ev: RemoveCoupon) -> None:
        c = self._coupon(ev.code)
        if c is None or not any(x.gtin == c.gtin for x in self._coupons):
            raise BasketError(f"coupon {ev.code!r} is not applied")

    def _check_set_loyalty(self, ev: SetLoyalty) -> None:
        if not isinstance(ev.member, str) or len(ev.member) > 64:
            raise BasketError("member must be a string of at most 64 characters")

    def _check_raise_flag(self, ev: RaiseFlag) -> None:
        if not isinstance(ev.flag, str) or not ev.flag or len(ev.flag) > 64:
            raise BasketError(f"flag id must be a non-empty string, got {ev.flag!r}")
        if ev.flag in self._flags:
            raise BasketError(f"flag id {ev.flag!r} already used in this session")
        for name in ("kind", "action"):
            v = getattr(ev, name)
            if not isinstance(v, str) or not v.strip():
                raise BasketError(f"flag {name} must be a non-empty string")
        if not isinstance(ev.message, str):
            raise BasketError("flag message must be a string")
        if not isinstance(ev.payload, dict):
            raise BasketError("flag payload must be an object")
        try:
            json.dumps(ev.payload, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise BasketError(f"flag payload is not JSON: {exc}") from None

    def _check_resolve_flag(self, ev: ResolveFlag) -> None:
        f = self._flags.get(ev.flag) if isinstance(ev.flag, str) else None
        if f is None:
            raise BasketError(f"no flag {ev.flag!r}")
        if not f.open:
            raise BasketError(f"flag {ev.flag!r} is already resolved")
        if ev.by not in FLAG_BY:
            raise BasketError(f"by must be one of {', '.join(FLAG_BY)}, got {ev.by!r}")
        if not isinstance(ev.resolution, str) or not ev.resolution.strip():
            raise BasketError("resolution must be a non-empty string")
        if ev.by == "staff" and not ev.staff_id:
            raise BasketError("a staff resolution names the staff member (staff_id)")

    def _check_check_out(self, ev: CheckOut) -> None:
        flags = self.open_flags
        if flags:
            raise BasketError(
                f"cannot check out: {len(flags)} open flag(s), first: {flags[0].kind}"
            )

    def _check_cancel(self, ev: CancelSession) -> None:
        if ev.by != "staff" or not ev.staff_id:
            raise BasketError("only staff (with staff_id) can cancel a session")

    # -- applying -------------------------------------------------------------------------------

    def _do_open(self, ev: OpenSession) -> None:
        self._opened = True

    def _add(self, line, product_id, qty, grams, price, code, t_ms) -> None:
        self._lines[line] = _LineState(line, product_id, qty, grams or 0, price, code, t_ms)
        self._inputs[line] = LineInput(line, self.store.catalog[product_id], qty, grams or 0, price)
        self._line_ids_used.add(line)
        if line.startswith("L") and line[1:].isdigit():
            self._lines_seq = max(self._lines_seq, int(line[1:]))

    def _do_add_line(self, ev: AddLine) -> None:
        self._add(ev.line, ev.product, ev.qty, ev.grams, ev.price, ev.code, ev.t_ms)

    def _do_weigh_produce(self, ev: WeighProduce) -> None:
        p = self.store.catalog.by_plu(ev.plu)
        assert p is not None  # _check_weigh_produce refused an unknown PLU
        self._add(ev.line, p.id, 1, ev.grams, None, ev.plu, ev.t_ms)

    def _do_remove_line(self, ev: RemoveLine) -> None:
        del self._lines[ev.line]
        del self._inputs[ev.line]

    def _do_set_quantity(self, ev: SetQuantity) -> None:
        st = self._lines[ev.line]
        self._lines[ev.line] = _LineState(
            st.line_id, st.product_id, ev.qty, st.grams, st.fixed_price, st.code, st.added_ms
        )
        li = self._inputs[ev.line]
        self._inputs[ev.line] = LineInput(li.line_id, li.product, ev.qty, li.grams, li.fixed_price)

    def _do_apply_coupon(self, ev: ApplyCoupon) -> None:
        c = self._coupon(ev.code)
        assert c is not None  # _check_apply_coupon refused an unknown coupon
        self._coupons.append(c)

    def _do_remove_coupon(self, ev: RemoveCoupon) -> None:
        c = self._coupon(ev.code)
        assert c is not None  # _check_remove_coupon refused a coupon not applied
        g = c.gtin
        self._coupons = [c for c in self._coupons if c.gtin != g]

    def _do_set_loyalty(self, ev: SetLoyalty) -> None:
        self._loyalty = ev.member

    def _do_raise_flag(self, ev: RaiseFlag) -> None:
        self._flags[ev.flag] = self._open[ev.flag] = BasketFlag(
            ev.flag, ev.kind, ev.message, ev.action, json.loads(json.dumps(ev.payload)), ev.t_ms
        )
        if ev.flag.startswith("F") and ev.flag[1:].isdigit():
            self._flags_seq = max(self._flags_seq, int(ev.flag[1:]))

    def _do_resolve_flag(self, ev: ResolveFlag) -> None:
        f = self._flags[ev.flag]
        self._flags[ev.flag] = BasketFlag(
            f.id,
            f.kind,
            f.message,
            f.action,
            f.payload,
            f.raised_ms,
            ev.resolution,
            ev.by,
            ev.staff_id,
            ev.t_ms,
        )
        del self._open[ev.flag]

    def _do_check_out(self, ev: CheckOut) -> None:
        self._state = "checked_out"

    def _do_cancel(self, ev: CancelSession) -> None:
        self._state = "cancelled"
        for fid, f in list(self._flags.items()):
            if f.open:
                self._flags[fid] = BasketFlag(
                    f.id,
                    f.kind,
                    f.message,
                    f.action,
                    f.payload,
                    f.raised_ms,
                    "session cancelled",
                    "staff",
                    ev.staff_id,
                    ev.t_ms,
                )
        self._open.clear()

    # -- snapshot -------------------------------------------------------------------------------

    def snapshot(self) -> BasketSnapshot:
        """The basket now, priced. Cached until the next event."""
        if self._snapshot is not None:
            return self._snapshot
        inputs = list(self._inputs.values())
        weight = 0
        for li in inputs:
            p = li.product
            if p.sold_by == "weight" and li.grams:
                weight += (li.grams + p.tare_g) * li.qty
            else:
                weight += (p.unit_weight_g + p.tare_g) * li.qty
        if self._state == "cancelled":
            inputs = []
        if inputs or self._coupons:
            priced = price_lines(
                inputs,
                self.store.catalog,
                self.store.config,
                self._coupons,
                loyalty=bool(self._loyalty),
                cache=self._price_cache,
            )
            lines, coupons, totals = priced.lines, priced.coupons, priced.totals
        else:
            cfg = self.store.config
            lines, coupons = (), ()
            totals = (
                PricedTotals(
                    0,
                    0,
                    0,
                    0,
                    currency=cfg.currency,
                    minor_digits=cfg.minor_digits,
                    tax_inclusive=cfg.tax_inclusive,
                )
                if cfg
                else EMPTY_TOTALS
            )
        self._snapshot = BasketSnapshot(
            session=self.session,
            seq=self._seq,
            t_ms=self._t_ms,
            lines=lines,
            totals=totals,
            flags=self.open_flags,
            coupons=coupons,
            loyalty_member=self._loyalty,
            expected_weight_g=weight,
            state=self._state,
            store=self.store.config.id,
        )
        return self._snapshot


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
