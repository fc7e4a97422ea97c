"""Alerts (flags) fusion raises, and the effects it emits.

An alert is a question to the shopper with one action (or a call for staff). Its ``kind`` is
an ``AlertKind`` (the keys of ``KINDS``); ``message`` is plain text (never markup) naming the
product as the catalogue spells it; ``action`` says what the screen offers. Both are English,
whatever language the screen speaks: a message is a ``cart.common.i18n.Phrase`` (the English
text, keeping its msgid and parameters) and an action one of the msgids below, so the journal
and every replay stay language-neutral; the app layer says them in the shopper's language
(``cart.common.i18n.say``). The screen shows
``Flag`` objects from ``FusionState.flags`` and answers with the actions in
``cart.fusion.actions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cart.common.i18n import N_


class AlertKind(StrEnum):
    """What an alert asks. A ``StrEnum``: each kind is its own string value, so journal payloads
    and comparisons with plain strings (a replayed journal, the screen) are unchanged; its
    ``repr`` is the value's too, so printed effects read as they did with plain strings."""

    PLACE_SCANNED = "place_scanned"
    SCAN_ADDED = "scan_added"
    WHICH_REMOVED = "which_removed"
    UNEXPLAINED_REMOVAL = "unexplained_removal"
    LOOKS_DIFFERENT = "looks_different"
    WEIGH_PRODUCE = "weigh_produce"
    QUANTITY = "quantity"
    TAKE_OUT = "take_out"
    AGE_CHECK = "age_check"
    RECOVERY_CHECK = "recovery_check"
    EXPIRED = "expired"
    LABEL_WEIGHT = "label_weight"

    def __repr__(self) -> str:
        return repr(self.value)

    @property
    def action(self) -> str:
        """The action the screen offers for this kind."""
        return KINDS[self]


# kind -> the action the screen offers (which shopper/staff actions answer it)
KINDS: dict[str, str] = {
    AlertKind.PLACE_SCANNED: N_("Put the scanned item in the cart (or cancel the scan)"),
    AlertKind.SCAN_ADDED: N_("Scan the item you just added (or declare it your own)"),
    AlertKind.WHICH_REMOVED: N_("Which item did you take out? (pick one)"),
    AlertKind.UNEXPLAINED_REMOVAL: N_("Put back what you took out (or call staff)"),
    AlertKind.LOOKS_DIFFERENT: N_("Show the item again, or scan the right item"),
    AlertKind.WEIGH_PRODUCE: N_("Choose the produce (PLU, name search or suggestions)"),
    AlertKind.QUANTITY: N_("Confirm the quantity, or scan each item"),
    AlertKind.TAKE_OUT: N_(
        "Take the item you removed from the list out of the cart (or scan it again)"
    ),
    AlertKind.AGE_CHECK: N_("Staff will check your age"),
    AlertKind.RECOVERY_CHECK: N_("Staff will check the basket against the cart"),
    AlertKind.EXPIRED: N_("Staff will check the date (approve the sale, or remove the item)"),
    AlertKind.LABEL_WEIGHT: N_("Staff will check the label against the item"),
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One choice offered by an alert: a basket line (picker) or a product (suggestions)."""

    key: str  # "line:<id>" or product code
    name: str
    score: float = 0.0  # classifier probability for suggestions, 0 otherwise


@dataclass(frozen=True, slots=True)
class Flag:
    id: int
    kind: AlertKind  # a plain string of the same value when read back from a journal
    t_ms: int
    message: str
    action: str
    line_id: int | None = None
    grams: float | None = None
    candidates: tuple[Candidate, ...] = ()
    needs_staff: bool = False

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "t_ms": self.t_ms,
            "message": self.message,
            "action": self.action,
            "line_id": self.line_id,
            "grams": self.grams,
            "candidates": [[c.key, c.name, c.score] for c in self.candidates],
            "needs_staff": self.needs_staff,
        }


# ---- effects: what fusion asks the basket / journal / screen to do -------------------------


@dataclass(frozen=True, slots=True)
class LineAdded:
    t_ms: int
    line_id: int
    product_id: str
    code: str
    name: str
    weight_g: float | None = None  # by-weight lines: the net weight billed
    price_minor: int | None = None  # a price carried by the code itself
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class LineRemoved:
    t_ms: int
    line_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class FlagRaised:
    t_ms: int
    flag: Flag


@dataclass(frozen=True, slots=True)
class FlagResolved:
    t_ms: int
    flag_id: int
    kind: AlertKind
    resolution: str
    by: str  # "cart" (evidence resolved it), "shopper", or "staff:<id>"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell the shopper that needs no answer (unknown code, refused action)."""

    t_ms: int
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Audit:
    """A fact for the journal (namespaced ``fusion.*``): staff actions, logins, refusals."""

    t_ms: int
    kind: str
    data: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True, slots=True)
class CheckedOut:
    t_ms: int


Effect = LineAdded | LineRemoved | FlagRaised | FlagResolved | Notice | Audit | CheckedOut
