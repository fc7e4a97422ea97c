"""Play shopping trips against the cart in simulated time, and score them against the truth.

``TripRunner`` takes a ``Trip`` (``cart.sim.shopper``), turns each shopper step into device
events through a ``Rig`` (scanner bytes through the real scanner parser, scale events, camera
verdicts), feeds them with the shopper's and staff's answers to a ``Reconciler`` in time order,
and returns a ``TripResult``: the bill against the truth, the alerts, whether staff was needed,
and whether a cheat got through. No threads, no sleeps: simulated time jumps from one step to
the next.

Bill truth. Items sold each must be billed exactly (to the cent). A by-weight line is right
when its billed net weight is within the maximum permissible error of a class III retail scale
in service (OIML R 76, Max 15 kg, e = 5 g: ±5 g up to 2.5 kg, ±10 g up to 10 kg): the truth of a
weighed item is itself a reading on a legal scale, so the cart may not do worse than one.
Per-kg prices are rounded half up to the minor unit (as core's pricing does).
"""

from cart.sim.trips.answers import STAFF_ID, STAFF_PIN
from cart.sim.trips.play import TripRunner, _Play
from cart.sim.trips.rig import Rig
from cart.sim.trips.scales import T0, BridgeScale, ModelledScale, calibrate_scale
from cart.sim.trips.scoring import TripResult, line_price, mpe_g
from cart.sim.trips.vision import ModelledVision, NoVision, PerfectVision, scenario_vision

__all__ = [
    "STAFF_ID",
    "STAFF_PIN",
    "T0",
    "BridgeScale",
    "ModelledScale",
    "ModelledVision",
    "NoVision",
    "PerfectVision",
    "Rig",
    "TripResult",
    "TripRunner",
    "_Play",
    "calibrate_scale",
    "line_price",
    "mpe_g",
    "scenario_vision",
]
