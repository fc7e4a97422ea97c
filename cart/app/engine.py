"""The engine: fusion behind the screen, as the runtime drives it (``cart.app.runtime.Engine``).

:class:`FusionEngine` puts ``cart.fusion.session.FusionSession`` in front of the core basket:
every device event and screen action goes to the reconciler, whose effects (lines, flags,
resolutions, check-out) become core basket events journaled in one transaction with the input
that caused them; on restart the basket comes back from the journal and the reconciler is
rebuilt by replaying those inputs. Every basket rule (scans, produce weighing, age checks, the
staff PIN and its lock-out, check-out) is fusion's; this module only maps the screen's actions to
fusion's, fusion's notices to the screen, and the core's immutable ``BasketSnapshot`` with
fusion's open alerts to the screen's :class:`EngineView`. Alerts and lines keep fusion's integer
ids all the way to the screen and back (the basket journal's ``"L7"`` is fusion's line 7, found
with ``cart.fusion.session.basket_line_id``, never parsed). All text that reaches the screen
stays plain text; the screen shows it literally.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import replace

from cart.app import actions as ui
from cart.app.local_names import coupon_text, promotion_name, receipt_coupon
from cart.app.runtime import EngineView
from cart.app.view import AlertView, Choice, LineView, Receipt, Totals, format_kg
from cart.basket.fold import ApplyCoupon, BasketError
from cart.basket.journal import JournalError
from cart.basket.receipt import render_text
from cart.common import events as ev_types
from cart.common.events import DeviceEvent, Scan, WeightSettled
from cart.common.i18n import N_, Phrase, _, current_language, local_name, localize, say
from cart.fusion import FusionConfig
from cart.fusion import actions as fa
from cart.fusion.alerts import AlertKind, CheckedOut, Flag
from cart.fusion.session import FusionSession, basket_line_id
from cart.store.barcodes import lookup, printable
from cart.store.model import CatalogProduct, Store

log = logging.getLogger(__name__)

STAFF_ID = "staff"
# fusion's notices for a scanned code it did not bill (``cart.fusion.rules.scan.refused``)
REJECTED_READS = frozenset({"misread", "refused_code", "unknown_code", "lookup_error"})
REJECTED_COUNTER = "rejected_reads"  # the device counter on the status bar
# fusion's notices that say an input was not done (the others inform: a code warning)
REFUSAL_NOTICES = REJECTED_READS | {"refused", "checkout_refused", "staff_login", "checked_out"}


def exit_code(
    store: Store, session_id: str, receipt: dict, key=None, journal=None, policy=None
) -> str:
    """What the exit gate scans (``cart gate verify``). With the cart's key (the engine's
    ``exit_signer``, ``cart.common.keys.CartKey``) and the journal: the signed code of
    ``cart.basket.exitcode``, its spot-check decision drawn and journaled
    (``cart.basket.issuer``). Without a key: the old unsigned ``CART1`` digest, which every
    gate refuses."""
    if key is not None and journal is not None:
        from cart.basket.issuer import issue_exit_code

        try:
            return issue_exit_code(journal, store, key, session_id, receipt, policy=policy)[0]
        except (JournalError, ValueError) as exc:
            log.error("exit code for %s could not be signed: %s", session_id, exc)
    digest = hashlib.sha256(json.dumps(receipt, sort_keys=True).encode()).hexdigest()[:12]
    total = receipt.get("totals", {}).get("total", 0)
    return f"CART1:{store.config.id}:{session_id}:{total}:{digest}"


def produce_code(p: CatalogProduct) -> str:
    """The code a product is chosen by on the screen: its PLU, else its first GTIN."""
    return p.plu or (p.gtins[0] if p.gtins else p.id)


# Answers an alert offers besides its candidates: (key, label).
EXTRA_CHOICES: dict[str, tuple[Choice, ...]] = {
    AlertKind.PLACE_SCANNED: (Choice("cancel", N_("I don't want it: cancel the scan")),),
    AlertKind.SCAN_ADDED: (Choice("personal", N_("It is my own item (bag, coat)")),),
    AlertKind.WEIGH_PRODUCE: (Choice("personal", N_("It is my own item (bag, coat)")),),
    AlertKind.QUANTITY: (Choice("confirm", N_("Yes: bill all of them")),),
    AlertKind.LOOKS_DIFFERENT: (
        Choice("show_again", N_("Show it to the camera again")),
        Choice("staff", N_("Call staff")),
    ),
    AlertKind.UNEXPLAINED_REMOVAL: (Choice("staff", N_("Call staff")),),
}


@functools.cache
def _camera_coarse() -> dict[str, str] | None:
    """The shipped classifier's fine label -> coarse class (``models/labels.csv``); None (fine
    labels only) when the labels cannot be read."""
    from cart.fusion.vision import Hierarchy

    try:
        return dict(Hierarchy.load().coarse_of)
    except (ValueError, OSError, RuntimeError) as exc:
        log.warning("classifier labels unavailable, vision judged by fine label: %s", exc)
        return None


class FusionEngine:
    """``cart.fusion.session.FusionSession`` (the reconciler kept in step with the core basket and
    its journal) behind the screen. See the module docstring."""

    EMPTY_CART_G = 20.0  # a new trip starts only on an empty cart (so its basket starts at 0)
    SUGGEST_FOR_MS = 60_000  # what the camera saw is offered on produce entry this long

    def __init__(self, fusion_session: FusionSession, store: Store, vision: bool = True) -> None:
        self.fs = fusion_session
        self.session = fusion_session.cart
        self.store = store
        self.vision = vision
        self.money = store.config.money
        self._message: str = ""  # a Phrase or a msgid: said in the language when shown
        self._receipt: Receipt | None = None
        self._receipt_doc: dict = {}  # the journal's receipt, rendered in each language shown
        self._receipt_language = ""
        self._settled_g: float | None = None  # the scale's last settled total
        self._line_cache: dict[object, LineView] = {}
        self._seen: tuple[int, tuple[Choice, ...]] | None = None  # (t_ms, produce suggestions)
        self._hierarchy = None
        self._now = 0
        # the monotonic clock stamped on every input for fusion's staff gate (build_runtime sets
        # it; None: fusion times staff mode by the inputs' t_ms, as simulations do)
        self.mono = None
        self._rejected: dict[str, int] = {}  # scanner (the scan's source) -> rejected reads
        # from the store (cart.app.link): a catalogue for the next trip, a lock, a staff call,
        # a spot-check policy; set on the runtime's worker (``Runtime.call_soon``)
        self.next_store: Store | None = None
        self.locked = ""
        self.store_notice = ""
        self.spot_check = None  # cart.store.spotcheck.SpotCheckConfig, else the store's own
        self.refusals = 0  # refused inputs and errors so far (the screen's "refused" sound cue)

    def offer_store(self, store: Store) -> None:
        """A new catalogue: used from the next trip on; the trip under way keeps its prices."""
        self.next_store = store

    def store_command(self, action: str, args: dict) -> None:
        """A command from the store, already verified (``cart.app.link.commands``)."""
        from dataclasses import replace

        from cart.store import spotcheck

        if action == "lock":
            self.locked = args.get("reason") or "locked by the store"
            self.store_notice = Phrase(
                "This cart is locked ({reason}): please ask staff", reason=self.locked
            )
        elif action == "unlock":
            self.locked, self.store_notice = "", ""
        elif action == "call_staff":
            self.store_notice = N_("Staff are on their way")
        elif action == "spot_check_rate":
            base = self.spot_check or spotcheck.for_store(self.store)
            bands = ("low", "medium", "high") if args["band"] == "all" else (args["band"],)
            self.spot_check = replace(base, **{b: args["rate"] for b in bands})

    @staticmethod
    def config(vision: bool) -> FusionConfig:
        # Without a camera, produce is billed on the shopper's choice and the scale alone. With
        # one, fusion knows the classifier's hierarchy: an unsure variety is judged by its kind.
        if not vision:
            return FusionConfig(use_vision=False)
        return FusionConfig(camera_coarse=_camera_coarse())

    @classmethod
    def start(cls, journal, store: Store, t_ms: int, *, vision: bool = True) -> FusionEngine:
        fs = FusionSession.start(journal, store, t_ms, config=cls.config(vision))
        return cls(fs, store, vision)

    @classmethod
    def recover(cls, journal, store: Store, *, vision: bool = True) -> FusionEngine | None:
        fs = FusionSession.recover(journal, store, config=cls.config(vision))
        return None if fs is None else cls(fs, store, vision)

    @classmethod
    def recover_paid(cls, journal, store: Store, *, vision: bool = True) -> FusionEngine | None:
        """The last trip, when it was paid and the shopper has not left yet (no new trip was
        started after it): its receipt and exit code are shown again (``show_receipt``)."""
        last = journal.latest()
        if last is None or last.status != "checked_out" or journal.damaged(last.id):
            return None
        fs = FusionSession.recover(journal, store, last.id, config=cls.config(vision))
        return None if fs is None else cls(fs, store, vision)

    def show_receipt(self) -> None:
        """After a restart on a paid trip: the receipt and the exit code issued (journaled)."""
        if not self.session.closed or self.session.snapshot().state != "checked_out":
            return
        journal, sid = self.session.journal, self.session.id
        try:
            stored, receipt = journal.exit_code(sid), journal.receipt(sid)
        except JournalError as exc:
            self._message = Phrase(
                "Paid, but the receipt could not be read back: {error}", error=exc
            )
            return
        if stored is None or receipt is None:
            self._closed_with_receipt()  # the code was never issued: issue it now
        else:
            self._receipt = self._rendered(Receipt(sid, "", stored[0]), receipt)

    def _new_session(self, t_ms: int) -> None:
        """The next trip keeps what the cart learnt about product weights; a catalogue the
        store sent since the last trip is taken now."""
        if self.next_store is not None:
            self.store, self.next_store = self.next_store, None
            self.money = self.store.config.money
        self.fs = FusionSession.start(
            self.session.journal,
            self.store,
            t_ms,
            config=self.config(self.vision),
            weights=self.fs.rec.weights,
        )
        self.session = self.fs.cart
        self.prune(t_ms)
        self._receipt, self._message = None, ""
        self._seen = None
        self._line_cache.clear()

    def prune(self, t_ms: int) -> int:
        """Drop trips finished more than the store's ``[journal] keep_days`` ago."""
        days = self.store.config.journal_keep_days
        try:
            return self.session.journal.prune(t_ms - days * 86_400_000)
        except JournalError as exc:
            log.error("old trips could not be pruned: %s", exc)
            return 0

    # ---- inputs ----------------------------------------------------------------------------
    def handle_event(self, event: DeviceEvent, t_ms: int) -> None:
        self._now = max(self._now, t_ms)
        if isinstance(event, WeightSettled):
            self._settled_g = event.grams
        if isinstance(event, ev_types.VisionVerdict):
            self._saw(event)
        if isinstance(event, ev_types.DeviceStatus) or self.session.closed:
            return
        notices = self._run(event)
        if isinstance(event, Scan) and any(n.kind in REJECTED_READS for n in notices):
            # fusion told the shopper why and journaled it; the scanner's status counts it
            self._rejected[event.source] = self._rejected.get(event.source, 0) + 1

    def handle_action(self, action: ui.ScreenAction, t_ms: int) -> None:
        self._message = ""
        x: object | None
        match action:
            case ui.EnterCoupon(code=code):
                self._coupon(code, t_ms)
                return
            case ui.AddProduce(code=code, alert_id=alert_id, bagged=bagged):
                x = self._produce_entry(code, alert_id, bagged, t_ms)
            case ui.EnterStaffPin(pin=pin, staff_id=staff_id):
                x = fa.StaffLogin(t_ms, staff_id or STAFF_ID, pin)  # journaled without the PIN
            case ui.LeaveStaffMode():
                x = fa.StaffLogout(t_ms)
            case ui.ResolveAlert(alert_id=alert_id, resolution=resolution):
                x = fa.StaffResolve(t_ms, alert_id, resolution)
            case ui.StaffRemoveLine(line_id=line_id):
                x = fa.RemoveLine(t_ms, line_id)
            case ui.Pay():
                x = fa.Checkout(t_ms)
            case ui.NewTrip():
                x = None
                if self._may_start_new_trip():
                    self._new_session(t_ms)
            case ui.Answer(alert_id=alert_id, choice=choice):
                x = self._answer(alert_id, choice, t_ms)
            case _:
                x = None
                self._refuse(Phrase("Not available here: {action}", action=type(action).__name__))
        if x is not None:
            self._run(x)
            if isinstance(x, fa.StaffLogin) and self.fs.state().staff is None:
                self._message = self._message or N_("Wrong PIN")

    def _produce_entry(self, code: str, alert_id: int | None, bagged: bool | None, t_ms: int):
        """A code keyed on the produce screen. A PLU of produce sold each (a melon, an avocado:
        only a sticker, no barcode) is entered like a scan of that product; produce sold by
        weight is chosen for its placement, in a store bag unless the shopper said not."""
        p = self.store.catalog.by_plu(code)
        if p is not None and not p.by_weight:
            return fa.EnterCode(t_ms, code)
        return fa.SelectProduce(t_ms, alert_id, code, True if bagged is None else bagged)

    def _answer(self, flag_id: int, choice: str, t_ms: int):
        kind = next((f.kind for f in self.fs.rec.open_flags if f.id == flag_id), None)
        if kind is None:
            self._refuse(N_("That question is already answered"))
            return None
        if choice.startswith("line:"):
            return fa.PickRemoved(t_ms, flag_id, int(choice.removeprefix("line:")))
        simple = {
            "cancel": fa.CancelScan,
            "confirm": fa.ConfirmQuantity,
            "personal": fa.DeclarePersonal,
            "nothing": fa.NothingTakenOut,
            "show_again": fa.ShowAgain,
            "staff": fa.CallStaff,
        }
        if choice in simple:
            return simple[choice](t_ms, flag_id)
        if kind in (AlertKind.WEIGH_PRODUCE, AlertKind.SCAN_ADDED):
            return fa.SelectProduce(t_ms, flag_id, choice)
        self._refuse(
            Phrase("Not an answer to that question: {choice}", choice=printable(choice, 20))
        )
        return None

    def _coupon(self, code: str, t_ms: int) -> None:
        """A coupon typed on the screen (a scanned one reaches the basket through fusion)."""
        m = lookup(self.store, code.strip(), t_ms=t_ms)
        if m.coupon is None:
            self._refuse(Phrase("Not a coupon: {code}", code=printable(code, 40)))
            return
        try:
            self.session.apply(ApplyCoupon(t_ms, code=m.coupon.code))
        except BasketError as exc:
            self._refuse(Phrase("Not done: {error}", error=exc))
            return
        except JournalError as exc:
            log.error("journal refused coupon %r: %s", m.coupon.code, exc)
            self._refuse(Phrase("Could not save the basket: {error}", error=exc))
            return
        self._message = self.fs.coupon_notice(t_ms, m.coupon).text

    def advance(self, t_ms: int) -> None:
        self._now = max(self._now, t_ms)
        if not self.session.closed:
            self._run_tick(t_ms)

    def _run_tick(self, t_ms: int) -> None:
        try:
            self.fs.tick(t_ms, self._mono_ms())
        except (BasketError, JournalError) as exc:
            self._refuse(Phrase("Not done: {error}", error=exc))

    def _run(self, x) -> list:
        """Hand ``x`` to fusion; show its last notice. Returns fusion's notices for ``x``."""
        seen = len(self.fs.notices)
        try:
            effects = self.fs.handle(x, self._mono_ms())
        except BasketError as exc:
            self._refuse(Phrase("Not done: {error}", error=exc))
            return []
        except JournalError as exc:
            log.error("journal refused %r: %s", x, exc)
            self._refuse(Phrase("Could not save the basket: {error}", error=exc))
            return []
        new = self.fs.notices[seen:]
        notices = [n for n in new if n.kind != "out_of_order"]
        if notices:
            self._message = notices[-1].text
        self.refusals += sum(n.kind in REFUSAL_NOTICES for n in notices)
        if len(self.fs.notices) > 1000:
            del self.fs.notices[:500]
        if any(isinstance(e, CheckedOut) for e in effects) and self.session.closed:
            self._closed_with_receipt()
        return new

    def _refuse(self, message: str) -> None:
        """Tell the shopper why an action was not done (and count it: the refused cue)."""
        self._message = message
        self.refusals += 1

    def _mono_ms(self) -> int | None:
        return None if self.mono is None else self.mono.now_ms()

    def _may_start_new_trip(self) -> bool:
        if self.locked:
            self._message = Phrase(
                "This cart is locked ({reason}): please ask staff", reason=self.locked
            )
            return False
        if not self.session.closed:
            self._refuse(N_("This trip is not paid yet"))
            return False
        if self._settled_g is not None and abs(self._settled_g) > self.EMPTY_CART_G:
            self._refuse(N_("Take everything out of the cart to start a new trip"))
            return False
        return True

    def _closed_with_receipt(self) -> None:
        sid = self.session.id
        receipt = self.session.journal.receipt(sid)
        if receipt is None:
            self._message = N_("Checked out, but the receipt could not be read back")
            return
        code = exit_code(
            self.store,
            sid,
            receipt,
            getattr(self, "exit_signer", None),
            self.session.journal,
            policy=self.spot_check,
        )
        self._receipt = self._rendered(Receipt(sid, "", code), receipt)

    # ---- the screen's view ---------------------------------------------------------------------
    def _rendered(self, receipt: Receipt, doc: dict) -> Receipt:
        """The receipt's text in the current language (rendered again after a switch)."""
        self._receipt_doc, self._receipt_language = doc, current_language()
        cat = self.store.catalog
        text = render_text(
            doc,
            tr=_,
            name=self._receipt_name,
            promotion=lambda ln: promotion_name(cat, ln.get("product", ""), ln["promotion"]),
            coupon=lambda c: receipt_coupon(cat, c, self.session.snapshot().coupons),
        )
        return replace(receipt, text=text)

    def _receipt_name(self, line: dict) -> str:
        p = self.store.catalog.get(line.get("product", ""))
        return local_name(p.name) if p is not None else line["name"]

    def _receipt_view(self) -> Receipt | None:
        if self._receipt is not None and self._receipt_language != current_language():
            self._receipt = self._rendered(self._receipt, self._receipt_doc)
        return self._receipt

    def _saw(self, verdict: ev_types.VisionVerdict) -> None:
        """Keep the produce the classifier's verdict points to (``cart.fusion.vision.suggest``) for
        produce entry."""
        try:
            from cart.fusion.vision import Hierarchy, suggest
        except ImportError:
            return
        try:
            if self._hierarchy is None:
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

    def view(self) -> EngineView:
        snap = self.session.snapshot()
        state = self.fs.state()
        flagged = {f.line_id for f in state.flags if f.line_id is not None}
        ids = {basket_line_id(ln.id): ln.id for ln in state.lines}
        # a basket line fusion does not know (a journal fusion did not write) still gets an id of
        # its own, below every fusion id, so the screen can tell the lines apart
        lines = tuple(
            self._line(ln, ids.get(ln.line_id, -1 - i), flagged) for i, ln in enumerate(snap.lines)
        )
        if len(self._line_cache) > 2 * len(lines) + 100:
            self._line_cache.clear()
        t = snap.totals
        coupons = tuple(coupon_text(self.store.catalog, c) for c in snap.coupons)
        lost = self.session.journal.lost  # the journal went from under the cart: say so
        return EngineView(
            lines=lines,
            totals=Totals(t.subtotal, t.savings, t.tax, t.total, t.tax_inclusive),
            alerts=tuple(self._alert(f) for f in state.flags),
            coupons=coupons,
            staff=state.staff is not None,
            message=say(
                Phrase("Not saved: {error}", error=lost)
                if lost
                else (self._message or self.store_notice)
            ),
            receipt=self._receipt_view(),
            refusals=self.refusals,
            suggestions=tuple(
                Choice(c.key, local_name(c.label), c.detail) for c in self._suggestions()
            ),
            device_counters=tuple(
                (source, ((REJECTED_COUNTER, n),)) for source, n in sorted(self._rejected.items())
            ),
        )

    def _line(self, ln, line_id: int, flagged: set[int]) -> LineView:
        key = (ln, line_id, line_id in flagged, current_language())
        view = self._line_cache.get(key)
        if view is None:
            per_kg = ln.sold_by == "weight" and not ln.fixed_price
            qty = format_kg(ln.grams) if ln.sold_by == "weight" else str(ln.qty)
            view = LineView(
                line_id,
                self._name(ln),
                qty,
                ln.unit_price,
                per_kg,
                ln.amount,
                ln.savings,
                line_id in flagged,
                promotion_name(self.store.catalog, ln.product_id, ln.promotion),
            )
            self._line_cache[key] = view
        return view

    def _name(self, ln) -> str:
        """A basket line's product name in the shopper's language, where the catalogue gives
        one (the journal keeps the one name)."""
        p = self.store.catalog.get(ln.product_id)
        return local_name(p.name) if p is not None else ln.name

    def _alert(self, flag: Flag) -> AlertView:
        """An open question in the shopper's language: fusion's message (a ``Phrase``), its
        action (a msgid), its candidates (product names, or phrases) and the extra answers."""
        choices = [
            Choice(c.key, str(localize(c.name)), f"{100 * float(c.score):.0f}%" if c.score else "")
            for c in flag.candidates
        ]
        choices.extend(
            Choice(c.key, say(c.label), c.detail) for c in EXTRA_CHOICES.get(flag.kind, ())
        )
        return AlertView(
            flag.id,
            flag.kind,
            say(flag.message),
            say(flag.action),
            tuple(choices),
            flag.needs_staff,
        )

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
        return [self._product_choice(p) for p in found[:limit]]

    def produce_products(self, limit: int) -> list[Choice]:
        """The store's produce (every product with a PLU), by its name in the current language:
        the produce screen's tiles."""
        found = sorted(
            (p for p in self.store.catalog.products if p.plu), key=lambda p: local_name(p.name)
        )
        return [self._product_choice(p) for p in found[:limit]]

    def _product_choice(self, p: CatalogProduct) -> Choice:
        price = self.money.format(p.price) + ("/kg" if p.by_weight else "")
        return Choice(
            produce_code(p), local_name(p.name), (f"PLU {p.plu}  " if p.plu else "") + price
        )

    def close(self) -> None:
        pass
