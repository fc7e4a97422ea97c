"""The simulated scale's physical figures: ``ScaleSimConfig``, the named profiles and
``config_for``. Sources are in docs/SCALE.md."""

from __future__ import annotations

from dataclasses import dataclass, replace

G = 9.80665
FULL_SCALE_COUNTS = 1 << 23


@dataclass(frozen=True)
class ScaleSimConfig:
    """Physical figures. Defaults are the 'typical' cart; see docs/SCALE.md for sources."""

    channels: int = 4
    rate_sps: float = 80.0  # HX711 RATE=1, internal oscillator
    rate_error: float = 0.0  # fractional error of the ADC's oscillator
    capacity_g: float = 50_000.0  # per cell
    sensitivity_mv_v: float = 1.0  # rated output
    sensitivity_tol: float = 0.10  # cells drawn within +-10 % of rated output
    zero_balance_mv_v: float = 0.1  # +- zero offset per cell
    avdd_v: float = 4.2  # HX711 analog supply = bridge excitation (ratiometric)
    gain: int = 128
    noise_nv_rms: float = 90.0  # HX711 datasheet, gain 128, 80 SPS
    flicker_nv_rms: float = 20.0  # extra low-frequency wander on top of the datasheet figure
    flicker_tau_s: float = 1.0
    dead_load_g: float = 6_000.0  # basket resting on the cells, tared away
    f_hz: tuple[float, float] = (4.0, 12.0)  # basket/item resonance, drawn per event
    zeta: tuple[float, float] = (0.05, 0.15)  # damping ratio, drawn per event
    ramp_ms: tuple[float, float] = (80.0, 400.0)  # hand lowering an item
    drop_mm: tuple[float, float] = (0.0, 30.0)  # release height above the basket floor
    bag_ramp_ms: tuple[float, float] = (400.0, 1200.0)
    tempco_g_per_c: float = 1.0  # zero shift per cell, 0.02 % FS / 10 degC
    temp_walk_c_per_sqrt_s: float = 0.03
    creep_frac: float = 0.0005  # of the applied load, over about 5 tau
    creep_tau_s: float = 300.0
    tilt_sd_deg: float = 0.25  # floor slope where the cart stops
    push_shots_per_s: float = 20.0  # wheel/floor impacts while pushing
    push_accel_g: float = 0.08  # rms peak vertical acceleration of one impact
    push_pulse_ms: tuple[float, float] = (5.0, 20.0)
    push_transfer: float = 0.3  # h_cg / wheelbase: front/rear load transfer per g horizontal
    push_horiz_g: float = 0.08  # horizontal acceleration amplitude while pushing
    bump_g: tuple[float, float] = (0.5, 3.0)  # peak vertical acceleration of a bump
    bump_ms: tuple[float, float] = (8.0, 30.0)
    byte_error_rate: float = 0.0  # probability per byte of a flipped bit on the link
    byte_drop_rate: float = 0.0  # probability per byte of a lost byte
    calibration_error: float = 2e-4  # +- span error per cell left by the factory calibration

    @property
    def counts_per_volt(self) -> float:
        return FULL_SCALE_COUNTS / (0.5 * self.avdd_v / self.gain)

    @property
    def noise_counts(self) -> float:
        return self.noise_nv_rms * 1e-9 * self.counts_per_volt


PROFILES = {
    "clean": {
        "flicker_nv_rms": 0.0,
        "temp_walk_c_per_sqrt_s": 0.0,
        "sensitivity_tol": 0.0,
        "tilt_sd_deg": 0.0,
        "push_accel_g": 0.05,
    },
    "typical": {},
    "harsh": {
        "noise_nv_rms": 120.0,
        "flicker_nv_rms": 60.0,
        "rate_error": 0.03,
        "zeta": (0.03, 0.10),
        "drop_mm": (0.0, 60.0),
        "push_accel_g": 0.15,
        "bump_g": (1.0, 5.0),
        "temp_walk_c_per_sqrt_s": 0.08,
        "tilt_sd_deg": 0.4,
        "byte_error_rate": 2e-5,
        "byte_drop_rate": 1e-5,
    },
}


def config_for(profile: str = "typical", **overrides) -> ScaleSimConfig:
    if profile not in PROFILES:
        raise ValueError(f"unknown scale profile {profile!r}; known: {', '.join(PROFILES)}")
    return replace(ScaleSimConfig(), **{**PROFILES[profile], **overrides})
