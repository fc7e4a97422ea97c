"""The shopper's answers: screen actions (``cart.fusion.actions``) and what each does.

Each answers an open question of the kinds it names (else it is refused with a notice), or,
for ``SelectProduce`` without a question, chooses produce before it is placed.
"""

from __future__ import annotations

from dataclasses import dataclass

from cart.common.i18n import Counted, Phrase
from cart.fusion import actions as A
from cart.fusion.alerts import AlertKind, Audit, CheckedOut, Effect, LineRemoved, Notice
from cart.fusion.rules.base import Step
from cart.fusion.rules.held_drop import flush_held_drop
from cart.fusion.rules.removal import NOTHING_OUT
from cart.fusion.rules.settle import held_change_stays
from cart.fusion.state import PendingProduce, Question, State


def question_for(
    st: State, fid, kinds: tuple[AlertKind, ...], t: int, out: list[Effect]
) -> Question | None:
    """The open question ``fid`` when it is of one of ``kinds``; else refused (None)."""
    o = st.questions.get(fid) if fid is not None else None
    if o is None or o.flag.kind not in kinds:
        out.append(Notice(t, "refused", Phrase("alert {id} is not open for that answer", id=fid)))
        return None
    return o


class ShopperAnswers(Step):
    """The shopper's screen actions. ``ConfirmQuantity`` takes at most ``max_quantity``;
    ``DeclarePersonal`` makes an unexplained placement tare only up to ``personal_max_g``,
    before the first scan, and when the camera is not ``personal_vision_max`` sure of a store
    product (else staff decide); ``RemoveLine`` expects the item out within
    ``take_out_timeout_ms``."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        max_quantity: int
        personal_max_g: float
        personal_vision_max: float
        take_out_timeout_ms: int

    def select_produce(self, st: State, a: A.SelectProduce, t: int, out: list[Effect]) -> None:
        found = st.catalogue.lookup(a.code)
        if found is None or not found.product.by_weight:
            out.append(Notice(t, "refused", Phrase("That code is not produce sold by weight")))
            return
        if a.flag_id is None:
            st.pending_produce.append(PendingProduce(found.product, a.code, a.bagged, t))
            return
        o = question_for(
            st,
            a.flag_id,
            (AlertKind.WEIGH_PRODUCE, AlertKind.SCAN_ADDED, AlertKind.QUANTITY),
            t,
            out,
        )
        if o is None:
            return
        if o.flag.kind == AlertKind.QUANTITY and (o.placement is None or o.placement.line_ids):
            out.append(Notice(t, "refused", Phrase("Scan the items, or call staff")))
            return
        st.rules.weigh(st, a.flag_id, found.product, a.code, a.bagged, t, out)

    def pick_removed(self, st: State, a: A.PickRemoved, t: int, out: list[Effect]) -> None:
        o = question_for(st, a.flag_id, (AlertKind.WHICH_REMOVED,), t, out)
        if o is None:
            return
        keys = {c.key for c in o.flag.candidates}
        if a.line_id is None:
            g = o.placement.grams if o.placement is not None else 0.0
            fit = [(abs(x - g), i) for i, x in enumerate(st.tare)]
            if "personal" not in keys or not fit:
                out.append(Notice(t, "refused", Phrase("That choice was not offered")))
                return
            st.tare.pop(min(fit)[1])
            st.resolve(out, t, a.flag_id, "own item taken out", "shopper")
            return
        if f"line:{a.line_id}" not in keys or a.line_id not in st.lines:
            out.append(Notice(t, "refused", Phrase("That line was not offered")))
            return
        st.take_out(st.lines[a.line_id], t, out, "picked as taken out")
        st.resolve(out, t, a.flag_id, f"line {a.line_id} taken out", "shopper")

    def nothing_taken_out(self, st: State, a: A.NothingTakenOut, t: int, out) -> None:
        o = question_for(st, a.flag_id, (AlertKind.WHICH_REMOVED,), t, out)
        if o is None:
            return
        if NOTHING_OUT not in {c.key for c in o.flag.candidates}:
            out.append(Notice(t, "refused", Phrase("That choice was not offered")))
            return
        st.resolve(out, t, a.flag_id, "nothing taken out (the load shifted)", "shopper")

    def cancel_scan(self, st: State, a: A.CancelScan, t: int, out: list[Effect]) -> None:
        o = question_for(st, a.flag_id, (AlertKind.PLACE_SCANNED,), t, out)
        if o is None:
            return
        ln = st.lines.get(o.flag.line_id) if o.flag.line_id is not None else None
        if ln is not None and not ln.placed:
            del st.lines[ln.id]
            out.append(LineRemoved(t, ln.id, "scan cancelled"))
        st.resolve(out, t, a.flag_id, "scan cancelled", "shopper")

    def confirm_quantity(self, st: State, a: A.ConfirmQuantity, t: int, out: list[Effect]) -> None:
        o = question_for(st, a.flag_id, (AlertKind.QUANTITY,), t, out)
        if o is None:
            return
        assert o.product is not None  # a quantity question is always asked about a product
        mean, sig = st.sigma(o.product)
        # N in the question counts the items scanned for it before and since it was asked
        scanned = (len(o.placement.line_ids) if o.placement is not None else 0) + o.answered
        count = o.count
        if a.quantity is not None and a.quantity != scanned + o.count:
            k = a.quantity
            g = o.placement.grams if o.placement is not None else 0.0
            if (
                k <= scanned
                or k > self.s.max_quantity
                or abs(g - k * mean) > st.tol(k * sig * sig, st.match.scale_sigma_g)
            ):
                out.append(
                    Notice(
                        t,
                        "refused",
                        Phrase(
                            "{count} × {name} does not fit the weight: scan each one, or call "
                            "staff",
                            count=k,
                            name=o.product.name,
                        ),
                    )
                )
                return
            count = k - scanned
        code = o.product.codes[0] if o.product.codes else o.product.id
        added = [
            st.add_line(
                out, t, o.product, code, placed=True, measured=mean, alone=False, expect=(mean, sig)
            )
            for _ in range(count)
        ]
        st.resolve(out, t, a.flag_id, "quantity confirmed", "shopper")
        if added and o.placement is not None:
            # "n more" is the shopper's word about items nobody scanned: the camera judges them
            # as it judges a scan (a dearer look-alike of the same weight is not one more)
            pl = o.placement
            asked = pl.flag_id
            # the placement's whole weight is the witness: "2 × mango" weighs what one papaya
            # does, and the camera must tell them apart
            st.rules.judge(st, pl, added[-1], t, out, whole=scanned + count)
            fid = pl.flag_id
            doubt = st.questions.get(fid) if fid is not None and fid != asked else None
            if doubt is not None and doubt.flag.kind == AlertKind.LOOKS_DIFFERENT:
                # nothing the shopper can show or scan tells the doubted item from the one they
                # did scan (the same product, in the cart already): staff look
                st.replace_flag(
                    out,
                    t,
                    doubt.flag.id,
                    needs_staff=True,
                    message=Phrase(
                        "This does not look like {name}: staff will check",
                        name=o.product.name,
                    ),
                )

    def declare_personal(self, st: State, a: A.DeclarePersonal, t: int, out: list[Effect]) -> None:
        o = question_for(st, a.flag_id, (AlertKind.SCAN_ADDED, AlertKind.WEIGH_PRODUCE), t, out)
        if o is None:
            return
        pl = o.placement
        assert pl is not None  # scan_added / weigh_produce are always asked about a placement
        seen_product = False
        if pl.verdict:
            label, prob = pl.verdict[0]
            seen_product = prob >= self.s.personal_vision_max and bool(st.catalogue.by_label(label))
        late = st.next_line > 1  # own bags go in before the first item is scanned
        if pl.grams > self.s.personal_max_g or seen_product or late:
            st.replace_flag(
                out, t, a.flag_id, needs_staff=True, message=Phrase("Staff will check this item")
            )
            out.append(Audit(t, "fusion.personal_refused", (("grams", round(pl.grams, 1)),)))
            return
        st.placements.pop(pl.id, None)
        st.tare.append(pl.grams)
        st.resolve(out, t, a.flag_id, "personal item (tare)", "shopper")

    def remove_line(self, st: State, a: A.RemoveLine, t: int, out: list[Effect]) -> None:
        ln = st.lines.get(a.line_id)
        if ln is None:
            out.append(Notice(t, "refused", Phrase("no line {id}", id=a.line_id)))
            return
        del st.lines[ln.id]
        out.append(LineRemoved(t, ln.id, "removed on screen"))
        st.resolve_line_flags(ln, t, out, "line removed")
        if ln.placed:
            st.expected_out.append((ln, t + self.s.take_out_timeout_ms))
            flush_held_drop(st, t, out)  # a drop waiting to be asked about may be this item

    def show_again(self, st: State, a: A.ShowAgain, t: int, out: list[Effect]) -> None:
        o = question_for(st, a.flag_id, (AlertKind.LOOKS_DIFFERENT,), t, out)
        if o is not None and o.flag.needs_staff:
            out.append(Notice(t, "refused", Phrase("Staff will check this item")))
        elif o is not None and o.placement is not None:
            o.placement.recheck, o.placement.recheck_ms = True, t

    def call_staff(self, st: State, a: A.CallStaff, t: int, out: list[Effect]) -> None:
        out.append(Audit(t, "fusion.call_staff", (("flag_id", a.flag_id),)))

    def checkout(self, st: State, a: A.Checkout, t: int, out: list[Effect]) -> None:
        """Nothing may wait unexplained at the till: a held change is explained (and a held
        drop asked about), scans not yet on the scale are asked about, and check-out is refused
        while a question is open."""
        d = st.deferred
        if d is not None:
            st.deferred = None
            held_change_stays(st, d, t, out)
        if st.held_drop is not None and st.held_drop.asked is None:
            flush_held_drop(st, t, out, keep=True)
        for ln in list(st.lines.values()):
            if not ln.placed and ln.flag_id is None:
                st.flag_place_scanned(ln, t, out)
        st.pending_produce.clear()
        if st.questions:
            out.append(
                Notice(
                    t,
                    "checkout_refused",
                    Counted(
                        "{n} question(s) to answer before paying",
                        "{n} questions to answer before paying",
                        n=len(st.questions),
                    ),
                )
            )
            return
        st.checked_out = True
        out.append(CheckedOut(t))
