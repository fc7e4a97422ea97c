"""What the shopper and the staff tell the cart through the screen.

These are the only inputs the screen sends to fusion. Each is immutable, carries ``t_ms`` from
the injected clock like the device events in ``cart.common.events``, and names the alert it
answers by ``flag_id`` where it answers one. Fusion validates every action against its state (an
unknown
flag, a picker choice that was not offered, a staff action without a staff login are refused
with a ``Notice``, never applied), so a screen bug cannot corrupt the basket.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---- shopper ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnterCode:
    """A code typed on the keypad (a PLU, or the digits under a barcode that will not scan).

    Handled exactly like a scan whose source is ``"keypad"``.
    """

    t_ms: int
    code: str


@dataclass(frozen=True, slots=True)
class SelectProduce:
    """Produce chosen for a weighing question (PLU keypad, name search, or the camera's top 3).

    ``flag_id`` is the ``weigh_produce`` (or ``scan_added``) alert it answers; ``None`` chooses the
    produce *before* placing it, and the next placement is weighed as that produce. ``bagged``:
    the produce is in one of the store's bags, whose tare (from the catalogue) is subtracted.
    """

    t_ms: int
    flag_id: int | None
    code: str
    bagged: bool = False


@dataclass(frozen=True, slots=True)
class PickRemoved:
    """Answer to "which item did you take out?": one of the offered ``line_id``s, or ``None``
    for "my own bag / item" when the picker offered it (key ``"personal"``)."""

    t_ms: int
    flag_id: int
    line_id: int | None


@dataclass(frozen=True, slots=True)
class NothingTakenOut:
    """Answer to "which item did you take out?": nothing (the load shifted), when the picker
    offered it (key ``"nothing"``). Every line stays billed."""

    t_ms: int
    flag_id: int


@dataclass(frozen=True, slots=True)
class CancelScan:
    """Answer to "put the scanned item in the cart": "I don't want it / I scanned it twice".

    The scanned line leaves the bill. Only lines whose item never reached the scale qualify.
    """

    t_ms: int
    flag_id: int


@dataclass(frozen=True, slots=True)
class ConfirmQuantity:
    """Answer to "looks like N × <product>": yes, N of them (bills the missing ones).

    ``quantity`` corrects N when the shopper counts differently; it is accepted only when that
    many fit the weight on the scale (otherwise refused: scan each one, or staff).
    """

    t_ms: int
    flag_id: int
    quantity: int | None = None


@dataclass(frozen=True, slots=True)
class DeclarePersonal:
    """Answer to "scan the item you just added": it is my own bag / item. Its weight becomes tare.

    Refused (the alert stays, staff can decide) when it is heavier than the store's limit for
    personal items or when the camera saw a product the store sells.
    """

    t_ms: int
    flag_id: int


@dataclass(frozen=True, slots=True)
class RemoveLine:
    """The shopper deletes a line on the screen and will take that item out of the cart."""

    t_ms: int
    line_id: int


@dataclass(frozen=True, slots=True)
class ShowAgain:
    """Answer to "this does not look like <product>": the shopper lifts the item and puts it back
    in view; the next camera verdict for that placement is judged again."""

    t_ms: int
    flag_id: int


@dataclass(frozen=True, slots=True)
class CallStaff:
    """The shopper asks for help (optionally about one alert). Recorded; staff then log in."""

    t_ms: int
    flag_id: int | None = None


@dataclass(frozen=True, slots=True)
class Checkout:
    """Pay. Refused while any alert is open or any scanned item has not reached the cart."""

    t_ms: int


# ---- staff ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaffLogin:
    """Staff mode. The PIN is checked against the store's salted hash and never journaled."""

    t_ms: int
    staff_id: str
    pin: str


@dataclass(frozen=True, slots=True)
class ReplayedStaffLogin:
    """A staff login read back from the journal: its outcome, never its PIN."""

    t_ms: int
    staff_id: str
    replay: str  # "ok" | "wrong" | "locked"
    pin: str = ""


@dataclass(frozen=True, slots=True)
class StaffLogout:
    t_ms: int


STAFF_RESOLUTIONS = ("approve", "dismiss", "remove_line", "add_product")


@dataclass(frozen=True, slots=True)
class StaffResolve:
    """Staff close one alert, with an audit note.

    ``resolution``:
      - ``"approve"``: the basket is right as it is (an age check passed, a look-alike confirmed);
      - ``"dismiss"``: nothing to bill (a false weight change, a personal item);
      - ``"remove_line"``: take ``line_id`` off the bill (it is not in the cart);
      - ``"add_product"``: bill ``code`` (× ``quantity``) for what is in the cart.
    """

    t_ms: int
    flag_id: int
    resolution: str
    line_id: int | None = None
    code: str | None = None
    quantity: int = 1
    note: str = ""


ShopperAction = (
    EnterCode
    | SelectProduce
    | PickRemoved
    | NothingTakenOut
    | CancelScan
    | ConfirmQuantity
    | DeclarePersonal
    | RemoveLine
    | ShowAgain
    | CallStaff
    | Checkout
)
StaffAction = StaffLogin | StaffLogout | StaffResolve
Action = ShopperAction | StaffAction
