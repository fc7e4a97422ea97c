"""Fusion's decisions as named, ordered rules.

Each input goes to a chain of rules; the FIRST rule that claims it explains it (see each
module for its chain and order):

- ``settle.SETTLE``: a settled weight — a change at all? (drift, load shifts, undo, slumps);
- ``placement.PLACEMENT``: a rise — which scan, produce, put-back or question it is;
- ``removal.REMOVAL``: a drop — which line, tare or question it is;
- ``scan.SCAN``: a scan — which question it answers, or a new expectation; then
  ``scan.AFTER_SCAN``: what its code still needs (staff for an expired item, a warning);
- ``verdict.VERDICT``: a camera verdict — which placement or question it is about.

``steps`` holds what several chains share (the camera judging a line, asking about an
unexplained placement, weighing produce), ``timeouts`` what time passing does, and
``shopper`` / ``staff`` the answers to questions. ``Rules`` builds all of them from one
``FusionConfig``: each rule reads its own ``Settings`` from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cart.common.events import WeightSettled
from cart.fusion.alerts import AlertKind, Effect
from cart.fusion.config import FusionConfig, settings_from
from cart.fusion.rules.base import Rule, Step, first_claim
from cart.fusion.rules.held_drop import flush_held_drop, may_be_put_back_in_steps
from cart.fusion.rules.placement import PLACEMENT, Rise
from cart.fusion.rules.removal import REMOVAL, Drop
from cart.fusion.rules.scan import AFTER_SCAN, SCAN
from cart.fusion.rules.settle import SETTLE
from cart.fusion.rules.shopper import ShopperAnswers
from cart.fusion.rules.staff import StaffAnswers
from cart.fusion.rules.steps import AskUnexplained, Judge, WeighProduce
from cart.fusion.rules.timeouts import Timeouts
from cart.fusion.rules.verdict import VERDICT
from cart.fusion.state import Placement, State

__all__ = [
    "AFTER_SCAN",
    "PLACEMENT",
    "REMOVAL",
    "SCAN",
    "SETTLE",
    "VERDICT",
    "Rule",
    "Rules",
    "Step",
    "first_claim",
]

# after a change, a question of these kinds is what the change was (a reading straight back
# to the weight before it closes it: ``settle.WeightCameBack``)
_UNEXPLAINED = (
    AlertKind.SCAN_ADDED,
    AlertKind.WEIGH_PRODUCE,
    AlertKind.UNEXPLAINED_REMOVAL,
    AlertKind.WHICH_REMOVED,
)


class Rules:
    """Every chain and shared step, built from one ``FusionConfig``."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        verdict_before_ms: int
        produce_window_ms: int

    def __init__(self, cfg: FusionConfig) -> None:
        self.s = settings_from(self.Settings, cfg)

        def chain(rules: tuple[type[Rule], ...]) -> tuple[Rule, ...]:
            return tuple(rule.from_config(cfg) for rule in rules)

        self.settle = chain(SETTLE)
        self.placement = chain(PLACEMENT)
        self.removal = chain(REMOVAL)
        self.scan = chain(SCAN)
        self.after_scan = chain(AFTER_SCAN)
        self.verdict = chain(VERDICT)
        self.judge = Judge.from_config(cfg)
        self.ask_unexplained = AskUnexplained.from_config(cfg)
        self.weigh = WeighProduce.from_config(cfg)
        self.timeouts = Timeouts.from_config(cfg)
        self.shopper = ShopperAnswers.from_config(cfg)
        self.staff = StaffAnswers.from_config(cfg)

    def change(
        self,
        st: State,
        r: float,
        before: float,
        ev: WeightSettled,
        t: int,
        noise: float,
        out: list[Effect],
    ) -> None:
        """Explain a settled change of ``r`` grams from the level ``before``: a rise by the
        placement rules, a drop by the removal rules. A drop held for its item to come back
        is asked about first (this change is something else), unless this is a lighter rise:
        maybe the first step of that item put back."""
        if not may_be_put_back_in_steps(st, r, noise):
            flush_held_drop(st, t, out)
        st.accounted = ev.grams
        st.last_unexplained = None
        st.undo = None
        n_flags = st.next_flag
        if r > 0:
            self.rise(st, r, t, ev.settle_ms, noise, out, settled_ms=ev.t_ms)
        else:
            self.drop(st, -r, t, noise, out)
        for fid in range(n_flags, st.next_flag):
            o = st.questions.get(fid)
            if o is not None and o.flag.kind in _UNEXPLAINED:
                st.last_unexplained = (fid, before)

    def rise(
        self,
        st: State,
        r: float,
        t: int,
        settle_ms: int,
        noise: float,
        out: list[Effect],
        settled_ms: int | None = None,
    ) -> Rule | None:
        """A settled rise of ``r`` explained at ``t`` by the placement rules; ``settled_ms``:
        when its reading settled, if earlier (a held change, a placement explained again)."""
        x = Rise.of(
            st,
            r,
            t,
            settle_ms,
            noise,
            verdict_before_ms=self.s.verdict_before_ms,
            produce_window_ms=self.s.produce_window_ms,
        )
        x.pl.settled_ms = settled_ms
        return first_claim(self.placement, st, x, out)

    def explain_afresh(
        self, st: State, pl: Placement, fid: int, grams: float, t: int, out: list[Effect]
    ) -> None:
        """An unexplained (or only guessed) placement of ``grams`` explained again, as a whole,
        with what is known now (its camera verdict, the rest of a bag): its question ``fid``
        closes as updated and the rise goes down the placement rules once more. A question it
        raises again is still what a weight straight back would close."""
        st.resolve(out, t, fid, "updated", "cart")
        st.placements.pop(pl.id, None)
        if pl.verdict is not None:
            st.last_verdict = (t, pl.verdict)
        back = st.last_unexplained
        was = back[1] if back is not None and back[0] == fid else None
        n_flags = st.next_flag
        noise = max(pl.noise, st.match.scale_sigma_g)
        self.rise(st, grams, t, 0, noise, out, settled_ms=pl.settled_ms or pl.t_ms)
        asked = [new for new in range(n_flags, st.next_flag) if new in st.questions]
        if asked:
            st.successor[fid] = asked[0]  # an answer to the question before is for this one
        if was is not None:
            st.last_unexplained = None
            for new in range(n_flags, st.next_flag):
                o = st.questions.get(new)
                if o is not None and o.flag.kind in _UNEXPLAINED:
                    st.last_unexplained = (new, was)

    def drop(
        self, st: State, r: float, t: int, noise: float, out: list[Effect], hold: bool = True
    ) -> Rule | None:
        """A settled drop of ``r`` grams explained at ``t`` by the removal rules; ``hold``:
        one several products fit may wait for the item to come back (``AskWhichRemoved``)."""
        return first_claim(self.removal, st, Drop(st, r, t, noise, hold), out)
