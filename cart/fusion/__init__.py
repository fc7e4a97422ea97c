"""Fusion: scans, weights and camera verdicts reconciled into an exact basket.

- ``cart.fusion.actions``: what the screen sends (shopper and staff actions);
- ``cart.fusion.alerts``: the alerts (``Flag``) fusion raises and the effects it emits;
- ``cart.fusion.reconciler``: the pure state machine (``Reconciler``), which only dispatches:
  its decisions are the named, ordered rules of ``cart.fusion.rules``, over the state in
  ``cart.fusion.state``, with the evidence maths in ``cart.fusion.evidence`` and the settings
  in ``cart.fusion.config`` (``FusionConfig``);
- ``cart.fusion.learning``: per-product weight learning; ``cart.fusion.staff``: staff PINs.
"""

from cart.fusion.alerts import KINDS, AlertKind, Flag
from cart.fusion.config import FusionConfig
from cart.fusion.products import Lookup, Product, SimpleCatalogue
from cart.fusion.reconciler import Reconciler
from cart.fusion.state import FusionState

__all__ = [
    "KINDS",
    "AlertKind",
    "Flag",
    "FusionConfig",
    "FusionState",
    "Lookup",
    "Product",
    "Reconciler",
    "SimpleCatalogue",
]
