"""Camera rules: what a camera verdict (``VisionVerdict``: its top-k labels) is about.

A verdict goes to the FIRST of these rules that claims it, in this order (``VERDICT``):

1. ``CameraOff`` — ``use_vision`` is off: the verdict is ignored;
2. ``SeenWithHeldChange`` — a light change held a moment: the camera saw it, an item;
3. ``ShownAgain`` — an item re-shown under ``looks_different``: judged again;
4. ``LateVerdict`` — the last placement, just settled and not yet seen: its verdict;
5. ``RememberVerdict`` — kept for the next settled change.
"""

from __future__ import annotations

from dataclasses import dataclass

from cart.common.events import VisionVerdict
from cart.common.i18n import Phrase
from cart.fusion import evidence as ev
from cart.fusion.alerts import AlertKind, Audit, Effect
from cart.fusion.rules.base import Rule, first_claim
from cart.fusion.rules.steps import pending_items
from cart.fusion.state import Question, State


@dataclass(frozen=True, slots=True)
class Sighting:
    """A camera verdict at ``t``."""

    top: tuple[tuple[str, float], ...]
    t: int


def on_verdict(st: State, e: VisionVerdict, t: int, out: list[Effect]) -> None:
    first_claim(st.rules.verdict, st, Sighting(e.top, t), out)


class CameraOff(Rule):
    """Claims every verdict when ``use_vision`` is off (the bench's baseline): ignored."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        use_vision: bool

    def apply(self, st: State, x: Sighting, out: list[Effect]) -> bool:
        return not self.s.use_vision


class SeenWithHeldChange(Rule):
    """Claims a verdict within ``verdict_after_ms`` of a held light change: the camera saw
    something go in or out with it, so it is an item: explained now, with this verdict. Not
    a verdict that only sees again the item last put in (``State.seen_again``)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        verdict_after_ms: int

    def apply(self, st: State, x: Sighting, out: list[Effect]) -> bool:
        d = st.deferred
        if d is None or x.t - d.t_ms > self.s.verdict_after_ms or st.seen_again(x.top):
            return False
        st.deferred = None
        st.last_verdict = (x.t, x.top)
        st.rules.change(st, d.ev.grams - d.before_g, d.before_g, d.ev, x.t, d.noise, out)
        return True


class ShownAgain(Rule):
    """Claims a verdict within ``recheck_window_ms`` of "show it again" under an open
    ``looks_different`` question (the first such one whose line is still billed): a posterior
    of at least ``vision_flag_below`` (both views together) closes it; views that disagree
    with each other ask for one more (up to three); otherwise staff will check. Each recheck
    it looks at is used up, also one whose line has gone (passes, having changed it)."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        recheck_window_ms: int
        vision_flag_below: float

    def apply(self, st: State, x: Sighting, out: list[Effect]) -> bool:
        for fid, o in st.open_of(AlertKind.LOOKS_DIFFERENT):
            pl = o.placement
            if pl is None or not pl.recheck or x.t - pl.recheck_ms > self.s.recheck_window_ms:
                continue
            pl.recheck = False
            ln = st.flag_line(o)
            if ln is not None:
                self.judge_again(st, fid, o, ln, x, out)
                return True
        return False

    def judge_again(
        self, st: State, fid: int, o: Question, ln, x: Sighting, out: list[Effect]
    ) -> None:
        grams = ln.measured_g if ln.weight_g is None else None
        post = st.posterior(ln.product, grams, x.top)
        pl = o.placement
        assert pl is not None  # apply judges only questions whose placement is rechecked
        first = pl.verdict[0][0] if pl.verdict else None
        pl.views += 1
        below = self.s.vision_flag_below
        if post is not None and post >= below and pl.verdict:
            # the same item seen twice: both views are evidence, not only the last
            post = ev.joint(post, st.posterior(ln.product, grams, pl.verdict), st.camera)
        if post is None or post >= below:
            st.resolve(out, x.t, fid, "looks right on a second view", "cart")
        elif x.top and x.top[0][0] != first and pl.views < 3:
            # the views disagree with each other: one more look decides
            pl.verdict = x.top
            st.replace_flag(
                out,
                x.t,
                fid,
                message=Phrase(
                    "Please show the {name} to the camera once more", name=ln.product.name
                ),
            )
        else:
            st.replace_flag(
                out,
                x.t,
                fid,
                needs_staff=True,
                message=Phrase(
                    "This still does not look like {name}: staff will check",
                    name=ln.product.name,
                ),
            )


class LateVerdict(Rule):
    """Claims a verdict within ``verdict_after_ms`` after the last placement settled, when
    that placement has no verdict yet and the platform has not moved since: the verdict is
    its own (the cart's camera is asked when the weight settles, so its verdict comes just
    after). A placement still unexplained (its ``scan_added`` unanswered) is explained afresh
    with it (``Rules.explain_afresh``): what the camera sees may be more of the item just
    scanned, an item taken out a moment ago coming back, or produce (asked as
    ``weigh_produce``). A single line billed for it without a price of its own is judged,
    after the camera chose again among the pending scans the weight alone chose it from."""

    @dataclass(frozen=True, slots=True)
    class Settings:
        verdict_after_ms: int
        place_timeout_ms: int

    def apply(self, st: State, x: Sighting, out: list[Effect]) -> bool:
        pl = st.last_placement
        if (
            pl is None
            or pl.verdict is not None
            or st.moving
            or not 0 <= x.t - pl.t_ms <= self.s.verdict_after_ms
        ):
            return False
        pl.verdict = x.top
        if pl.flag_id is not None and pl.flag_id in st.questions:
            o = st.questions[pl.flag_id]
            if o.flag.kind == AlertKind.SCAN_ADDED and pl.id in st.placements:
                st.rules.explain_afresh(st, pl, pl.flag_id, pl.grams, x.t, out)
        elif len(pl.line_ids) == 1 and pl.line_ids[0] in st.lines:
            ln = self.choose_again(st, pl, st.lines[pl.line_ids[0]], x, out)
            if ln.price_minor is None:
                st.rules.judge(st, pl, ln, x.t, out)
        return True

    def choose_again(self, st: State, pl, ln, x: Sighting, out: list[Effect]):
        """A placement matched by weight alone to one of several pending scans, chosen again
        with the camera as a second witness (``evidence.best_subset`` with its verdict): when
        another scan wins, that one is placed and ``ln`` waits for its item again (a scanned
        item kept out of the cart must not be placed by another item of its weight)."""
        others = [
            st.lines[i]
            for i in pl.choices
            if i != ln.id and i in st.lines and not st.lines[i].placed
        ]
        if not others or ln.weight_g is not None or ln.price_minor is not None:
            return ln
        noise = max(pl.noise, st.match.scale_sigma_g)
        best = st.best_subset(pl.grams, pending_items([ln, *others]), noise, 1, top=x.top)
        if not best or best[0] is ln:
            return ln
        new = best[0]
        st.unwait(ln, x.t, self.s.place_timeout_ms)
        st.mark_placed(new, x.t, out, pl.grams, alone=True)
        pl.line_ids = [new.id]
        out.append(
            Audit(x.t, "fusion.seen_as_other_scan", (("line_id", new.id), ("was_line_id", ln.id)))
        )
        return new


class RememberVerdict(Rule):
    """Claims every verdict that reaches it: kept as the last verdict, for the next settled
    change (``verdict_before_ms``)."""

    def apply(self, st: State, x: Sighting, out: list[Effect]) -> bool:
        st.last_verdict = (x.t, x.top)
        return True


VERDICT: tuple[type[Rule], ...] = (
    CameraOff,
    SeenWithHeldChange,
    ShownAgain,
    LateVerdict,
    RememberVerdict,
)
