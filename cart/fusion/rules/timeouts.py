"""Time passing: what is due when time reaches ``t`` (before any input at ``t``)."""

from __future__ import annotations

from dataclasses import dataclass

from cart.common.i18n import Phrase
from cart.fusion.alerts import AlertKind, Audit, Effect
from cart.fusion.rules.base import Step
from cart.fusion.rules.held_drop import flush_held_drop
from cart.fusion.rules.settle import held_change_stays
from cart.fusion.state import Placement, State


class Timeouts(Step):
    """In this order: a held light change still held ``defer_ms`` after it is explained (at
    that time, whenever time is next told, so a replay gives the same result); a drop held
    ``which_removed_hold_ms`` before asking which item it was is asked about (the same way);
    a scan whose item has not reached the scale by its deadline is asked about
    (``place_scanned``); a line deleted on screen whose item has not left by its deadline is
    asked about (``take_out``); a staff login that timed out is audited."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        defer_ms: int
        which_removed_hold_ms: int

    def __call__(self, st: State, t: int, out: list[Effect]) -> None:
        d = st.deferred
        if d is not None and t >= d.t_ms + self.s.defer_ms:
            st.deferred = None
            te = d.t_ms + self.s.defer_ms  # the same time whenever time is next told
            st.t = te
            held_change_stays(st, d, te, out)
        h = st.held_drop
        if h is not None and h.asked is None and t >= h.t_ms + self.s.which_removed_hold_ms:
            te = h.t_ms + self.s.which_removed_hold_ms
            st.t = te
            flush_held_drop(st, te, out, keep=True)
        st.t = t
        for ln in st.lines.values():
            if (
                not ln.placed
                and ln.flag_id is None
                and ln.deadline_ms is not None
                and t >= ln.deadline_ms
            ):
                st.flag_place_scanned(ln, t, out)
        still = []
        for ln, deadline in st.expected_out:
            if t >= deadline:
                st.ask(
                    out,
                    t,
                    AlertKind.TAKE_OUT,
                    Phrase(
                        "You removed {name} from the list: take it out of the cart, or scan it "
                        "again",
                        name=ln.product.name,
                    ),
                    grams=ln.measured_g,
                    line_id=ln.id,
                    product=ln.product,
                    placement=Placement(-ln.id, t, ln.measured_g or 0.0),
                )
            else:
                still.append((ln, deadline))
        st.expected_out = still
        if st.staff.active is not None and st.staff.current(t) is None:
            out.append(Audit(t, "fusion.staff.timeout", ()))
