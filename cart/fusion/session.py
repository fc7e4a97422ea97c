"""Fusion bound to the core basket and its journal.

``FusionSession`` feeds device events and screen actions to the ``Reconciler`` and turns its
effects into core basket events (``AddLine``, ``WeighProduce``, ``RemoveLine``, ``RaiseFlag``,
``ResolveFlag``, ``CheckOut``). Each input is journaled as a ``fusion.input`` row in the SAME
transaction as the basket events it caused (and ``fusion.audit`` rows for staff actions), before
anything is shown. Recovery replays the ``fusion.input`` rows through a fresh reconciler, which
rebuilds its state exactly (it is deterministic), while the core rebuilds the basket from its own
rows. A staff login is journaled with its outcome, never with the PIN.

Monotonic time. ``handle(x, mono_ms=...)`` and ``tick(t_ms, mono_ms=...)`` take the monotonic
reading the app stamped on the input (``cart.app.engine``, from its injected
``cart.common.clock.MonotonicClock``); it is journaled in the input's row (``"mono_ms"``) and handed
to the staff gate before the input, live and in a replay alike, so staff-mode timeouts and
lock-outs are decided on the same readings both times (``cart.fusion.staff``). Without one
(simulations) the gate uses the inputs' ``t_ms`` and the rows are as before.

A restart ends staff mode: after a replay the gate's ``restart`` logs staff out and re-arms
running locks; when that changed anything, a ``{"type": "restart"}`` input row records it, so a
later replay ends staff mode at the same point.

Time passing with no input (``tick(t_ms)``) is an input too: it is journaled when it changed
something (an expectation timed out), so a replay raises the same alerts at the same time. A
settled reading that changed nothing (no effect, and the reconciler's state, but for its clock,
the same before and after: an idle scale re-settling at the same weight) is not journaled
either: replaying it would change nothing, so an idle cart writes nothing.

Recovery checks itself. A session opens with a ``fusion.rules`` row (``RULES_VERSION`` and the
store digest) in the same transaction as the open. After the replay, the reconciler's lines
(product, quantity or grams) and open alerts are compared with the basket's; when they differ,
or the journal was written by other rules (or priced with another store), a ``recovery_check``
alert that only staff resolve is raised, journaled as a ``fusion.input`` row (so a later replay
raises it again, once) and logged. A journal without the row (older than it) is checked by the
comparison alone. The journal's own faults (rows that did not verify, commits lost, see
``cart.basket.journal``) are asked about the same way, with ``DAMAGED_MESSAGE``, in the
recovered session or, when nothing of it verified, in the new one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from cart.common import events as E
from cart.common.i18n import N_, Phrase
from cart.fusion import actions as A
from cart.fusion.actions import ReplayedStaffLogin
from cart.fusion.alerts import (
    AlertKind,
    Audit,
    CheckedOut,
    Effect,
    FlagRaised,
    FlagResolved,
    LineAdded,
    LineRemoved,
    Notice,
)
from cart.fusion.config import FusionConfig
from cart.fusion.learning import WeightModel
from cart.fusion.reconciler import Reconciler
from cart.fusion.staff import StaffGate
from cart.fusion.store import StoreProducts

log = logging.getLogger(__name__)

# The version of fusion's rules: bump it with any change that can make the same inputs give other
# effects. A journal records the version that wrote it (``RULES_ROW``); recovery replays its
# inputs with the running rules, so a journal of other rules is checked by staff.
RULES_VERSION = 4  # 4: light rises wait for the camera; drops after a push within the load's shift
# 3: changes across the action (delta_g), late verdicts explain afresh
# 2: scans read with their symbology and time; labels, expiry, refusals
RULES_ROW = "fusion.rules"
RECOVERY_CHECK = (
    AlertKind.RECOVERY_CHECK
)  # the alert kind, and the fusion.input type that raises it
RECOVERY_MESSAGE = N_("The basket could not be checked after a restart: staff will check it")
DAMAGED_MESSAGE = N_(
    "The cart's record is damaged: the basket shows what could be verified; staff will check it"
)
RESTART = "restart"  # the fusion.input type that records a restart that ended staff mode

_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        E.Scan,
        E.WeightSettled,
        E.WeightMoving,
        E.VisionVerdict,
        E.DeviceStatus,
        A.EnterCode,
        A.SelectProduce,
        A.PickRemoved,
        A.NothingTakenOut,
        A.CancelScan,
        A.ConfirmQuantity,
        A.DeclarePersonal,
        A.RemoveLine,
        A.ShowAgain,
        A.CallStaff,
        A.Checkout,
        A.StaffLogout,
        A.StaffResolve,
        ReplayedStaffLogin,
    )
}


def encode_input(x) -> dict:
    d = {f.name: getattr(x, f.name) for f in dataclasses.fields(x)}
    if isinstance(x, E.VisionVerdict):
        d["top"] = [[label, float(p)] for label, p in x.top]
    if isinstance(x, E.DeviceStatus):
        d["counters"] = [list(c) for c in x.counters]
    d["type"] = type(x).__name__
    return d


def decode_input(d: dict):
    d = dict(d)
    d.pop("mono_ms", None)  # the app's monotonic stamp: for the staff gate, not the input
    cls = _TYPES.get(d.pop("type", ""))
    if cls is None:
        raise ValueError(f"unknown fusion input {d!r}")
    if cls is E.VisionVerdict:
        d["top"] = tuple((str(label), float(p)) for label, p in d["top"])
    if cls is E.DeviceStatus:
        d["counters"] = tuple((str(k), int(v)) for k, v in d["counters"])
    return cls(**d)


def basket_line_id(n: int) -> str:
    """The basket journal's id of fusion's line ``n`` (``line="L7"`` in basket rows)."""
    return f"L{n}"


def basket_flag_id(n: int) -> str:
    """The basket journal's id of fusion's alert ``n`` (``flag="F3"`` in basket rows)."""
    return f"F{n}"


def _ask_staff(
    rec: Reconciler, t_ms: int, out: list[Effect], message: str = RECOVERY_MESSAGE
) -> None:
    """Open the recovery question (no shopper or device input raises it: the session does)."""
    out.extend(rec.ask_staff(t_ms, AlertKind.RECOVERY_CHECK, message))


_STATE_CONTEXT = frozenset({"catalogue", "match", "camera", "facts", "rules", "t", "moving"})


def _fingerprint(x, depth: int = 0):
    """A comparable copy of the reconciler's state (its plain data, recursively; catalogue
    objects by identity), to tell that an input changed nothing."""
    if x is None or isinstance(x, (bool, int, float, str, bytes)):
        return x
    if depth > 12:
        return ("deep", id(x))
    if isinstance(x, dict):
        return tuple((k, _fingerprint(v, depth + 1)) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return tuple(_fingerprint(v, depth + 1) for v in x)
    if isinstance(x, (set, frozenset)):
        return frozenset(x) if all(isinstance(v, (int, str)) for v in x) else ("set", id(x))
    params = getattr(x, "__dataclass_params__", None)  # set on dataclasses and their instances
    if params is not None and not isinstance(x, type) and not params.frozen:
        return (type(x).__name__,) + tuple(
            _fingerprint(getattr(x, f.name), depth + 1) for f in dataclasses.fields(x)
        )
    if dataclasses.is_dataclass(x):
        return x  # frozen: compared by value
    if hasattr(x, "__dict__"):  # the weight model, the staff gate
        return (type(x).__name__, _fingerprint(vars(x), depth + 1))
    return (type(x).__name__, id(x))


def state_fingerprint(rec: Reconciler):
    """Everything of the reconciler's state a replay rebuilds (learnt weights and the staff
    gate included), but its clock (``t``, which the next input or tick sets), ``moving`` (set
    by the platform moving, which is not journaled, cleared by every settle) and the catalogue
    and settings it is given."""
    st = rec._st
    return tuple((k, _fingerprint(v)) for k, v in vars(st).items() if k not in _STATE_CONTEXT)


class FusionSession:
    """One trip: the reconciler, the core ``CartSession`` and the journal, kept in step."""

    def __init__(
        self,
        cart,
        *,
        config: FusionConfig | None = None,
        weights: WeightModel | None = None,
        products: StoreProducts | None = None,
        record_moving: bool = False,
        pins: dict[str, str] | None = None,
    ) -> None:
        self.cart = cart
        self.products = products or StoreProducts(cart.store)
        # the live store's staff (a journal's copy of a store has none): start/recover pass it
        self.staff = StaffGate(dict(pins if pins is not None else cart.store.staff_pins()))
        self.rec = Reconciler(self.products, config=config, weights=weights, staff=self.staff)
        self.record_moving = record_moving
        self.notices: list[Notice] = []
        self._listeners: list[Callable[[list[Effect]], None]] = []

    # ---- construction ---------------------------------------------------------------------

    @classmethod
    def start(cls, journal, store, t_ms: int, **kw) -> FusionSession:
        from cart.basket.session import CartSession

        rules = (t_ms, RULES_ROW, {"version": RULES_VERSION, "catalog_digest": store.digest})
        kw.setdefault("pins", store.staff_pins())
        fs = cls(CartSession.start(journal, store, t_ms, extra=[rules]), **kw)
        fs.ask_about_faults(t_ms)
        return fs

    @classmethod
    def recover(cls, journal, store, session_id: str | None = None, **kw) -> FusionSession | None:
        """Rebuild the unfinished session (or ``session_id``, e.g. the last one, paid): the
        basket from core rows, fusion from its inputs; then check that the two agree (see the
        module docstring)."""
        from cart.basket.session import CartSession

        inputs: list[dict] = []
        rules: list[dict] = []

        def on_row(entry) -> None:
            if entry.kind == "fusion.input":
                inputs.append(entry.payload)
            elif entry.kind == RULES_ROW:
                rules.append(entry.payload)

        cart = CartSession.recover(journal, store, session_id, on_row=on_row)
        if cart is None:
            return None
        kw.setdefault("pins", store.staff_pins())
        fs = cls(cart, **kw)
        t = cart.snapshot().t_ms
        asked: set[str] = set()
        for d in inputs:
            t = max(t, int(d.get("t_ms", t)))
            kind = d.get("type")
            if kind == RESTART:
                fs.staff.restart(int(d["t_ms"]))
                continue
            if kind != RECOVERY_CHECK:
                mono = d.get("mono_ms")
                fs.staff.clock(int(d["t_ms"]), None if mono is None else int(mono))
            if kind == "tick":
                fs.rec.advance(int(d["t_ms"]))
            elif kind == RECOVERY_CHECK:
                _ask_staff(fs.rec, int(d["t_ms"]), [], str(d.get("message", RECOVERY_MESSAGE)))
                asked.add(str(d.get("reason", "")))
            else:
                fs.rec.handle(decode_input(d))
        if fs.staff.restart(t) and not cart.closed:  # nobody is logged in; locks re-arm
            fs.cart.record((t, "fusion.input", {"type": RESTART, "t_ms": t}))
        fs._check_recovered(rules[0] if rules else None, t, asked)
        return fs

    def _journal_faults(self) -> tuple[list[int], list[str]]:
        """The journal's faults no staff question has been raised for yet."""
        from cart.basket.journal import JournalError

        try:
            pending = self.cart.journal.pending_faults()
        except JournalError as exc:
            return [], [str(exc)]
        return [i for i, _ in pending], [text for _, text in pending]

    def ask_about_faults(self, t_ms: int) -> None:
        """A new session on a journal with faults found at open: one staff question."""
        ids, faults = self._journal_faults()
        if faults:
            self._ask(t_ms, faults, DAMAGED_MESSAGE, ids)

    def _check_recovered(self, rules: dict | None, t_ms: int, asked: set[str]) -> None:
        """After a replay: on any disagreement, or any fault of the journal, one staff question
        (unless this very disagreement was asked about before) and a log line."""
        fault_ids, problems = self._journal_faults()
        message = DAMAGED_MESSAGE if problems else RECOVERY_MESSAGE
        if rules is not None:
            if rules.get("version") != RULES_VERSION:
                problems.append(
                    f"journal of fusion rules {rules.get('version')!r}, running {RULES_VERSION}"
                )
            if rules.get("catalog_digest") != self.cart.store.digest:
                problems.append(
                    f"journal of store {str(rules.get('catalog_digest'))[:12]}, "
                    f"replayed with {self.cart.store.digest[:12]}"
                )
        problems += self.disagreements()
        if problems and self.cart.closed:
            log.warning("session %s (closed) after a restart: %s", self.cart.id, problems)
        elif problems:
            self._ask(t_ms, problems, message, fault_ids, asked)

    def _ask(
        self,
        t_ms: int,
        problems: list[str],
        message: str,
        fault_ids: list[int],
        asked: frozenset | set = frozenset(),
    ) -> None:
        reason = "; ".join(problems[:8]) + (
            f"; {len(problems) - 8} more" if len(problems) > 8 else ""
        )
        log.warning("session %s after a restart: %s", self.cart.id, reason)
        if reason in asked:
            return  # the same question was raised before (open, or staff checked it)
        effects: list[Effect] = []
        _ask_staff(self.rec, t_ms, effects, message)
        row = {"type": RECOVERY_CHECK, "t_ms": t_ms, "reason": reason}
        if message != RECOVERY_MESSAGE:
            row["message"] = message
        self._commit(t_ms, effects, [(t_ms, "fusion.input", row)])
        self.cart.journal.mark_raised(fault_ids, self.cart.id)

    def disagreements(self) -> list[str]:
        """Where the reconciler and the basket differ: each line's product and quantity (or
        grams, for produce), and the open alerts. Empty when they agree."""
        snap = self.cart.snapshot()
        basket = {ln.line_id: ln for ln in snap.lines}
        out = []
        for ln in self.rec.state().lines:
            b = basket.pop(basket_line_id(ln.id), None)
            if b is None:
                out.append(f"line {ln.id} ({ln.product_id}) only in fusion")
                continue
            p = self.products.get(ln.product_id)
            weighed = p is not None and p.by_weight and ln.weight_g is not None
            want = max(1, round(ln.weight_g or 0)) if weighed else 1
            got = b.grams if weighed else b.qty
            if b.product_id != ln.product_id or got != want:
                unit = " g" if weighed else ""
                out.append(
                    f"line {ln.id}: fusion {ln.product_id} {want}{unit}, "
                    f"basket {b.product_id} {got}{unit}"
                )
        out += [f"line {b.line_id} ({b.product_id}) only in the basket" for b in basket.values()]
        ours = sorted(basket_flag_id(f.id) for f in self.rec.open_flags)
        theirs = sorted(f.id for f in snap.flags)
        if ours != theirs:
            out.append(
                f"open alerts: fusion {', '.join(ours) or 'none'}, "
                f"basket {', '.join(theirs) or 'none'}"
            )
        return out

    # ---- feeding --------------------------------------------------------------------------

    def subscribe(self, fn: Callable[[list[Effect]], None]) -> None:
        self._listeners.append(fn)

    def handle(self, x, mono_ms: int | None = None) -> list[Effect]:
        """One device event or action: reconcile, journal, apply. Returns the effects.
        ``mono_ms``: the app's monotonic reading for this input (see the module docstring)."""
        stamp = {} if mono_ms is None else {"mono_ms": int(mono_ms)}
        self.staff.clock(x.t_ms, mono_ms)
        if isinstance(x, E.Scan):
            coupon = self.products.coupon(x.code, x.symbology)
            if coupon is not None:
                from cart.basket.fold import ApplyCoupon

                self.cart.apply(
                    ApplyCoupon(t_ms=x.t_ms, code=x.code),
                    extra=[(x.t_ms, "fusion.input", encode_input(x) | stamp)],
                )
                notice = self.coupon_notice(x.t_ms, coupon)
                self.notices.append(notice)
                return [notice]
        before = state_fingerprint(self.rec) if isinstance(x, E.WeightSettled) else None
        effects = self.rec.handle(x)
        if before is not None and not effects and state_fingerprint(self.rec) == before:
            return effects  # a reading that changed nothing (an idle scale): nothing to replay
        row = x
        if isinstance(x, A.StaffLogin):
            res = next(
                (
                    e.kind.rsplit("_", 1)[1]
                    for e in effects
                    if isinstance(e, Audit) and e.kind.startswith("fusion.staff.login_")
                ),
                "wrong",
            )
            row = ReplayedStaffLogin(x.t_ms, x.staff_id, res)
        if (
            isinstance(x, (E.WeightMoving, E.DeviceStatus))
            and not effects
            and not self.record_moving
        ):
            return effects  # live display only: nothing to replay
        self._commit(x.t_ms, effects, [(x.t_ms, "fusion.input", encode_input(row) | stamp)])
        return effects

    def tick(self, t_ms: int, mono_ms: int | None = None) -> list[Effect]:
        """Let time pass; journaled only when an expectation timed out (or staff mode did)."""
        self.staff.clock(t_ms, mono_ms)
        effects = self.rec.advance(t_ms)
        if effects:
            row = {"type": "tick", "t_ms": t_ms} | ({} if mono_ms is None else {"mono_ms": mono_ms})
            self._commit(t_ms, effects, [(t_ms, "fusion.input", row)])
        return effects

    def _commit(self, t_ms: int, effects: list[Effect], extra: list) -> None:
        from cart.basket import fold as B

        evs: list[B.BasketEvent] = []
        for e in effects:
            if isinstance(e, LineAdded):
                p = self.products.get(e.product_id)
                assert p is not None  # fusion bills only products of its own catalogue
                plu = self.cart.store.catalog.get(e.product_id).plu
                if p.by_weight and e.price_minor is None and plu:
                    evs.append(
                        B.WeighProduce(
                            t_ms=e.t_ms,
                            line=basket_line_id(e.line_id),
                            plu=plu,
                            grams=max(1, round(e.weight_g or 0)),
                        )
                    )
                else:
                    evs.append(
                        B.AddLine(
                            t_ms=e.t_ms,
                            line=basket_line_id(e.line_id),
                            product=e.product_id,
                            qty=e.quantity,
                            grams=round(e.weight_g) if p.by_weight and e.weight_g else None,
                            price=e.price_minor,
                            code=e.code,
                        )
                    )
            elif isinstance(e, LineRemoved):
                evs.append(
                    B.RemoveLine(t_ms=e.t_ms, line=basket_line_id(e.line_id), reason=e.reason)
                )
            elif isinstance(e, FlagRaised):
                f = e.flag
                evs.append(
                    B.RaiseFlag(
                        t_ms=e.t_ms,
                        flag=basket_flag_id(f.id),
                        kind=f.kind,
                        message=f.message,
                        action=f.action,
                        payload=f.to_dict(),
                    )
                )
            elif isinstance(e, FlagResolved):
                staff = e.by.startswith("staff:")
                evs.append(
                    B.ResolveFlag(
                        t_ms=e.t_ms,
                        flag=basket_flag_id(e.flag_id),
                        resolution=e.resolution[:200],
                        by="staff" if staff else ("system" if e.by == "cart" else "shopper"),
                        staff_id=e.by.split(":", 1)[1] if staff else "",
                    )
                )
            elif isinstance(e, CheckedOut):
                evs.append(B.CheckOut(t_ms=e.t_ms))
            elif isinstance(e, Audit):
                extra.append((e.t_ms, e.kind, {k: v for k, v in e.data}))
            elif isinstance(e, Notice):
                self.notices.append(e)
        if evs:
            self.cart.apply(*evs, extra=extra, snapshot=False)  # priced when next shown
        else:
            self.cart.record(*extra)
        for fn in list(self._listeners):
            fn(effects)

    # ---- views ----------------------------------------------------------------------------

    def coupon_notice(self, t_ms: int, coupon) -> Notice:
        """What the screen says for a coupon taken, scanned or typed: its name, and what it
        still needs when it does not apply yet."""
        applied = next((a for a in self.cart.snapshot().coupons if a.code == coupon.code), None)
        if applied is not None and applied.note:
            text = Phrase("Coupon: {name} ({note})", name=coupon.name, note=applied.note)
        else:
            text = Phrase("Coupon: {name}", name=coupon.name)
        return Notice(t_ms, "coupon", text)

    def snapshot(self):
        return self.cart.snapshot()

    def state(self):
        return self.rec.state()
