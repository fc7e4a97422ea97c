"""One trip's scale and basket drawn from wide ranges (``random_physics``): physics the fusion
was not written against."""

from __future__ import annotations

from dataclasses import dataclass, field

from cart.sim.scale_model.config import ScaleSimConfig, config_for


@dataclass(frozen=True)
class TripPhysics:
    """One trip's scale and basket, drawn by :func:`random_physics`: the physical figures
    (``config``) and the shopper's ways of disturbing the basket that the figures do not cover.
    """

    config: ScaleSimConfig
    bumps_per_push: float = 0.0  # extra bumps (kerbs, shelves) during a push, mean
    double_bump: float = 0.0  # share of bumps that are two hits (front then rear wheels)
    long_bump: float = 0.0  # share of bumps with a long, soft pulse (a door sill, a ramp)
    lean_rate: float = 0.0  # chance per push that a hand then rests on the basket rim
    lean_g: tuple[float, float] = (0.0, 0.0)  # the hand's weight on the rim
    lean_ms: tuple[float, float] = (0.0, 0.0)  # how long it rests
    drawn: dict = field(default_factory=dict, compare=False)  # the draw, for the log


def _span(rng, lo: tuple[float, float], width: tuple[float, float], top: float):
    a = rng.uniform(*lo)
    return (a, min(top, a + rng.uniform(*width)))


def random_physics(seed: int, profile: str = "typical") -> TripPhysics:
    """A scale and basket the fusion was not written against, drawn from wide ranges (see
    docs/FUSION.md, "Physics the fusion was not written against", for each range's source).
    The same seed draws the same physics."""
    import random

    rng = random.Random(seed * 7_368_787 + 11)
    k = rng.uniform(0.5, 3.0)  # the ADC's and the cells' noise, times the datasheet figure
    drawn = {
        "noise_factor": round(k, 3),
        "noise_nv_rms": 90.0 * k,
        "flicker_nv_rms": 20.0 * k * rng.uniform(0.5, 3.0),
        "flicker_tau_s": rng.uniform(0.3, 5.0),
        "sensitivity_tol": 0.15,
        "calibration_error": rng.uniform(2e-4, 1.5e-3),
        "rate_error": rng.uniform(-0.05, 0.05),
        "f_hz": _span(rng, (6.0, 16.0), (0.5, 6.0), 20.0),
        "zeta": _span(rng, (0.02, 0.10), (0.01, 0.12), 0.3),
        "ramp_ms": _span(rng, (40.0, 300.0), (100.0, 1800.0), 2500.0),
        "drop_mm": (0.0, rng.uniform(10.0, 100.0)),
        "bag_ramp_ms": _span(rng, (200.0, 800.0), (200.0, 2000.0), 3000.0),
        "tempco_g_per_c": rng.uniform(0.3, 3.0),
        "temp_walk_c_per_sqrt_s": rng.uniform(0.0, 0.1),
        "creep_frac": rng.uniform(2e-4, 2e-3),
        "creep_tau_s": rng.uniform(60.0, 900.0),
        "tilt_sd_deg": rng.uniform(0.1, 1.0),
        "push_shots_per_s": rng.uniform(5.0, 40.0),
        "push_accel_g": rng.uniform(0.03, 0.25),
        "push_pulse_ms": _span(rng, (2.0, 15.0), (3.0, 30.0), 60.0),
        "push_transfer": rng.uniform(0.2, 0.5),
        "push_horiz_g": rng.uniform(0.03, 0.2),
        "bump_g": _span(rng, (0.3, 1.5), (0.5, 4.5), 6.0),
        "bump_ms": _span(rng, (4.0, 15.0), (5.0, 40.0), 60.0),
    }
    cfg = config_for(profile, **{k_: v for k_, v in drawn.items() if k_ != "noise_factor"})
    extra = {
        "bumps_per_push": rng.uniform(0.0, 1.5),
        "double_bump": rng.uniform(0.0, 0.5),
        "long_bump": rng.uniform(0.0, 0.3),
        "lean_rate": rng.uniform(0.0, 0.15),
        "lean_g": _span(rng, (100.0, 600.0), (100.0, 1400.0), 2000.0),
        "lean_ms": _span(rng, (500.0, 2000.0), (500.0, 6000.0), 8000.0),
    }
    drawn.update(extra)
    return TripPhysics(cfg, drawn={k_: _rounded(v) for k_, v in drawn.items()}, **extra)


def _rounded(v):
    if isinstance(v, tuple):
        return tuple(round(x, 4) for x in v)
    return round(v, 6) if isinstance(v, float) else v
