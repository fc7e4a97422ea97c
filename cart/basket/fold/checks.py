"""What may apply to the basket as it is: one check per event kind, raising
:class:`BasketError` with the reason."""

from __future__ import annotations

import json

from cart.basket.fold.events import (
    AddLine,
    ApplyCoupon,
    BasketError,
    CancelSession,
    CheckOut,
    RaiseFlag,
    RemoveCoupon,
    RemoveLine,
    ResolveFlag,
    SetLoyalty,
    SetQuantity,
    WeighProduce,
)
from cart.basket.fold.state import BasketFields, _LineState
from cart.store.model import Coupon

MAX_QTY = 999
MAX_GRAMS = 100_000
FLAG_BY = ("shopper", "staff", "system")


class BasketChecks(BasketFields):
    """The checks, ``_check_<kind>(event)``: each changes nothing."""

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
