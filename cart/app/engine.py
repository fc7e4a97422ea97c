"""Engines: the basket behind the screen, as the runtime drives it (see ``cart.app.runtime.Engine``).

- :class:`CoreEngine` is the core alone: a scan adds a line (priced, journaled), a coupon
  applies, loose produce is weighed with the scale's last settled increase, age-restricted
  items raise a flag that staff approve, and check-out closes the session with its receipt.
- :class:`FusionEngine` puts ``cart.fusion.session.FusionSession`` in front of the same core:
  every device event and screen action goes to the reconciler, whose effects (lines, flags,
  resolutions, check-out) become core basket events journaled in one transaction with the input
  that caused them; on restart the basket comes back from the journal and the reconciler is
  rebuilt by replaying those inputs. This module only maps the screen's actions to fusion's
  (alert "F3" is fusion's flag 3, line "L7" its line 7) and fusion's notices to the screen.

Both turn the core's immutable ``BasketSnapshot`` into the screen's :class:`EngineView`. All
text that reaches the screen stays plain text; the screen shows it literally.
"""

from __future__ import annotations

import hashlib
import json
import logging

from cart.common import events as ev_types
from cart.store.barcodes import lookup, printable
from cart.basket.fold import (
    AddLine,
    ApplyCoupon,
    BasketError,
    CheckOut,
    RaiseFlag,
    RemoveLine,
    ResolveFlag,
    WeighProduce,
)
from cart.store.model import CatalogProduct, Store
from cart.common.events import DeviceEvent, Scan, WeightSettled
from cart.basket.journal import JournalError
from cart.basket.receipt import render_text
from cart.app.runtime import EngineView
from cart.basket.session import CartSession
from cart.app import actions as ui
from cart.app.view import AlertView, Choice, LineView, Receipt, Totals

log = logging.getLogger(__name__)

STAFF_ID = "staff"
MAX_PIN_FAILURES = 3
PIN_LOCKOUT_MS = 60_000


def exit_code(store: Store, session_id: str, receipt: dict) -> str:
    """What the exit gate scans: store, session, total and a digest of the stored receipt (the
    gate looks the session up and compares the digest)."""
    digest = hashlib.sha256(json.dumps(receipt, sort_keys=True).encode()).hexdigest()[:12]
    total = receipt.get("totals", {}).get("total", 0)
    return f"CART1:{store.config.id}:{session_id}:{total}:{digest}"


def produce_code(p: CatalogProduct) -> str:
    """The code a product is chosen by on the screen: its PLU, else its first GTIN."""
    return p.plu or (p.gtins[0] if p.gtins else p.id)


class CoreEngine:
    """The core alone. See the module docstring."""

    def __init__(self, session: CartSession, store: Store) -> None:
        self.session = session
        self.store = store
        self.money = store.config.money
        self._message = ""
        self._staff: str | None = None
        self._pin_failures = 0
        self._locked_until = 0
        self._receipt: Receipt | None = None
        self._unclaimed_g = 0.0  # last settled increase no line has used (loose produce)
        self._settled_g: float | None = None  # the scale's last settled total
        self._line_cache: dict[object, LineView] = {}
        self._view: EngineView | None = None
        self._view_seq = -1
        self._seen: tuple[int, tuple[Choice, ...]] | None = None  # (t_ms, produce suggestions)

    # ---- inputs ----------------------------------------------------------------------------
    def handle_event(self, event: DeviceEvent, t_ms: int) -> None:
        if isinstance(event, Scan):
            self._scan(event.code, event.symbology, t_ms)
        elif isinstance(event, WeightSettled):
            self._settled_g = event.grams
            self._unclaimed_g = max(0.0, event.delta_g) if event.delta_g else self._unclaimed_g

    def handle_action(self, action: ui.ScreenAction, t_ms: int) -> None:
        self._message = ""
        match action:
            case ui.EnterCoupon(code=code):
                self._coupon(code, t_ms)
            case ui.AddProduce(code=code):
                self._scan(code, "", t_ms, chosen=True)
            case ui.EnterStaffPin(pin=pin, staff_id=staff_id):
                self._login(pin, staff_id or STAFF_ID, t_ms)
            case ui.LeaveStaffMode():
                self._logout(t_ms)
            case ui.ResolveAlert(alert_id=alert_id, resolution=resolution):
                if self._need_staff():
                    self._apply(
                        ResolveFlag(
                            t_ms,
                            flag=alert_id,
                            resolution=resolution,
                            by="staff",
                            staff_id=self._staff,
                        )
                    )
            case ui.StaffRemoveLine(line_id=line_id):
                if self._need_staff():
                    self._apply(RemoveLine(t_ms, line=line_id, reason="removed by staff"))
            case ui.Answer(alert_id=alert_id, choice=choice):
                self._apply(ResolveFlag(t_ms, flag=alert_id, resolution=choice, by="shopper"))
            case ui.Pay():
                self._checkout(t_ms)
            case ui.NewTrip():
                if self._may_start_new_trip():
                    self._new_session(t_ms)
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
            if self._apply(
                WeighProduce(
                    t_ms, line=basket.next_line_id(), plu=p.plu, grams=grams, tare_g=p.tare_g
                )
            ):
                self._unclaimed_g = 0.0
            return
        add = AddLine(
            t_ms,
            line=basket.next_line_id(),
            product=p.id,
            grams=it.weight_g if p.by_weight else None,
            price=it.price,
            code=it.text,
        )
        batch = [add]
        if p.age_min:
            batch.append(
                RaiseFlag(
                    t_ms,
                    flag=basket.next_flag_id(),
                    kind="age_check",
                    message=f"{p.name} is for {p.age_min}+ only",
                    action="Staff will check your ID",
                    payload={"line": add.line, "needs_staff": True},
                )
            )
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

    EMPTY_CART_G = 20.0  # a new trip starts only on an empty cart (so its basket starts at 0)

    def _may_start_new_trip(self) -> bool:
        if not self.session.closed:
            self._message = "This trip is not paid yet"
            return False
        if self._settled_g is not None and abs(self._settled_g) > self.EMPTY_CART_G:
            self._message = "Take everything out of the cart to start a new trip"
            return False
        return True

    def _new_session(self, t_ms: int) -> None:
        self.session = CartSession.start(self.session.journal, self.store, t_ms)
        self._fresh()

    def _fresh(self) -> None:
        self._receipt, self._message, self._unclaimed_g = None, "", 0.0
        self._seen = None
        self._line_cache.clear()
        self._staff = None

    def _closed_with_receipt(self) -> None:
        sid = self.session.id
        receipt = self.session.journal.receipt(sid)
        if receipt is None:
            self._message = "Checked out, but the receipt could not be read back"
            return
        self._receipt = Receipt(sid, render_text(receipt), exit_code(self.store, sid, receipt))

    # ---- the screen's view ---------------------------------------------------------------------
    SUGGEST_FOR_MS = 60_000  # what the camera saw is offered on produce entry this long

    def _saw(self, verdict: ev_types.VisionVerdict) -> None:
        """Keep the produce the classifier's verdict points to (``cart.fusion.vision.suggest``) for
        produce entry."""
        try:
            from cart.fusion.vision import Hierarchy, suggest
        except ImportError:
            return
        try:
            if getattr(self, "_hierarchy", None) is None:
                self._hierarchy = Hierarchy.load()
            found = suggest(verdict, self.store.catalog, self._hierarchy, k=3)
        except (ValueError, OSError) as exc:
            log.warning("suggestions from %r failed: %s", verdict, exc)
            return
        by_plu = {p.plu: p for p in self.store.catalog.products if p.plu}
        choices = []
        for s in found:
            p = by_plu.get(s.plu)
            if p is not None:
                choices.append(Choice(produce_code(p), p.name, f"{100 * s.score:.0f}%"))
        self._seen = (verdict.t_ms, tuple(choices))

    def _suggestions(self) -> tuple[Choice, ...]:
        if self._seen is None or self.session.closed:
            return ()
        t, choices = self._seen
        if self._now - t > self.SUGGEST_FOR_MS:
            return ()
        return choices

    _now = 0

    def view(self) -> EngineView:
        snap = self.session.snapshot()
        flagged = {f.payload.get("line") for f in snap.flags if isinstance(f.payload, dict)}
        flagged |= {
            f"L{f.payload['line_id']}"
            for f in snap.flags
            if isinstance(f.payload, dict) and f.payload.get("line_id") is not None
        }
        lines = tuple(self._line(ln, ln.line_id in flagged) for ln in snap.lines)
        if len(self._line_cache) > 2 * len(lines) + 100:
            self._line_cache.clear()
        t = snap.totals
        coupons = tuple(c.name + (f" ({c.note})" if c.note else "") for c in snap.coupons)
        return EngineView(
            lines=lines,
            totals=Totals(t.subtotal, t.savings, t.tax, t.total, t.tax_inclusive),
            alerts=tuple(self._alert(f) for f in snap.flags),
            coupons=coupons,
            staff=self._staff is not None,
            message=self._message,
            receipt=self._receipt,
            suggestions=self._suggestions(),
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
            view = LineView(
                ln.line_id,
                ln.name,
                qty,
                ln.unit_price,
                per_kg,
                ln.amount,
                ln.savings,
                flagged,
                ln.promotion,
            )
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
        return AlertView(flag.id, flag.kind, flag.message, flag.action, tuple(choices), staff_only)

    def search_products(self, query: str, limit: int) -> list[Choice]:
        q = query.strip()
        cat = self.store.catalog
        found: list[CatalogProduct] = []
        if q.isdigit():
            p = cat.by_plu(q) or cat.by_gtin(q)
            if p is not None:
                found.append(p)
            found += [p for p in cat.products if p.plu.startswith(q) and p not in found]
        else:
            found = list(cat.search(q, limit))
        return [
            Choice(
                produce_code(p),
                p.name,
                (f"PLU {p.plu}  " if p.plu else "")
                + self.money.format(p.price)
                + ("/kg" if p.by_weight else ""),
            )
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


def _fid(alert_id: str) -> int:
    """Fusion's flag number from the core flag id the screen shows ("F3" → 3)."""
    return int(str(alert_id).lstrip("F"))


class FusionEngine(CoreEngine):
    """``cart.fusion.session.FusionSession`` (the reconciler kept in step with the core basket and
    its journal) behind the screen. See the module docstring."""

    def __init__(self, fusion_session, store: Store, vision: bool = True) -> None:
        super().__init__(fusion_session.cart, store)
        self.fs = fusion_session
        self.vision = vision

    @staticmethod
    def config(vision: bool):
        from cart.fusion import FusionConfig

        # Without a camera, produce is billed on the shopper's choice and the scale alone.
        return FusionConfig() if vision else FusionConfig(use_vision=False)

    @classmethod
    def start(cls, journal, store: Store, t_ms: int, *, vision: bool = True) -> FusionEngine:
        from cart.fusion.session import FusionSession

        fs = FusionSession.start(journal, store, t_ms, config=cls.config(vision))
        return cls(fs, store, vision)

    @classmethod
    def recover(cls, journal, store: Store, *, vision: bool = True) -> FusionEngine | None:
        from cart.fusion.session import FusionSession

        fs = FusionSession.recover(journal, store, config=cls.config(vision))
        return None if fs is None else cls(fs, store, vision)

    def _new_session(self, t_ms: int) -> None:
        """The next trip keeps what the cart learnt about product weights."""
        from cart.fusion.session import FusionSession

        self.fs = FusionSession.start(
            self.session.journal,
            self.store,
            t_ms,
            config=self.config(self.vision),
            weights=self.fs.rec.weights,
        )
        self.session = self.fs.cart
        self._fresh()

    # ---- inputs ----------------------------------------------------------------------------
    def handle_event(self, event: DeviceEvent, t_ms: int) -> None:
        self._now = max(self._now, t_ms)
        if isinstance(event, WeightSettled):
            self._settled_g = event.grams
        if isinstance(event, ev_types.VisionVerdict):
            self._saw(event)
        if isinstance(event, ev_types.DeviceStatus) or self.session.closed:
            return
        if isinstance(event, Scan):
            m = lookup(self.store, event.code, event.symbology, t_ms=event.t_ms)
            if m.coupon is None and not m.ok and m.interpretation.kind == "rejected":
                # the core says exactly why (check digit, bad GS1 data); fusion need not see it
                self._message = f"Not accepted: {printable(event.code, 40)}: {m.reason}"
                return
        self._run(event)

    def handle_action(self, action: ui.ScreenAction, t_ms: int) -> None:
        from cart.fusion import actions as fa

        self._message = ""
        match action:
            case ui.EnterCoupon(code=code):
                self._coupon(code, t_ms)
                return
            case ui.AddProduce(code=code, alert_id=alert_id):
                x = fa.SelectProduce(t_ms, _fid(alert_id) if alert_id else None, code)
            case ui.EnterStaffPin(pin=pin, staff_id=staff_id):
                x = fa.StaffLogin(t_ms, staff_id or STAFF_ID, pin)  # journaled without the PIN
            case ui.LeaveStaffMode():
                x = fa.StaffLogout(t_ms)
            case ui.ResolveAlert(alert_id=alert_id, resolution=resolution):
                x = fa.StaffResolve(t_ms, _fid(alert_id), resolution)
            case ui.StaffRemoveLine(line_id=line_id):
                x = fa.RemoveLine(t_ms, int(line_id.lstrip("L")))
            case ui.Pay():
                x = fa.Checkout(t_ms)
            case ui.NewTrip():
                x = None
                if self._may_start_new_trip():
                    self._new_session(t_ms)
            case ui.Answer(alert_id=alert_id, choice=choice):
                x = self._answer(_fid(alert_id), choice, t_ms)
            case _:
                x = None
                self._message = f"Not available here: {type(action).__name__}"
        if x is not None:
            self._run(x)
            if isinstance(x, fa.StaffLogin) and self.fs.state().staff is None:
                self._message = self._message or "Wrong PIN"

    def _answer(self, flag_id: int, choice: str, t_ms: int):
        from cart.fusion import actions as fa

        kind = next((f.kind for f in self.fs.rec.open_flags if f.id == flag_id), None)
        if kind is None:
            self._message = "That question is already answered"
            return None
        if choice.startswith("line:"):
            return fa.PickRemoved(t_ms, flag_id, int(choice.removeprefix("line:")))
        simple = {
            "cancel": fa.CancelScan,
            "confirm": fa.ConfirmQuantity,
            "personal": fa.DeclarePersonal,
            "show_again": fa.ShowAgain,
            "staff": fa.CallStaff,
        }
        if choice in simple:
            return simple[choice](t_ms, flag_id)
        if kind in ("weigh_produce", "scan_added"):
            return fa.SelectProduce(t_ms, flag_id, choice)
        self._message = f"Not an answer to that question: {printable(choice, 20)}"
        return None

    def advance(self, t_ms: int) -> None:
        self._now = max(self._now, t_ms)
        if not self.session.closed:
            self._run_tick(t_ms)

    def _run_tick(self, t_ms: int) -> None:
        try:
            self.fs.tick(t_ms)
        except (BasketError, JournalError) as exc:
            self._message = f"Not done: {exc}"

    def _run(self, x) -> None:
        from cart.fusion.alerts import CheckedOut

        seen = len(self.fs.notices)
        try:
            effects = self.fs.handle(x)
        except BasketError as exc:
            self._message = f"Not done: {exc}"
            return
        except JournalError as exc:
            log.error("journal refused %r: %s", x, exc)
            self._message = f"Could not save the basket: {exc}"
            return
        notices = [n for n in self.fs.notices[seen:] if n.kind != "out_of_order"]
        if notices:
            self._message = notices[-1].text
        if len(self.fs.notices) > 1000:
            del self.fs.notices[:500]
        if any(isinstance(e, CheckedOut) for e in effects) and self.session.closed:
            self._closed_with_receipt()

    def view(self) -> EngineView:
        base = super().view()
        staff = self.fs.state().staff is not None
        return EngineView(
            base.lines,
            base.totals,
            base.alerts,
            base.coupons,
            staff,
            base.message,
            base.receipt,
            base.suggestions,
        )
