"""The fold: validate an event, apply it, and price the basket as a snapshot."""

from __future__ import annotations

import json
from typing import Any

from cart.basket.fold.checks import BasketChecks
from cart.basket.fold.events import (
    EVENT_TYPES,
    AddLine,
    ApplyCoupon,
    BasketError,
    BasketEvent,
    CancelSession,
    CheckOut,
    OpenSession,
    RaiseFlag,
    RemoveCoupon,
    RemoveLine,
    ResolveFlag,
    SetLoyalty,
    SetQuantity,
    WeighProduce,
    event_from_row,
    is_basket_kind,
)
from cart.basket.fold.state import BasketFlag, BasketSnapshot, _LineState
from cart.pricing.engine import EMPTY_TOTALS, LineInput, PricedTotals, price_lines


class Basket(BasketChecks):
    """The fold. ``Basket(store, session)``; ``apply(event)``; ``snapshot()``."""

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
