"""Simulated scale, the physics: a model of the basket on four load cells, in simulated time.

Figures and their sources are in docs/SCALE.md. The model generates samples in numpy blocks for
any time span asked for, and is cheap to fast-forward while the basket is at rest
(``BasketModel.quiet``). The bridge that speaks the wire protocol over it is
``cart.sim.scale_bridge``; the whole simulated scale is ``cart.sim.scale``.

Coordinates: an item's position is (x, y) on the basket floor, each 0..1; x from left to right,
y from front (handle side) to rear. Cells: 0 front-left, 1 front-right, 2 rear-left,
3 rear-right. Forces are grams-force.
"""

from cart.sim.scale_model.basket import BasketModel, Placement, shares
from cart.sim.scale_model.config import FULL_SCALE_COUNTS, PROFILES, G, ScaleSimConfig, config_for
from cart.sim.scale_model.physics import TripPhysics, random_physics

__all__ = [
    "FULL_SCALE_COUNTS",
    "PROFILES",
    "BasketModel",
    "G",
    "Placement",
    "ScaleSimConfig",
    "TripPhysics",
    "config_for",
    "random_physics",
    "shares",
]
