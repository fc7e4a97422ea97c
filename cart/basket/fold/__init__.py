"""The basket: typed basket events and the fold that applies them.

A basket is a fold over its events. :class:`Basket` validates an event against the current
state (:meth:`Basket.check`, raising :class:`BasketError` with the reason) before anything is
journaled, then applies it. :meth:`Basket.snapshot` gives an immutable :class:`BasketSnapshot`
(priced lines, totals, open flags), cached until the next change.

Event rows are ``(t_ms, kind, payload)``. Basket kinds have no dot (``add_line``); kinds with a
dot (``fusion.scan``, ``staff.login``) belong to other subsystems that share the journal and
fold them themselves: the basket ignores them.

Pure: no clock, no I/O. Time is the ``t_ms`` each event carries.
"""

from cart.basket.fold.basket import Basket
from cart.basket.fold.checks import FLAG_BY, MAX_GRAMS, MAX_QTY
from cart.basket.fold.events import (
    EVENT_TYPES,
    AddLine,
    ApplyCoupon,
    BasketError,
    BasketEvent,
    CancelSession,
    CheckOut,
    OpenSession,
    RaiseFlag,
    RemoveCoupon,
    RemoveLine,
    ResolveFlag,
    SetLoyalty,
    SetQuantity,
    WeighProduce,
    event_from_row,
    is_basket_kind,
    scan_event,
)
from cart.basket.fold.state import BasketFlag, BasketSnapshot

__all__ = [
    "FLAG_BY",
    "MAX_GRAMS",
    "MAX_QTY",
    "EVENT_TYPES",
    "AddLine",
    "ApplyCoupon",
    "Basket",
    "BasketError",
    "BasketEvent",
    "BasketFlag",
    "BasketSnapshot",
    "CancelSession",
    "CheckOut",
    "OpenSession",
    "RaiseFlag",
    "RemoveCoupon",
    "RemoveLine",
    "ResolveFlag",
    "SetLoyalty",
    "SetQuantity",
    "WeighProduce",
    "event_from_row",
    "is_basket_kind",
    "scan_event",
]
