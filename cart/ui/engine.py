"""Engines: the basket behind the screen, as the runtime drives it (see ``cart.runtime.Engine``).

- :class:`CoreEngine` is the core alone: a scan adds a line (priced, journaled), a coupon
  applies, loose produce is weighed with the scale's last settled increase, age-restricted
  items raise a flag that staff approve, and check-out closes the session with its receipt.
- :class:`FusionEngine` puts ``cart.fusion``'s reconciler in front of the same core: every
  device event and screen action goes to the reconciler, and its effects (lines, flags,
  resolutions, check-out) become core basket events, journaled in one transaction together
  with the input that caused them (``fusion.input`` rows). On restart the basket comes back
  from the journal and the reconciler is rebuilt by replaying those inputs.

Both turn the core's immutable ``BasketSnapshot`` into the screen's :class:`EngineView`. All
text that reaches the screen stays plain text; the screen shows it literally.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, fields

from cart import events as ev_types
from cart.barcodes import lookup, printable
from cart.basket import (
    AddLine,
    ApplyCoupon,
    BasketError,
    CheckOut,
    RaiseFlag,
    RemoveLine,
    ResolveFlag,
    WeighProduce,
)
from cart.catalog import Product, Store
from cart.events import DeviceEvent, Scan, WeightSettled
from cart.journal import JournalError
from cart.receipt import render_text
from cart.runtime import EngineView
from cart.session import CartSession
from cart.ui import actions as ui
from cart.ui.view import AlertView, Choice, LineView, Money, Receipt, Totals

log = logging.getLogger(__name__)

STAFF_ID = "staff"
MAX_PIN_FAILURES = 3
PIN_LOCKOUT_MS = 60_000


def money_for(store: Store) -> Money:
    return Money(store.config.currency, store.config.minor_digits)


def exit_code(store: Store, session_id: str, receipt: dict) -> str:
    """What the exit gate scans: store, session, total and a digest of the stored receipt (the
    gate looks the session up and compares the digest)."""
    digest = hashlib.sha256(json.dumps(receipt, sort_keys=True).encode()).hexdigest()[:12]
    total = receipt.get("totals", {}).get("total", 0)
    return f"CART1:{store.config.id}:{session_id}:{total}:{digest}"


def produce_code(p: Product) -> str:
    """The code a product is chosen by on the screen: its PLU, else its first GTIN."""
    return p.plu or (p.gtins[0] if p.gtins else p.id)


class CoreEngine:
    """The core alone. See the module docstring."""

    def __init__(self, session: CartSession, store: Store) -> None:
        self.session = session
        self.store = store
        self.money = money_for(store)
        self._message = ""
        self._staff: str | None = None
        self._pin_failures = 0
        self._locked_until = 0
        self._receipt: Receipt | None = None
        self._unclaimed_g = 0.0  # last settled increase no line has used (loose produce)
        self._line_cache: dict[object, LineView] = {}
        self._view: EngineView | None = None
        self._view_seq = -1

    # ---- inputs ----------------------------------------------------------------------------
    def handle_event(self, event: DeviceEvent, t_ms: int) -> None:
        if isinstance(event, Scan):
            self._scan(event.code, event.symbology, t_ms)
        elif isinstance(event, WeightSettled):
            self._unclaimed_g = max(0.0, event.delta_g) if event.delta_g else self._unclaimed_g

    def handle_action(self, action: ui.Action, t_ms: int) -> None:
        self._message = ""
        match action:
            case ui.ApplyCoupon(code=code):
                self._coupon(code, t_ms)
            case ui.AddProduce(code=code):
                self._scan(code, "", t_ms, chosen=True)
            case ui.StaffLogin(pin=pin, staff_id=staff_id):
                self._login(pin, staff_id or STAFF_ID, t_ms)
            case ui.StaffLogout():
                self._logout(t_ms)
            case ui.StaffResolve(alert_id=alert_id, resolution=resolution):
                if self._need_staff():
                    self._apply(ResolveFlag(t_ms, flag=alert_id, resolution=resolution,
                                            by="staff", staff_id=self._staff))
            case ui.StaffRemoveLine(line_id=line_id):
                if self._need_staff():
                    self._apply(RemoveLine(t_ms, line=line_id, reason="removed by staff"))
            case ui.Answer(alert_id=alert_id, choice=choice):
                self._apply(ResolveFlag(t_ms, flag=alert_id, resolution=choice, by="shopper"))
            case ui.Checkout():
                self._checkout(t_ms)
            case _:
                self._message = f"Not available here: {type(action).__name__}"

    def advance(self, t_ms: int) -> None:
        pass

    # ---- core operations -----------------------------------------------------------------------
    def _apply(self, *events, extra=()) -> bool:
        """Journal and apply; a refusal is shown, never raised (the cart keeps running)."""
        try:
            self.session.apply(*events, extra=extra)
            return True
        except BasketError as exc:
            self._message = f"Not done: {exc}"
        except JournalError as exc:
            log.error("journal refused %r: %s", events, exc)
            self._message = f"Could not save the basket: {exc}"
        return False

    def _scan(self, code: str, symbology: str, t_ms: int, *, chosen: bool = False) -> None:
        m = lookup(self.store, code, symbology, t_ms=t_ms)
        shown = printable(code, 40)
        if m.coupon is not None:
            if self._apply(ApplyCoupon(t_ms, code=m.coupon.code)):
                self._message = f"Coupon: {m.coupon.name}"
            return
        if not m.ok:
            self._message = f"Not accepted: {shown}: {m.reason}"
            return
        p, it = m.product, m.interpretation
        basket = self.session.basket
        if p.by_weight and it.weight_g is None and it.price is None:
            grams = round(self._unclaimed_g - p.tare_g)
            if grams <= 0:
                self._message = f"Put the {p.name} on the scale, then choose or scan it"
                return
            if self._apply(WeighProduce(t_ms, line=basket.next_line_id(), plu=p.plu,
                                        grams=grams, tare_g=p.tare_g)):
                self._unclaimed_g = 0.0
            return
        add = AddLine(t_ms, line=basket.next_line_id(), product=p.id,
                      grams=it.weight_g if p.by_weight else None, price=it.price, code=it.text)
        batch = [add]
        if p.age_min:
            batch.append(RaiseFlag(t_ms, flag=basket.next_flag_id(), kind="age_check",
                                   message=f"{p.name} is for {p.age_min}+ only",
                                   action="Staff will check your ID",
                                   payload={"line": add.line, "needs_staff": True}))
        if self._apply(*batch) and it.warnings:
            self._message = f"{p.name}: " + "; ".join(it.warnings)

    def _coupon(self, code: str, t_ms: int) -> None:
        m = lookup(self.store, code.strip(), t_ms=t_ms)
        if m.coupon is None:
            self._message = f"Not a coupon: {printable(code, 40)}"
            return
        if self._apply(ApplyCoupon(t_ms, code=m.coupon.code)):
            self._message = f"Coupon: {m.coupon.name}"

    def _login(self, pin: str, staff_id: str, t_ms: int) -> None:
        if t_ms < self._locked_until:
            self._message = "Staff login locked: try again in a minute"
            return
        ok = self.store.config.verify_staff_pin(pin)
        self.session.record((t_ms, "ui.staff_login", {"staff_id": staff_id, "ok": ok}))
        if ok:
            self._staff, self._pin_failures = staff_id, 0
        else:
            self._pin_failures += 1
            if self._pin_failures >= MAX_PIN_FAILURES:
                self._pin_failures, self._locked_until = 0, t_ms + PIN_LOCKOUT_MS
            self._message = "Wrong PIN"

    def _logout(self, t_ms: int) -> None:
        if self._staff is not None:
            self.session.record((t_ms, "ui.staff_logout", {"staff_id": self._staff}))
        self._staff = None

    def _need_staff(self) -> bool:
        if self._staff is None:
            self._message = "Staff only: log in first"
            return False
        return True

    def _checkout(self, t_ms: int) -> None:
        if self._apply(CheckOut(t_ms)):
            self._closed_with_receipt()

    def _closed_with_receipt(self) -> None:
        sid = self.session.id
        receipt = self.session.journal.receipt(sid)
        if receipt is None:
            self._message = "Checked out, but the receipt could not be read back"
            return
        self._receipt = Receipt(sid, render_text(receipt), exit_code(self.store, sid, receipt))

    # ---- the screen's view ---------------------------------------------------------------------
    def view(self) -> EngineView:
        snap = self.session.snapshot()
        flagged = {f.payload.get("line") for f in snap.flags if isinstance(f.payload, dict)}
        flagged |= {f"L{f.payload['line_id']}" for f in snap.flags
                    if isinstance(f.payload, dict) and f.payload.get("line_id") is not None}
        lines = tuple(self._line(ln, ln.line_id in flagged) for ln in snap.lines)
        if len(self._line_cache) > 2 * len(lines) + 100:
            self._line_cache.clear()
        t = snap.totals
        coupons = tuple(
            c.name + (f" ({c.note})" if c.note else "") for c in snap.coupons
        )
        return EngineView(
            lines=lines,
            totals=Totals(t.subtotal, t.savings, t.tax, t.total, t.tax_inclusive),
            alerts=tuple(self._alert(f) for f in snap.flags),
            coupons=coupons,
            staff=self._staff is not None,
            message=self._message,
            receipt=self._receipt,
        )

    def _line(self, ln, flagged: bool) -> LineView:
        key = (ln, flagged)
        view = self._line_cache.get(key)
        if view is None:
            per_kg = ln.sold_by == "weight" and not ln.fixed_price
            if ln.sold_by == "weight":
                qty = f"{ln.grams / 1000:.3f} kg"
            else:
                qty = str(ln.qty)
            view = LineView(ln.line_id, ln.name, qty, ln.unit_price, per_kg, ln.amount,
                            ln.savings, flagged, ln.promotion)
            self._line_cache[key] = view
        return view

    def _alert(self, flag) -> AlertView:
        payload = flag.payload if isinstance(flag.payload, dict) else {}
        staff_only = bool(payload.get("needs_staff")) or flag.kind == "age_check"
        choices: list[Choice] = []
        for c in payload.get("candidates", ()):  # fusion: [key, name, score]
            key, name, score = (list(c) + ["", "", 0])[:3]
            detail = f"{100 * float(score):.0f}%" if score else ""
            choices.append(Choice(str(key), str(name), detail))
        for o in payload.get("options", ()):  # core convention: {"line", "name"}
            if isinstance(o, dict) and "line" in o:
                choices.append(Choice(str(o["line"]), str(o.get("name", o["line"]))))
        choices.extend(EXTRA_CHOICES.get(flag.kind, ()))
        return AlertView(flag.id, flag.kind, flag.message, flag.action, tuple(choices),
                         staff_only)

    def search_products(self, query: str, limit: int) -> list[Choice]:
        q = query.strip()
        cat = self.store.catalog
        found: list[Product] = []
        if q.isdigit():
            p = cat.by_plu(q) or cat.by_gtin(q)
            if p is not None:
                found.append(p)
            found += [p for p in cat.products if p.plu.startswith(q) and p not in found]
        else:
            found = list(cat.search(q, limit))
        return [
            Choice(produce_code(p), p.name,
                   (f"PLU {p.plu}  " if p.plu else "")
                   + self.money.format(p.price) + ("/kg" if p.by_weight else ""))
            for p in found[:limit]
        ]

    def close(self) -> None:
        pass


# Answers an alert offers besides its candidates: (key, label).
EXTRA_CHOICES: dict[str, tuple[Choice, ...]] = {
    "place_scanned": (Choice("cancel", "I don't want it: cancel the scan"),),
    "scan_added": (Choice("personal", "It is my own item (bag, coat)"),),
    "weigh_produce": (Choice("personal", "It is my own item (bag, coat)"),),
    "quantity": (Choice("confirm", "Yes: bill all of them"),),
    "looks_different": (Choice("show_again", "Show it to the camera again"),),
    "unexplained_removal": (Choice("staff", "Call staff"),),
}


# ---- fusion -------------------------------------------------------------------------------------


class CoreProducts:
    """The core catalogue as fusion's ``ProductSource`` (codes interpreted by ``cart.barcodes``)."""

    def __init__(self, store: Store) -> None:
        from cart.fusion.products import Product as FProduct

        self.store = store
        self._by_id = {}
        self._by_label: dict[str, list] = {}
        for p in store.catalog.products:
            fp = FProduct(
                id=p.id, name=p.name, price_minor=p.price, by_weight=p.by_weight,
                unit_weight_g=float(p.unit_weight_g), tolerance_g=float(p.weight_tolerance_g),
                tare_g=float(p.tare_g), label=p.label or None, age_restricted=p.age_min > 0,
                codes=tuple(c for c in (p.plu, *p.gtins) if c),
            )
            self._by_id[p.id] = fp
            if p.label:
                self._by_label.setdefault(p.label, []).append(fp)

    def lookup(self, code: str):
        from cart.fusion.products import Lookup

        m = lookup(self.store, code)
        if not m.ok or m.product is None:
            return None
        it = m.interpretation
        return Lookup(self._by_id[m.product.id], it.text or code,
                      float(it.weight_g) if it.weight_g is not None else None, it.price)

    def get(self, product_id: str):
        return self._by_id.get(product_id)

    def by_label(self, label: str):
        return tuple(self._by_label.get(label, ()))

    def products(self):
        return iter(self._by_id.values())


_INPUT_TYPES = {cls.__name__: cls for cls in (ev_types.Scan, ev_types.WeightSettled,
                                              ev_types.WeightMoving, ev_types.VisionVerdict)}


def _encode(x) -> dict:
    return {"type": type(x).__name__, **asdict(x)}


def _decode(row: dict):
    from cart.fusion import actions as fa

    kind = row.get("type", "")
    cls = _INPUT_TYPES.get(kind) or getattr(fa, kind, None)
    if cls is None:
        raise ValueError(f"unknown fusion input {kind!r}")
    data = {f.name: row[f.name] for f in fields(cls) if f.name in row}
    if cls is ev_types.VisionVerdict:
        data["top"] = tuple((str(label), float(p)) for label, p in data.get("top", ()))
    return cls(**data)


class FusionEngine(CoreEngine):
    """The reconciler in front of the core. See the module docstring."""

    def __init__(self, session: CartSession, store: Store, *, replay: list[dict] = ()) -> None:
        super().__init__(session, store)
        from cart.fusion import Reconciler
        from cart.fusion.staff import StaffGate

        self.reconciler = Reconciler(
            CoreProducts(store), staff=StaffGate(pins={STAFF_ID: store.config.staff_pin_hash})
        )
        for row in replay:  # rebuild fusion's state; the basket itself came from the journal
            try:
                self.reconciler.handle(_decode(row))
            except (ValueError, TypeError) as exc:
                log.error("cannot replay fusion input %r: %s", row, exc)
        if session.closed:
            self.reconciler.checked_out = True

    @classmethod
    def recover(cls, journal, store: Store) -> FusionEngine | None:
        inputs: list[dict] = []

        def on_row(entry) -> None:
            if entry.kind == "fusion.input" and entry.payload.get("type") != "StaffLogin":
                inputs.append(entry.payload)

        session = CartSession.recover(journal, store, on_row=on_row)
        return None if session is None else cls(session, store, replay=inputs)

    # ---- inputs ----------------------------------------------------------------------------
    def handle_event(self, event: DeviceEvent, t_ms: int) -> None:
        if isinstance(event, ev_types.DeviceStatus):
            return
        if isinstance(event, Scan):
            m = lookup(self.store, event.code, event.symbology, t_ms=event.t_ms)
            if m.coupon is not None:  # coupons are the core's business
                if self._apply(ApplyCoupon(event.t_ms, code=m.coupon.code)):
                    self._message = f"Coupon: {m.coupon.name}"
                return
            if not m.ok:
                self._message = f"Not accepted: {printable(event.code, 40)}: {m.reason}"
                return
        if isinstance(event, WeightSettled | ev_types.WeightMoving | Scan | ev_types.VisionVerdict):
            self._feed(event, journal_always=not isinstance(event, ev_types.WeightMoving))

    def handle_action(self, action: ui.Action, t_ms: int) -> None:
        from cart.fusion import actions as fa

        self._message = ""
        match action:
            case ui.ApplyCoupon(code=code):
                self._coupon(code, t_ms)
                return
            case ui.AddProduce(code=code, alert_id=alert_id):
                x = fa.SelectProduce(t_ms, int(alert_id) if alert_id else None, code)
            case ui.StaffLogin(pin=pin, staff_id=staff_id):
                # the PIN is never journaled: the row records who tried and whether it worked
                effects = self.reconciler.handle(fa.StaffLogin(t_ms, staff_id or STAFF_ID, pin))
                ok = self.reconciler.state().staff is not None
                if not ok:
                    self._message = "Wrong PIN"
                self._effects(effects, (t_ms, "fusion.staff_login",
                                        {"staff_id": staff_id or STAFF_ID, "ok": ok}))
                return
            case ui.StaffLogout():
                x = fa.StaffLogout(t_ms)
            case ui.StaffResolve(alert_id=alert_id, resolution=resolution):
                x = fa.StaffResolve(t_ms, int(alert_id), resolution)
            case ui.StaffRemoveLine(line_id=line_id):
                x = fa.RemoveLine(t_ms, int(line_id.lstrip("L")))
            case ui.Checkout():
                x = fa.Checkout(t_ms)
            case ui.Answer(alert_id=alert_id, choice=choice):
                x = self._answer(int(alert_id), choice, t_ms)
                if x is None:
                    return
            case _:
                self._message = f"Not available here: {type(action).__name__}"
                return
        self._feed(x)

    def _answer(self, flag_id: int, choice: str, t_ms: int):
        from cart.fusion import actions as fa

        kind = next((f.kind for f in self.reconciler.open_flags if f.id == flag_id), None)
        if kind is None:
            self._message = "That question is already answered"
            return None
        if choice.startswith("line:"):
            return fa.PickRemoved(t_ms, flag_id, int(choice.removeprefix("line:")))
        simple = {"cancel": fa.CancelScan, "confirm": fa.ConfirmQuantity,
                  "personal": fa.DeclarePersonal, "show_again": fa.ShowAgain,
                  "staff": fa.CallStaff}
        if choice in simple:
            return simple[choice](t_ms, flag_id)
        if kind in ("weigh_produce", "scan_added"):
            return fa.SelectProduce(t_ms, flag_id, choice)
        self._message = f"Not an answer to that question: {printable(choice, 20)}"
        return None

    def advance(self, t_ms: int) -> None:
        if not self.session.closed:
            effects = self.reconciler.advance(t_ms)
            if effects:
                self._effects(effects, (t_ms, "fusion.input", {"type": "Advance", "t_ms": t_ms}))

    def _feed(self, x, *, journal_always: bool = True) -> None:
        effects = self.reconciler.handle(x)
        row = (x.t_ms, "fusion.input", _encode(x))
        if effects or journal_always:
            self._effects(effects, row)

    # ---- effects → core ------------------------------------------------------------------------
    def _effects(self, effects, input_row) -> None:
        from cart.fusion import alerts as fx

        events, extra, checkout = [], [input_row], None
        for e in effects:
            if isinstance(e, fx.LineAdded):
                p = self.store.catalog.get(e.product_id)
                grams = round(e.weight_g) if (p is not None and p.by_weight
                                               and e.weight_g is not None) else None
                events.append(AddLine(e.t_ms, line=f"L{e.line_id}", product=e.product_id,
                                      qty=e.quantity, grams=grams, price=e.price_minor,
                                      code=e.code))
            elif isinstance(e, fx.LineRemoved):
                events.append(RemoveLine(e.t_ms, line=f"L{e.line_id}", reason=e.reason))
            elif isinstance(e, fx.FlagRaised):
                f = e.flag
                events.append(RaiseFlag(e.t_ms, flag=str(f.id), kind=f.kind, message=f.message,
                                        action=f.action, payload=f.to_dict()))
            elif isinstance(e, fx.FlagResolved):
                by = "staff" if e.by.startswith("staff") else (
                    "system" if e.by == "cart" else "shopper")
                staff_id = e.by.partition(":")[2] if by == "staff" else ""
                events.append(ResolveFlag(e.t_ms, flag=str(e.flag_id), resolution=e.resolution,
                                          by=by, staff_id=staff_id or (STAFF_ID if by == "staff"
                                                                       else "")))
            elif isinstance(e, fx.Notice):
                if e.kind != "out_of_order":
                    self._message = e.text
            elif isinstance(e, fx.Audit):
                extra.append((e.t_ms, e.kind if "." in e.kind else f"fusion.{e.kind}",
                              {str(k): _jsonable(v) for k, v in e.data}))
            elif isinstance(e, fx.CheckedOut):
                checkout = CheckOut(e.t_ms)
        if checkout is not None:
            events.append(checkout)
        if self._apply(*events, extra=extra) and checkout is not None:
            self._closed_with_receipt()

    def view(self) -> EngineView:
        base = super().view()
        staff = self.reconciler.state().staff is not None
        return EngineView(base.lines, base.totals, base.alerts, base.coupons, staff,
                          base.message, base.receipt)


def _jsonable(v):
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return str(v)
