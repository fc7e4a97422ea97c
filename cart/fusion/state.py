"""The reconciler's state, and the few operations every rule uses to change it.

``State`` holds what fusion knows between inputs: the billed lines and what was measured of
them, the placements nobody has explained, the open questions (alerts), personal items on the
scale (tare), items taken out a moment ago, produce chosen before it was placed, and the last
camera verdict. Its methods are the primitive edits (bill a line, raise, re-raise or resolve an
alert, mark a scan placed, take a line out) with the effects they emit; the decisions are made
by the rules in ``cart.fusion.rules``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cart.common.events import WeightSettled
from cart.common.i18n import Phrase
from cart.fusion import evidence as ev
from cart.fusion.alerts import (
    KINDS,
    AlertKind,
    Effect,
    Flag,
    FlagRaised,
    FlagResolved,
    LineAdded,
    LineRemoved,
)
from cart.fusion.config import CameraSettings, FusionConfig, MatchSettings, settings_from
from cart.fusion.learning import WeightModel
from cart.fusion.products import Product, ProductSource
from cart.fusion.staff import StaffGate

if TYPE_CHECKING:
    from cart.fusion.rules import Rules


@dataclass
class Line:
    """A billed line, and what fusion expects of (or measured for) its item."""

    id: int
    product: Product
    code: str
    t_ms: int
    expect_g: float  # expected gross weight on the scale
    expect_sigma: float
    weight_g: float | None = None  # billed net weight (by-weight lines)
    price_minor: int | None = None
    placed: bool = False
    measured_g: float | None = None
    deadline_ms: int | None = None
    flag_id: int | None = None  # its place_scanned alert
    measured_alone: bool = False  # measured_g is this item's own weight change
    readd_ms: int | None = None  # re-billed without a scan as an item put back, at this time


@dataclass
class Placement:
    """A settled rise, and the camera's verdict on it."""

    id: int
    t_ms: int
    grams: float
    verdict: tuple[tuple[str, float], ...] | None = None
    line_ids: list[int] = field(default_factory=list)
    flag_id: int | None = None
    recheck: bool = False
    recheck_ms: int = 0
    views: int = 1
    noise: float = 0.0  # the scale's error sigma when it settled (0: not known)
    settled_ms: int | None = None  # when its reading settled (None: t_ms; a held change: its own)
    choices: list[int] = field(default_factory=list)  # pending scans it was chosen from, unseen


@dataclass
class Undo:
    """What the last weight drop was taken to be, in case the weight comes straight back (a
    push that shifted the load for a moment, an item lifted and put down again)."""

    t_ms: int
    before_g: float  # the settled weight before the drop
    lines: list = field(default_factory=list)  # billed lines taken out
    tare: list = field(default_factory=list)  # personal items taken out
    reopen: Flag | None = None  # an unexplained removal taken as put back (a rise)
    reopen_grams: float = 0.0


@dataclass
class Deferred:
    """A light change the camera did not see, held a moment: a push that shifts the load
    settles back within a few seconds, and then nothing happened. ``shift``: lighter than
    anything sold and expected by nothing, so a load shift unless the camera, whose verdict
    follows the settle, sees an item go in with it."""

    ev: WeightSettled  # the settled change held
    t_ms: int
    before_g: float
    noise: float
    shift: bool = False


@dataclass
class HeldDrop:
    """A drop several billed products fit, not yet asked about (``which_removed_hold_ms``):
    the item may come straight back. Every line stays billed while it waits."""

    t_ms: int
    grams: float  # the drop
    before_g: float  # the settled weight before it
    left_g: float  # the settled weight it left
    noise: float
    line_ids: tuple[int, ...]  # the lines that fit it
    asked: int | None = None  # its which_removed question, once the hold ran out


@dataclass
class PendingProduce:
    """Produce chosen before it is placed."""

    product: Product
    code: str
    bagged: bool
    t_ms: int


@dataclass
class Question:
    """An open alert and what fusion needs to answer it."""

    flag: Flag
    placement: Placement | None = None
    product: Product | None = None
    count: int = 0  # quantity: how many still unbilled
    answered: int = 0  # quantity: how many the shopper scanned since it was asked
    deadline_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FusionLine:
    """One of fusion's lines in ``FusionState`` (the screen's row is ``cart.app.view.LineView``)."""

    id: int
    product_id: str
    name: str
    code: str
    weight_g: float | None
    price_minor: int | None
    placed: bool


@dataclass(frozen=True, slots=True)
class FusionState:
    """What the screen shows from fusion: an immutable snapshot."""

    lines: tuple[FusionLine, ...]
    flags: tuple[Flag, ...]
    tare_g: float
    settled_g: float
    staff: str | None
    checked_out: bool


class State:
    """Everything the reconciler knows between inputs (see the module docstring)."""

    rules: Rules  # the rule chains, set by the reconciler

    def __init__(
        self, catalogue: ProductSource, cfg: FusionConfig, weights: WeightModel, staff: StaffGate
    ) -> None:
        self.catalogue = catalogue
        self.weights = weights
        self.staff = staff
        self.match = settings_from(MatchSettings, cfg)
        self.camera = settings_from(CameraSettings, cfg)
        n_labels = max(10, len({p.label for p in catalogue.products() if p.label}))
        self.facts = ev.ProductFacts(catalogue.by_label, self.sigma, n_labels)
        self.lines: dict[int, Line] = {}
        self.questions: dict[int, Question] = {}  # open alerts by id
        # a question asked again under a new id (reworded, grown, or the placement it is
        # about explained afresh): old id -> new id, so an answer to the old one reaches it
        self.successor: dict[int, int] = {}
        self.placements: dict[int, Placement] = {}  # unexplained (flagged) placements
        self.tare: list[float] = []
        self.taken_out: list[tuple[int, Line]] = []  # (t removed, line) for re-adds
        self.expected_out: list[tuple[Line, int]] = []  # (line deleted on screen, deadline)
        self.pending_produce: list[PendingProduce] = []
        self.settled = 0.0
        self.accounted = 0.0  # settled weight everything so far accounts for
        self.shifted_from: float | None = None  # weight before a small unexplained shift
        self.last_verdict: tuple[int, tuple[tuple[str, float], ...]] | None = None
        self.last_placement: Placement | None = None
        self.last_unexplained: tuple[int, float] | None = None  # (alert, weight before it)
        self.last_scanned: Line | None = None
        self.undo: Undo | None = None
        # an item put back that settled short of where it was: (when, grams still to come)
        self.undo_rest: tuple[int, float] | None = None
        self.deferred: Deferred | None = None
        self.held_drop: HeldDrop | None = None
        self.moving = False  # the platform moved since the last settle (a new action began)
        self.next_line = 1
        self.next_flag = 1
        self.next_place = 1
        self.t = 0
        self.checked_out = False
        self.flags_raised = 0

    # ---- views ------------------------------------------------------------------------------

    def snapshot(self) -> FusionState:
        return FusionState(
            lines=tuple(
                FusionLine(
                    ln.id,
                    ln.product.id,
                    ln.product.name,
                    ln.code,
                    ln.weight_g,
                    ln.price_minor,
                    ln.placed,
                )
                for ln in self.lines.values()
            ),
            flags=tuple(o.flag for o in self.questions.values()),
            tare_g=sum(self.tare),
            settled_g=self.settled,
            staff=self.staff.current(self.t),
            checked_out=self.checked_out,
        )

    def open_of(self, *kinds: AlertKind) -> list[tuple[int, Question]]:
        """The open questions of these kinds, oldest first (a copy: safe to resolve in a loop)."""
        return [(fid, o) for fid, o in self.questions.items() if o.flag.kind in kinds]

    def flag_line(self, o: Question) -> Line | None:
        """The line an alert is about: its own, or the one that replaced it when the bag
        settled and the produce was re-weighed (the alert keeps the first line's id)."""
        ln = self.lines.get(o.flag.line_id) if o.flag.line_id is not None else None
        if ln is None and o.placement is not None and len(o.placement.line_ids) == 1:
            ln = self.lines.get(o.placement.line_ids[0])
        return ln

    # ---- evidence, bound to this cart -------------------------------------------------------

    def sigma(self, p: Product) -> tuple[float, float]:
        """The learned weight of ``p``: (mean, σ)."""
        e = self.weights.estimate(p)
        return e.mean_g, e.sigma_g

    def tol(self, var: float, noise: float) -> float:
        return ev.tolerance(var, noise, self.match)

    def posterior(
        self,
        p: Product,
        grams: float | None,
        top,
        *,
        dearer_only: bool = True,
        prior: float | None = None,
        count: int = 1,
    ) -> float | None:
        return ev.posterior(
            p,
            grams,
            top,
            self.facts,
            self.camera,
            dearer_only=dearer_only,
            prior=prior,
            count=count,
        )

    def best_subset(
        self, r: float, items: list[ev.Expected], noise: float, max_subset: int, *, top=None
    ) -> list | None:
        return ev.best_subset(
            r,
            items,
            noise,
            self.match,
            max_subset=max_subset,
            now=self.t,
            top=top,
            n_labels=self.facts.n_labels,
        )

    def verdict_near(self, t: int, settle_ms: int, before_ms: int) -> bool:
        """A camera verdict came while this change happened (up to ``before_ms`` before it)."""
        v = self.last_verdict
        return v is not None and t - settle_ms - before_ms <= v[0] <= t

    def sighting_near(self, t: int, settle_ms: int, before_ms: int) -> bool:
        """``verdict_near``, unless that verdict only sees again the item last put in
        (``seen_again``)."""
        v = self.last_verdict
        return self.verdict_near(t, settle_ms, before_ms) and not (
            v is not None and self.seen_again(v[1])
        )

    def seen_again(self, top) -> bool:
        """The verdict ``top`` is the camera seeing again the item last put in (its placement
        explained and judged, the verdict's best label that item's): the basket camera reads
        what lies on top again when its picture comes to rest after a push, and that is no
        light item going in."""
        pl = self.last_placement
        if pl is None or pl.verdict is None or not pl.line_ids or not top:
            return False
        return top[0][0] in {self.lines[i].product.label for i in pl.line_ids if i in self.lines}

    def take_verdict(self, t: int, settle_ms: int, before_ms: int):
        """The verdict that belongs to a change settled at ``t`` (consumed), or None."""
        v = self.last_verdict
        if v is not None and self.verdict_near(t, settle_ms, before_ms):
            self.last_verdict = None
            return v[1]
        return None

    # ---- edits ------------------------------------------------------------------------------

    def add_line(
        self,
        out: list[Effect],
        t: int,
        p: Product,
        code: str,
        *,
        weight_g=None,
        price_minor=None,
        placed=False,
        measured=None,
        expect=None,
        deadline=None,
        alone: bool = True,
    ) -> Line:
        if expect is None:
            expect = (measured or 0.0, 2.0) if p.by_weight else self.sigma(p)
        ln = Line(
            self.next_line,
            p,
            code,
            t,
            expect[0],
            expect[1],
            weight_g=weight_g,
            price_minor=price_minor,
            placed=placed,
            measured_g=measured,
            deadline_ms=deadline,
            measured_alone=placed and measured is not None and alone,
        )
        self.next_line += 1
        self.lines[ln.id] = ln
        self.last_scanned = ln
        out.append(LineAdded(t, ln.id, p.id, code, p.name, weight_g, price_minor))
        return ln

    def raise_flag(
        self,
        out: list[Effect],
        t: int,
        kind: AlertKind,
        message: str,
        *,
        line_id=None,
        grams=None,
        candidates=(),
        needs_staff=False,
    ) -> Flag:
        f = Flag(
            self.next_flag,
            kind,
            t,
            message,
            KINDS[kind],
            line_id=line_id,
            grams=None if grams is None else round(grams, 1),
            candidates=candidates,
            needs_staff=needs_staff,
        )
        self.next_flag += 1
        self.flags_raised += 1
        self.questions[f.id] = Question(f)
        out.append(FlagRaised(t, f))
        return f

    def ask(
        self,
        out: list[Effect],
        t: int,
        kind: AlertKind,
        message: str,
        *,
        placement: Placement | None = None,
        product: Product | None = None,
        **kw,
    ) -> Question:
        """Raise an alert about ``placement`` / ``product``; returns its open question."""
        f = self.raise_flag(out, t, kind, message, **kw)
        o = self.questions[f.id]
        o.placement, o.product = placement, product
        return o

    def replace_flag(
        self,
        out: list[Effect],
        t: int,
        fid: int,
        *,
        message=None,
        grams=None,
        needs_staff=None,
        line_id: int | None = None,
    ) -> None:
        """Change an open alert (re-raised under a new id so the journal shows both);
        ``line_id``: the line it is now about (a re-weighed line)."""
        o = self.questions.get(fid)
        if o is None:
            return
        old = o.flag
        self.resolve(out, t, fid, "updated", "cart")
        f = self.raise_flag(
            out,
            t,
            old.kind,
            message or old.message,
            line_id=old.line_id if line_id is None else line_id,
            grams=grams if grams is not None else old.grams,
            candidates=old.candidates,
            needs_staff=old.needs_staff if needs_staff is None else needs_staff,
        )
        self.flags_raised -= 1  # the same question, not a new one
        self.successor[fid] = f.id
        n = self.questions[f.id]
        n.placement, n.product, n.count = o.placement, o.product, o.count
        n.answered = o.answered
        if o.placement is not None and o.placement.flag_id == fid:
            o.placement.flag_id = f.id

    def current_id(self, fid: int) -> int:
        """The open question ``fid`` is now: itself, or the question it was asked again as
        (``successor``; ``fid`` when that is closed too)."""
        seen = fid
        for _ in range(64):  # a chain of re-asks; bounded
            if seen in self.questions or seen not in self.successor:
                break
            seen = self.successor[seen]
        return seen if seen in self.questions else fid

    def resolve(self, out: list[Effect], t: int, fid, resolution: str, by: str) -> None:
        o = self.questions.pop(fid, None)
        if o is not None:
            out.append(FlagResolved(t, fid, o.flag.kind, resolution, by))

    def flag_place_scanned(self, ln: Line, t: int, out: list[Effect]) -> None:
        f = self.raise_flag(
            out,
            t,
            AlertKind.PLACE_SCANNED,
            Phrase("Put the scanned {name} in the cart, or cancel the scan", name=ln.product.name),
            line_id=ln.id,
        )
        ln.flag_id = f.id

    def mark_placed(
        self, ln: Line, t: int, out: list[Effect], measured: float, alone: bool = False
    ) -> None:
        ln.placed = True
        ln.measured_g = measured
        ln.measured_alone = alone
        if ln.flag_id is not None and ln.flag_id in self.questions:
            self.resolve(out, t, ln.flag_id, "placed", "cart")
        ln.flag_id = None

    def take_out(self, ln: Line, t: int, out: list[Effect], reason: str) -> None:
        del self.lines[ln.id]
        self.taken_out.append((t, ln))
        out.append(LineRemoved(t, ln.id, reason))
        self.resolve_line_flags(ln, t, out, "item left")

    def resolve_line_flags(self, ln: Line, t: int, out: list[Effect], why: str) -> None:
        for fid, o in self.open_of(
            AlertKind.PLACE_SCANNED,
            AlertKind.LOOKS_DIFFERENT,
            AlertKind.EXPIRED,
            AlertKind.LABEL_WEIGHT,
        ):
            if o.flag.line_id == ln.id or self.flag_line(o) is ln:
                self.resolve(out, t, fid, why, "cart")

    def unwait(self, ln: Line, t: int, place_timeout_ms: int) -> None:
        """A line taken for placed was not: it waits for its item again."""
        ln.placed, ln.measured_g = False, None
        ln.deadline_ms = t + place_timeout_ms
