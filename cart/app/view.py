"""The screen's view model: immutable snapshots of everything the screen shows.

The runtime builds a :class:`CartView` after every change (from the core's basket snapshot, the
fusion's open questions and the devices' status) and hands it to the screen, which only renders
it. Nothing here is mutable and nothing here holds domain logic; money is integer minor units
and weights are grams, formatted only for display.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cart.common.i18n import DEFAULT_LANGUAGE
from cart.common.money import Money, format_fixed


def format_grams(grams: float) -> str:
    """Weights under a kilogram in grams, above it in kilograms (3 decimals), written as the
    current language writes numbers (``1,234 kg`` in Swedish)."""
    if abs(grams) < 1000:
        return f"{format_fixed(round(grams), 0)} g"
    return format_kg(grams)


def format_kg(grams: float) -> str:
    """A weight in kilograms, 3 decimals: ``412`` → ``0.412 kg`` (``0,412 kg`` in Swedish)."""
    return f"{format_fixed(round(grams), 3)} kg"


@dataclass(frozen=True, slots=True)
class LineView:
    """One basket line as shown. ``line_id`` is fusion's line id (an integer; the screen may
    format it, never parse it)."""

    line_id: int
    name: str  # from the catalogue: shown literally
    quantity: str  # "2" or "0.412 kg"
    unit_price: int  # minor units, per item or per kg
    per_kg: bool
    total: int  # minor units, before savings
    savings: int = 0  # minor units, positive
    flagged: bool = False  # an open question concerns this line
    note: str = ""  # "age check", promotion name, ... (shown literally)
    # the basket lines this row shows (several when identical items are shown as one row with
    # their quantity: see :func:`group_lines`); empty means just ``line_id``
    line_ids: tuple[int, ...] = ()

    @property
    def ids(self) -> tuple[int, ...]:
        """Every basket line this row stands for, oldest first."""
        return self.line_ids or (self.line_id,)


def group_lines(lines: tuple[LineView, ...]) -> tuple[LineView, ...]:
    """Identical items on one row with their quantity: two scans of the same milk are two basket
    lines (and stay two in the journal), shown as one row "2". Lines sold per item with the same
    name and unit price are one row, where the first of them was, with the quantities, totals
    and savings added and flagged when any of them is; its ``line_id`` is the newest line (the
    one a removal takes first) and ``line_ids`` all of them. Lines by weight stay rows of their
    own. Pure, and returns ``lines`` itself when nothing is grouped."""
    groups: dict[tuple, list[LineView]] = {}
    order: list[object] = []
    for ln in lines:
        if ln.per_kg or not ln.quantity.isdigit():
            order.append(ln)
            continue
        key = (ln.name, ln.unit_price)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(ln)
    if all(len(g) == 1 for g in groups.values()):
        return lines
    out = []
    for entry in order:
        if isinstance(entry, LineView):
            out.append(entry)
            continue
        group = groups[entry]
        if len(group) == 1:
            out.append(group[0])
            continue
        notes = dict.fromkeys(ln.note for ln in group if ln.note)
        out.append(
            LineView(
                group[-1].line_id,
                group[0].name,
                str(sum(int(ln.quantity) for ln in group)),
                group[0].unit_price,
                False,
                sum(ln.total for ln in group),
                sum(ln.savings for ln in group),
                any(ln.flagged for ln in group),
                " · ".join(notes),
                tuple(i for ln in group for i in ln.ids),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int = 0
    savings: int = 0
    tax: int = 0
    total: int = 0
    tax_included: bool = True


@dataclass(frozen=True, slots=True)
class ScaleView:
    """The live scale reading; ``grams`` is None until the scale has reported."""

    grams: float | None = None
    stable: bool = True


@dataclass(frozen=True, slots=True)
class DeviceView:
    name: str  # "scale", "scanner:hand", "camera:basket"
    state: str  # "connected" | "reconnecting" | "disconnected" | "error"
    detail: str = ""
    counters: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer to a question: ``key`` goes back to the runtime, ``label`` is shown."""

    key: str
    label: str
    detail: str = ""


# Answers that are not products (the produce screen sends these back as answers, not produce).
ANSWER_KEYS = frozenset({"personal", "nothing", "cancel", "confirm", "show_again", "staff"})


@dataclass(frozen=True, slots=True)
class AlertView:
    """An open question for the shopper (or for staff) with the one action it needs.

    ``kind`` is one of fusion's alert kinds (``cart.fusion.alerts.KINDS``: ``place_scanned``,
    ``scan_added``, ``which_removed`` — a picker whose ``choices`` are the candidate lines —
    ``looks_different``, ``weigh_produce`` — ``choices`` are the classifier's suggestions —
    ``age_check`` and the rest); a kind the screen does not know is shown with its message and
    action. ``alert_id`` is fusion's ``Flag.id``.
    """

    alert_id: int
    kind: str
    message: str
    action: str
    choices: tuple[Choice, ...] = ()
    staff_only: bool = False


@dataclass(frozen=True, slots=True)
class Receipt:
    """A finished trip: the receipt text and the code the exit gate scans."""

    session_id: str
    text: str
    exit_code: str


@dataclass(frozen=True, slots=True)
class CartView:
    """Everything on the screen, at one instant. ``seq`` is the number of inputs processed."""

    seq: int = 0
    store: str = "Smart cart"
    money: Money = field(default_factory=Money)
    lines: tuple[LineView, ...] = ()
    totals: Totals = field(default_factory=Totals)
    scale: ScaleView = field(default_factory=ScaleView)
    devices: tuple[DeviceView, ...] = ()
    alerts: tuple[AlertView, ...] = ()
    coupons: tuple[str, ...] = ()
    staff: bool = False
    message: str = ""  # last notice for the shopper ("Unknown barcode: ...")
    receipt: Receipt | None = None
    suggestions: tuple[Choice, ...] = ()  # produce the camera saw last (classifier's top 3)
    language: str = DEFAULT_LANGUAGE  # the language every text above is in (cart.common.i18n)
    refusals: int = 0  # inputs refused (and errors) so far: a rise sounds the refused cue

    @property
    def item_count(self) -> int:
        return len(self.lines)

    @property
    def rows(self) -> tuple[LineView, ...]:
        """The lines as the screen shows them: identical items on one row (:func:`group_lines`)."""
        return group_lines(self.lines)
