"""The reconciler: scans, settled weights, camera verdicts and screen actions in, basket changes
and alerts out.

Pure and deterministic: ``handle(x)`` takes one timestamped input (a ``cart.common.events``
device event or a ``cart.fusion.actions`` action), in time order, and returns the effects (see
``cart.fusion.alerts``) for the basket, the journal and the screen. It never reads a clock and
never does I/O; feeding the same inputs again gives the same effects, so a session is replayed
from its journaled inputs.

This module only dispatches: time passes first (``rules.timeouts``), then each input goes to
its handler, which offers it to a chain of named rules in ``cart.fusion.rules`` (the first that
claims it explains it), over the state in ``cart.fusion.state``; the evidence maths is in
``cart.fusion.evidence``. How it keeps the basket right (details in docs/FUSION.md):

- A scan bills its item at once (the shopper sees the price) and leaves an *expectation*: that
  item should reach the scale (``rules.scan``).
- A settled weight change (``rules.settle``) is explained by the placement rules
  (``rules.placement``: putting back something taken out unexplained; a subset of the pending
  scans; produce chosen before placing; more of the item just scanned; an item taken out a
  moment ago coming back; n × one pending product; else an *unexplained placement*, and a
  question) or the removal rules (``rules.removal``: one product fits → its line leaves the
  bill with no question; several fit → a picker; nothing fits → put it back).
- A scan after the placement (place-then-scan) explains an unexplained placement (or part of
  one) whose weight fits. Expectations are matched against learned weights (mean, σ), with the
  scale's own noise added, at ``match_k`` σ.
- The camera's verdict on a placement is weighed against the scan (Bayes, with the weight as a
  second witness): a confident "that is something else" becomes "this does not look like ...".
- Nothing is silently dropped: an expectation not met in time is a question, and check-out is
  refused while any question is open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

from cart.common.events import DeviceStatus, Scan, VisionVerdict, WeightMoving, WeightSettled
from cart.common.i18n import N_
from cart.fusion import actions as A
from cart.fusion.actions import ReplayedStaffLogin
from cart.fusion.alerts import AlertKind, Effect, Flag, Notice
from cart.fusion.config import FusionConfig
from cart.fusion.evidence import camera_confusion_from
from cart.fusion.learning import WeightModel
from cart.fusion.products import ProductSource
from cart.fusion.rules import Rules
from cart.fusion.rules.scan import on_scan
from cart.fusion.rules.settle import on_settled
from cart.fusion.rules.verdict import on_verdict
from cart.fusion.staff import StaffGate
from cart.fusion.state import FusionLine, FusionState, State

__all__ = [
    "FusionConfig",
    "FusionState",
    "FusionLine",
    "Reconciler",
    "ReplayedStaffLogin",
    "camera_confusion_from",
]

Handler = Callable[[State, object, int, list[Effect]], None]
E = TypeVar("E")


def _typed(cls: type[E], h: Callable[[State, E, int, list[Effect]], None]) -> Handler:
    """``h``, the handler of ``cls`` inputs, as a ``Handler``: ``handle`` looks handlers up by
    ``type(x)``, so the input this one is given is always a ``cls`` (the check says so)."""

    def handler(st: State, x: object, t: int, out: list[Effect]) -> None:
        assert isinstance(x, cls)
        h(st, x, t, out)

    return handler


def _moving(st: State, ev: WeightMoving, t: int, out: list[Effect]) -> None:
    st.moving = True  # the platform moved: the next action began


def _health(st: State, ev: DeviceStatus, t: int, out: list[Effect]) -> None:
    """Device health: shown by the screen, not reconciled."""


class Reconciler:
    def __init__(
        self,
        catalogue: ProductSource,
        *,
        config: FusionConfig | None = None,
        weights: WeightModel | None = None,
        staff: StaffGate | None = None,
    ) -> None:
        self.cfg = config or FusionConfig()
        self.rules = Rules(self.cfg)
        self._st = State(catalogue, self.cfg, weights or WeightModel(), staff or StaffGate())
        self._st.rules = self.rules
        sh, sf = self.rules.shopper, self.rules.staff
        self._handlers: dict[type, Handler] = {
            Scan: _typed(Scan, on_scan),
            A.EnterCode: _typed(A.EnterCode, on_scan),
            WeightSettled: _typed(WeightSettled, on_settled),
            WeightMoving: _typed(WeightMoving, _moving),
            DeviceStatus: _typed(DeviceStatus, _health),
            VisionVerdict: _typed(VisionVerdict, on_verdict),
            A.SelectProduce: sh.select_produce,
            A.PickRemoved: sh.pick_removed,
            A.NothingTakenOut: sh.nothing_taken_out,
            A.CancelScan: sh.cancel_scan,
            A.ConfirmQuantity: sh.confirm_quantity,
            A.DeclarePersonal: sh.declare_personal,
            A.RemoveLine: sh.remove_line,
            A.ShowAgain: sh.show_again,
            A.CallStaff: sh.call_staff,
            A.Checkout: sh.checkout,
            A.StaffLogin: sf.login,
            A.ReplayedStaffLogin: sf.login,
            A.StaffLogout: sf.logout,
            A.StaffResolve: sf.resolve,
        }

    # ---- public ---------------------------------------------------------------------------

    def handle(self, x) -> list[Effect]:
        st = self._st
        out: list[Effect] = []
        t = int(x.t_ms)
        if t < st.t:
            out.append(Notice(t, "out_of_order", f"input at {t} ms is older than {st.t} ms"))
            t = st.t
        self.rules.timeouts(st, t, out)
        if st.checked_out:
            out.append(Notice(t, "checked_out", N_("this basket is already paid")))
            return out
        h = self._handlers.get(type(x))
        fid = getattr(x, "flag_id", None)
        if isinstance(fid, int) and fid not in st.questions and st.current_id(fid) != fid:
            # the question was asked again under a new id while the shopper answered it
            x = dataclasses.replace(x, flag_id=st.current_id(fid))
        if h is None:
            out.append(Notice(t, "unsupported", f"unsupported input {type(x).__name__}"))
            return out
        h(st, x, t, out)
        return out

    def ask_staff(self, t_ms: int, kind: AlertKind, message: str) -> list[Effect]:
        """Open a question only staff can answer that no device or shopper input raised (the
        session's own check after a restart)."""
        out: list[Effect] = []
        self._st.raise_flag(out, int(t_ms), kind, message, needs_staff=True)
        return out

    def advance(self, t_ms: int) -> list[Effect]:
        """Let simulated or real time pass with no input (expectations time out)."""
        out: list[Effect] = []
        if t_ms >= self._st.t and not self._st.checked_out:
            self.rules.timeouts(self._st, int(t_ms), out)
        return out

    def state(self) -> FusionState:
        return self._st.snapshot()

    @property
    def now_ms(self) -> int:
        """The time the reconciler has reached (its latest input or ``advance``)."""
        return self._st.t

    @property
    def open_flags(self) -> list[Flag]:
        return [o.flag for o in self._st.questions.values()]

    @property
    def catalogue(self) -> ProductSource:
        return self._st.catalogue

    @property
    def weights(self) -> WeightModel:
        return self._st.weights

    @property
    def staff(self) -> StaffGate:
        return self._st.staff

    @property
    def checked_out(self) -> bool:
        return self._st.checked_out

    @property
    def flags_raised(self) -> int:
        return self._st.flags_raised
