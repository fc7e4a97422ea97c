"""Staff actions: login and logout (``cart.fusion.staff.StaffGate``), and resolving alerts."""

from __future__ import annotations

from cart.common.i18n import Phrase
from cart.fusion import actions as A
from cart.fusion.alerts import AlertKind, Audit, Effect, LineRemoved, Notice
from cart.fusion.rules.base import Step
from cart.fusion.state import Question, State


class StaffAnswers(Step):
    """Staff log in (the outcome audited, never the PIN), log out, and resolve any open alert:
    ``remove_line``, ``add_product`` (billed for the placement), ``dismiss`` (an unexplained
    placement stays on the scale as tare) or ``approve`` (a scan accepted without the scale)."""

    def login(self, st: State, a, t: int, out: list[Effect]) -> None:
        res = st.staff.login(t, a.staff_id, a.pin, replay=getattr(a, "replay", None))
        out.append(Audit(t, f"fusion.staff.login_{res}", (("staff_id", a.staff_id),)))
        if res != "ok":
            out.append(
                Notice(
                    t,
                    "staff_login",
                    Phrase("Locked: try later")
                    if res == "locked"
                    else Phrase("Wrong staff id or PIN"),
                )
            )

    def logout(self, st: State, a: A.StaffLogout, t: int, out: list[Effect]) -> None:
        who = st.staff.logout()
        if who:
            out.append(Audit(t, "fusion.staff.logout", (("staff_id", who),)))

    def resolve(self, st: State, a: A.StaffResolve, t: int, out: list[Effect]) -> None:
        who = st.staff.current(t)
        if who is None:
            out.append(Notice(t, "refused", Phrase("Staff mode is not active")))
            out.append(Audit(t, "fusion.staff.refused", (("flag_id", a.flag_id),)))
            return
        st.staff.touch(t)
        o = st.questions.get(a.flag_id)
        if o is None or a.resolution not in A.STAFF_RESOLUTIONS:
            out.append(Notice(t, "refused", f"cannot {a.resolution!r} alert {a.flag_id}"))
            return
        audit = [
            ("staff_id", who),
            ("flag_id", a.flag_id),
            ("kind", o.flag.kind),
            ("resolution", a.resolution),
            ("note", a.note),
        ]
        if a.resolution == "remove_line" and not self.remove_line(st, a, o, who, audit, t, out):
            return
        if a.resolution == "add_product" and not self.add_product(st, a, o, audit, t, out):
            return
        pl = o.placement
        if (
            a.resolution == "dismiss"
            and o.flag.kind in (AlertKind.SCAN_ADDED, AlertKind.WEIGH_PRODUCE)
            and pl is not None
        ):
            st.tare.append(pl.grams)  # not billed: it stays on the scale as tare
        if pl is not None:
            st.placements.pop(pl.id, None)
        ln = st.lines.get(o.flag.line_id) if o.flag.line_id is not None else None
        if o.flag.kind == AlertKind.PLACE_SCANNED and ln is not None and a.resolution == "approve":
            ln.placed = True  # billed and accepted without the scale (e.g. under the basket)
        out.append(Audit(t, "fusion.staff.resolve", tuple(audit)))
        st.resolve(out, t, a.flag_id, a.resolution, f"staff:{who}")

    def remove_line(
        self,
        st: State,
        a: A.StaffResolve,
        o: Question,
        who: str,
        audit: list,
        t: int,
        out: list[Effect],
    ) -> bool:
        ln = st.lines.get(a.line_id if a.line_id is not None else o.flag.line_id or -1)
        if ln is None:
            out.append(Notice(t, "refused", Phrase("no such line")))
            return False
        del st.lines[ln.id]
        out.append(LineRemoved(t, ln.id, f"removed by staff {who}"))
        audit.append(("line_id", ln.id))
        return True

    def add_product(
        self, st: State, a: A.StaffResolve, o: Question, audit: list, t: int, out: list[Effect]
    ) -> bool:
        found = st.catalogue.lookup(a.code or "")
        if found is None or a.quantity < 1:
            out.append(Notice(t, "refused", Phrase("unknown code or quantity")))
            return False
        p, pl = found.product, o.placement
        if p.by_weight:
            g = pl.grams if pl is not None else 0.0
            st.add_line(out, t, p, found.code, weight_g=round(g, 1), placed=True, measured=g)
        else:
            mean, sig = st.sigma(p)
            for _ in range(a.quantity):
                st.add_line(
                    out,
                    t,
                    p,
                    found.code,
                    placed=True,
                    measured=mean,
                    alone=False,
                    expect=(mean, sig),
                    price_minor=found.price_minor,
                )
        audit += [("code", found.code), ("quantity", a.quantity)]
        return True
