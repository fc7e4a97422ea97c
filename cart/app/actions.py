"""What the screen asks of the runtime: shopper and staff actions, as immutable values.

The screen never changes the basket itself: it submits one of these and waits for the next
snapshot. The runtime turns them into fusion calls (journaled before they are shown).
These carry no time and name alerts and lines by the view's ids; fusion's own inputs, stamped
with ``t_ms`` and journaled by class name, are ``cart.fusion.actions`` (hence the distinct
names: ``EnterStaffPin`` here becomes fusion's ``StaffLogin``, ``Pay`` its ``Checkout``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer an open question with one of its choices (e.g. the line that was taken out)."""

    alert_id: int
    choice: str


@dataclass(frozen=True, slots=True)
class AddProduce:
    """Add a product chosen on the screen (PLU keypad, name search or classifier suggestion).

    ``code`` is the product's PLU (or GTIN) as :meth:`search_products` offered it; ``alert_id``
    is the produce question it answers, None before placing. The weight is the scale's settled
    change, which fusion knows. ``bagged``: the produce is in one of the store's bags, whose
    tare (the catalogue's ``tare_g``) is taken off; None means the store's default, in a bag
    (loose produce goes into the store's bags, and taking off a bag that is not there costs
    the shopper nothing, while billing a bag's weight would overcharge them).
    """

    code: str
    alert_id: int | None = None
    bagged: bool | None = None


@dataclass(frozen=True, slots=True)
class EnterCoupon:
    code: str


@dataclass(frozen=True, slots=True)
class EnterStaffPin:
    """The PIN goes to the engine and nowhere else (never journaled, never shown)."""

    pin: str
    staff_id: str = ""


@dataclass(frozen=True, slots=True)
class LeaveStaffMode:
    pass


@dataclass(frozen=True, slots=True)
class ResolveAlert:
    """Staff close an open question (approve an age check, accept a flag)."""

    alert_id: int
    resolution: str = "approve"


@dataclass(frozen=True, slots=True)
class StaffRemoveLine:
    line_id: int


@dataclass(frozen=True, slots=True)
class Pay:
    pass


@dataclass(frozen=True, slots=True)
class NewTrip:
    """After check-out: the next shopper's trip (refused until the cart is empty)."""


@dataclass(frozen=True, slots=True)
class ToggleLanguage:
    """The shopper's one touch on the language button: the screen speaks the next language
    (``cart.common.i18n.next_language``) from the next snapshot on. Not a basket change: the
    runtime handles it and nothing is journaled."""


@dataclass(frozen=True, slots=True)
class SetLanguage:
    """Speak ``code`` (``"sv"``, ``"en"``) from the next snapshot on (a shopper's card, a test)."""

    code: str


LANGUAGE_ACTIONS = (ToggleLanguage, SetLanguage)

ScreenAction = (
    Answer
    | AddProduce
    | EnterCoupon
    | EnterStaffPin
    | LeaveStaffMode
    | ResolveAlert
    | StaffRemoveLine
    | Pay
    | NewTrip
    | ToggleLanguage
    | SetLanguage
)
