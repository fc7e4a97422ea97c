"""Simulated scale, the physics: a model of the basket on four load cells, in simulated time.

Figures and their sources are in docs/SCALE.md. The model generates samples in numpy blocks for
any time span asked for, and is cheap to fast-forward while the basket is at rest
(``BasketModel.quiet``). The bridge that speaks the wire protocol over it is
``cart.sim.scale_bridge``; the whole simulated scale is ``cart.sim.scale``.

Coordinates: an item's position is (x, y) on the basket floor, each 0..1; x from left to right,
y from front (handle side) to rear. Cells: 0 front-left, 1 front-right, 2 rear-left,
3 rear-right. Forces are grams-force.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from drivers.scale import protocol as sp

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


def config_for(profile: str = "typical", **overrides) -> ScaleSimConfig:
    if profile not in PROFILES:
        raise ValueError(f"unknown scale profile {profile!r}; known: {', '.join(PROFILES)}")
    return replace(ScaleSimConfig(), **{**PROFILES[profile], **overrides})


def shares(x: float, y: float) -> np.ndarray:
    """Bilinear share of a point load at (x, y) on the four corner cells."""
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise ValueError(f"position ({x}, {y}) is off the basket floor (0..1 each)")
    return np.array([(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y])


@dataclass
class Placement:
    """What the model did for one action; ground truth for tests and benchmarks."""

    item: str
    grams: float  # + placed, - removed
    t_start_ms: int
    t_release_ms: int  # end of the load ramp
    t_settle_ms: int  # mechanical settle: net force within 1 g of its final value from here
    total_g: float  # sum of item masses after the action


@dataclass
class _Item:
    grams: float
    share: np.ndarray


@dataclass
class _Push:
    t0: float
    t1: float
    intensity: float
    next_shot: float
    phase: np.ndarray = field(default_factory=lambda: np.zeros(3))
    freq: np.ndarray = field(default_factory=lambda: np.zeros(3))
    tilt_amp: float = 0.0
    mode: tuple[float, float, float] = (1.0, 1.0, 1.0)  # sigma, omega_d, omega


class BasketModel:
    """Forces on the four cells and the ADC counts they produce, in simulated time.

    Times are integer milliseconds on the caller's clock; ``t0_ms`` is the model's start.
    """

    SETTLE_BAND_G = 1.0

    def __init__(self, config: ScaleSimConfig | None = None, seed: int = 0, t0_ms: int = 0):
        self.cfg = cfg = config or ScaleSimConfig()
        self.rng = np.random.default_rng(seed)
        self.t0_ms = int(t0_ms)
        self.t = 0.0  # seconds since t0: everything before is generated
        ch = cfg.channels
        if ch != 4:
            raise ValueError("the basket model has four corner cells")
        tol = cfg.sensitivity_tol
        self.sens = cfg.sensitivity_mv_v * 1e-3 * (1 + self.rng.uniform(-tol, tol, ch))
        # counts per gram-force: ratiometric, so AVDD cancels: S * 2^24 * gain / 2 / capacity
        self.counts_per_g = self.sens * cfg.counts_per_volt * cfg.avdd_v / cfg.capacity_g
        zb = cfg.zero_balance_mv_v * 1e-3 * cfg.avdd_v * cfg.counts_per_volt
        self.offset = self.rng.uniform(-zb, zb, ch)
        self.tempco = (
            cfg.tempco_g_per_c * self.rng.choice([-1.0, 1.0], ch) * self.rng.uniform(0.5, 1.0, ch)
        )
        self.temp = 0.0
        self.flick = np.zeros(ch)
        self.dead = cfg.dead_load_g * shares(0.5, 0.5)
        self.base = np.zeros(ch)  # settled item load per cell
        self.items: dict[str, _Item] = {}
        self.tilt = 0.0
        # active terms
        self._ramps: list[tuple[float, float, np.ndarray]] = []  # t0, duration, vec
        self._creeps: list[tuple[float, np.ndarray]] = []  # t_start, vec (final creep)
        # decaying rings: t0, sigma, omega_d, amp_max, complex amplitude per cell (re[4], im[4])
        # contribution: Im(C * exp((-sigma + i omega_d) (t - t0))) for t >= t0
        self._rings = np.zeros((0, 4 + 2 * ch))
        self._pushes: list[_Push] = []
        self.history: list[Placement] = []

    # -- time ---------------------------------------------------------------------------
    def _s(self, t_ms: int | None) -> float:
        if t_ms is None:
            return self.t
        s = (int(t_ms) - self.t0_ms) / 1000.0
        if s < self.t - 1e-9:
            raise ValueError(
                f"t_ms={t_ms} is before the simulated present ({self.now_ms} ms); "
                "actions go at or after it"
            )
        return s

    @property
    def now_ms(self) -> int:
        return self.t0_ms + round(self.t * 1000)

    def total_items_g(self) -> float:
        return float(sum(i.grams for i in self.items.values()))

    def _mass_at(self, s: float) -> float:
        m = float(self.base.sum() + self.dead.sum())
        for t0, dur, vec in self._ramps:
            m += float(vec.sum()) * min(max((s - t0) / dur, 0.0), 1.0)
        return m

    def _freq(self) -> tuple[float, float, float]:
        f = self.rng.uniform(*self.cfg.f_hz)
        z = self.rng.uniform(*self.cfg.zeta)
        w = 2 * math.pi * f
        return z * w, w * math.sqrt(1 - z * z), w

    def _add_ring(self, s: float, amps: np.ndarray, sigma: float, wd: float) -> float:
        """Adds a decaying ring; returns the time it takes to fall under the settle band."""
        amax = float(np.abs(amps).sum())
        row = np.concatenate(([s, sigma, wd, amax], amps, np.zeros(4)))
        self._rings = np.vstack((self._rings, row))
        if amax <= self.SETTLE_BAND_G / 2:
            return 0.0
        return math.log(amax / (self.SETTLE_BAND_G / 2)) / sigma

    # -- actions ------------------------------------------------------------------------
    def place(
        self,
        item: str,
        grams: float,
        x: float = 0.5,
        y: float = 0.5,
        *,
        t_ms: int | None = None,
        ramp_ms: float | None = None,
        drop_mm: float | None = None,
        bag: bool = False,
    ) -> Placement:
        """An item goes in: its load ramps in while the hand lowers it, then it is released
        (from ``drop_mm`` above the floor) and the basket rings down."""
        if item in self.items:
            raise ValueError(f"item {item!r} is already in the basket")
        if not 0 < grams <= 4 * self.cfg.capacity_g:
            raise ValueError(f"item mass {grams} g is outside the scale's range")
        s = self._s(t_ms)
        cfg, rng = self.cfg, self.rng
        share = shares(x, y)
        vec = grams * share
        sigma, wd, w = self._freq()
        if bag:
            ramp = (ramp_ms or rng.uniform(*cfg.bag_ramp_ms)) / 1000
            # produce slides and slumps in the bag: 85 % in the first ramp, the rest later
            first = 0.85
            self._ramps.append((s, ramp, vec * first))
            slump_t = s + ramp + rng.uniform(0.1, 0.5)
            slump = rng.uniform(0.1, 0.3)
            self._ramps.append((slump_t, slump, vec * (1 - first)))
            release = slump_t + slump
            drop = 0.0 if drop_mm is None else drop_mm
        else:
            ramp = (ramp_ms if ramp_ms is not None else rng.uniform(*cfg.ramp_ms)) / 1000
            self._ramps.append((s, ramp, vec))
            release = s + ramp
            drop = rng.uniform(*cfg.drop_mm) if drop_mm is None else drop_mm
        # ring left by a linear ramp into a 2nd-order system: |sinc(w T / 2)| of the step
        x_ = w * ramp / 2
        resid = abs(math.sin(x_) / x_) if x_ > 0 else 1.0
        impact = w * math.sqrt(2 * G * drop / 1000) / G * grams  # grams-force, see SCALE.md
        amps = vec / grams * (grams * resid + impact) * rng.choice([-1.0, 1.0])
        ring_t = self._add_ring(release, amps, sigma, wd)
        self._creeps.append((release, vec * cfg.creep_frac))
        self.items[item] = _Item(grams, share)
        return self._record(item, grams, s, release, release + ring_t)

    def remove(
        self, item: str, *, t_ms: int | None = None, ramp_ms: float | None = None
    ) -> Placement:
        """An item is lifted out: its load ramps out, the basket rings when it leaves."""
        if item not in self.items:
            raise KeyError(f"item {item!r} is not in the basket")
        s = self._s(t_ms)
        it = self.items.pop(item)
        vec = -it.grams * it.share
        ramp = (ramp_ms if ramp_ms is not None else self.rng.uniform(*self.cfg.ramp_ms)) / 1000
        self._ramps.append((s, ramp, vec))
        sigma, wd, w = self._freq()
        x_ = w * ramp / 2
        resid = abs(math.sin(x_) / x_) if x_ > 0 else 1.0
        ring_t = self._add_ring(s + ramp, vec * resid, sigma, wd)
        self._creeps.append((s + ramp, vec * self.cfg.creep_frac))
        return self._record(item, -it.grams, s, s + ramp, s + ramp + ring_t)

    def bump(
        self, peak_g: float | None = None, *, t_ms: int | None = None, pulse_ms: float | None = None
    ) -> int:
        """The cart hits something: a half-sine vertical acceleration pulse rings the basket.
        Returns the mechanical-settle time in ms."""
        s = self._s(t_ms)
        rng = self.rng
        a = rng.uniform(*self.cfg.bump_g) if peak_g is None else peak_g
        T = (rng.uniform(*self.cfg.bump_ms) if pulse_ms is None else pulse_ms) / 1000
        return self._ms(s + self._shot(s, a, T))

    def _shot(self, s: float, a_g: float, T: float) -> float:
        sigma, wd, w = self._freq()
        v0 = a_g * G * T * 2 / math.pi  # velocity change of the half-sine pulse
        mass = self._mass_at(s)
        amps = (self.dead + self.base) / max(float((self.dead + self.base).sum()), 1e-9)
        amps = amps * mass * w * v0 / G * math.copysign(1.0, self.rng.standard_normal())
        return T + self._add_ring(s + T / 2, amps, sigma, wd)

    def push(self, duration_ms: int, intensity: float = 1.0, *, t_ms: int | None = None) -> int:
        """The shopper pushes the cart for ``duration_ms``: wheel and floor impacts, speeding
        up and slowing down, and a new floor slope where it stops. Returns the end in ms."""
        if duration_ms <= 0 or intensity < 0:
            raise ValueError("a push needs a positive duration and a non-negative intensity")
        s = self._s(t_ms)
        rng = self.rng
        p = _Push(
            s,
            s + duration_ms / 1000,
            intensity,
            s + rng.exponential(1 / max(self.cfg.push_shots_per_s * intensity, 1e-9)),
        )
        p.freq = rng.uniform(0.2, 1.0, 3)
        p.phase = rng.uniform(0, 2 * math.pi, 3)
        p.tilt_amp = math.radians(self.cfg.tilt_sd_deg) * rng.uniform(0.5, 1.5)
        p.mode = self._freq()  # the cart bounces on its wheels in one mode
        self._pushes.append(p)
        return self._ms(p.t1)

    def _ms(self, s: float) -> int:
        return self.t0_ms + math.ceil(s * 1000)

    def _record(self, item, grams, s, release, settle) -> Placement:
        pl = Placement(
            item,
            grams,
            self._ms(s),
            self._ms(release),
            self._ms(max(settle, release)),
            self.total_items_g(),
        )
        self.history.append(pl)
        return pl

    # -- state --------------------------------------------------------------------------
    @property
    def quiet(self) -> bool:
        """Nothing moves now: no ramp or push under way, no ring above 0.3 g (a fifth of the
        ADC noise). Actions scheduled later do not count (see ``next_action_ms``)."""
        s = self.t
        if any(t0 <= s for t0, _, _ in self._ramps) or any(p.t0 <= s for p in self._pushes):
            return False
        if len(self._rings):
            r = self._rings
            started = r[:, 0] <= s
            if started.any():
                left = r[started, 3] * np.exp(-r[started, 1] * (s - r[started, 0]))
                return bool(left.max() < 0.3)
        return True

    def next_action_ms(self) -> int | None:
        """Start of the earliest ramp, ring or push scheduled after the present."""
        s = self.t
        starts = [t0 for t0, _, _ in self._ramps if t0 > s]
        starts += [p.t0 for p in self._pushes if p.t0 > s]
        if len(self._rings):
            later = self._rings[self._rings[:, 0] > s, 0]
            if len(later):
                starts.append(float(later.min()))
        return self.t0_ms + math.floor(min(starts) * 1000) if starts else None

    def push_skippable_until_ms(self) -> int | None:
        """While a push runs and nothing else changes: the time up to which its middle may be
        fast-forwarded (its last second is always simulated in full)."""
        if self._ramps or not self._pushes:
            return None
        on = [p for p in self._pushes if p.t0 <= self.t < p.t1 - 1.0]
        if not on:
            return None
        return self._ms(min(p.t1 for p in on) - 1.0)

    def busy_until_ms(self) -> int:
        """When the last ramp, push or ring now scheduled has died down (0.05 g)."""
        end = self.t
        for t0, dur, _ in self._ramps:
            end = max(end, t0 + dur)
        for p in self._pushes:
            end = max(end, p.t1 + 3.0)
        if len(self._rings):
            r = self._rings
            end = max(
                end, float(np.max(r[:, 0] + np.log(np.maximum(r[:, 3], 0.05) / 0.05) / r[:, 1]))
            )
        return self._ms(end)

    def net_force(self, s: np.ndarray) -> np.ndarray:
        """Noise-free force per cell (grams-force) at times s (seconds), dead load included."""
        n = len(s)
        F = np.broadcast_to(self.dead + self.base, (n, 4)).copy()
        for t0, dur, vec in self._ramps:
            F += np.clip((s - t0) / dur, 0.0, 1.0)[:, None] * vec
        for t0, vec in self._creeps:
            F += (1 - np.exp(-np.maximum(s - t0, 0.0) / self.cfg.creep_tau_s))[:, None] * vec
        if len(self._rings):
            r = self._rings
            dt = s[:, None] - r[None, :, 0]
            on = dt >= 0
            dt = np.maximum(dt, 0.0)
            env = np.where(on, np.exp(-r[None, :, 1] * dt), 0.0)
            ph = r[None, :, 2] * dt
            F += (env * np.sin(ph)) @ r[:, 4:8] + (env * np.cos(ph)) @ r[:, 8:12]
        tilt = np.full(n, self.tilt)
        for p in self._pushes:
            on = (s >= p.t0) & (s < p.t1)
            if not on.any():
                continue
            ph = 2 * math.pi * p.freq[None, :] * (s[:, None] - p.t0) + p.phase[None, :]
            ah = self.cfg.push_horiz_g * p.intensity * np.sin(ph[:, 0]) * on
            tot = F.sum(axis=1)
            shift = tot * ah * self.cfg.push_transfer / 2  # front loses, rear gains
            F[:, 0] -= shift / 2
            F[:, 1] -= shift / 2
            F[:, 2] += shift / 2
            F[:, 3] += shift / 2
            tilt = np.where(on, self.tilt + p.tilt_amp * np.sin(ph[:, 1]), tilt)
        return F * np.cos(tilt)[:, None]

    def _emit_push_shots(self, s_end: float, ring: bool = True) -> None:
        """Wheel and floor impacts of every push up to s_end, as rings (vectorised)."""
        cfg, rng = self.cfg, self.rng
        for p in self._pushes:
            rate = cfg.push_shots_per_s * p.intensity
            stop = min(s_end, p.t1)
            if rate <= 0 or p.next_shot >= stop:
                continue
            k = max(int((stop - p.next_shot) * rate * 1.5) + 8, 8)
            gaps = rng.exponential(1 / rate, k)
            times = p.next_shot + np.concatenate(([0.0], np.cumsum(gaps[:-1])))
            while times[-1] < stop:  # rare: draw more
                more = times[-1] + np.cumsum(rng.exponential(1 / rate, k))
                times = np.concatenate((times, more))
            use = times[times < stop]
            p.next_shot = float(times[len(use)])
            if not ring or len(use) == 0:
                continue
            n = len(use)
            a = np.abs(rng.normal(0, cfg.push_accel_g * p.intensity, n))
            T = rng.uniform(*cfg.push_pulse_ms, n) / 1000
            sigma, wd, w = p.mode
            v0 = a * G * T * 2 / math.pi
            load = self.dead + self.base
            mass = self._mass_at(float(use[0]))
            share = load / max(float(load.sum()), 1e-9)
            sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
            amp = (mass * w * v0 / G * sign)[:, None] * share[None, :]
            rows = np.zeros((n, self._rings.shape[1]))
            rows[:, 0] = use + T / 2
            rows[:, 1] = sigma
            rows[:, 2] = wd
            rows[:, 3] = np.abs(amp).sum(axis=1)
            rows[:, 4:8] = amp
            self._rings = np.vstack((self._rings, rows))

    def _retire(self) -> None:
        """Folds finished terms into the static state so blocks stay cheap."""
        s = self.t
        keep = []
        for t0, dur, vec in self._ramps:
            if t0 + dur <= s:
                self.base = self.base + vec
            else:
                keep.append((t0, dur, vec))
        self._ramps = keep
        keep_c = []
        for t0, vec in self._creeps:
            if s - t0 > 8 * self.cfg.creep_tau_s:
                self.base = self.base + vec
            else:
                keep_c.append((t0, vec))
        self._creeps = keep_c
        if len(self._rings):
            r = self._rings
            left = r[:, 3] * np.exp(-r[:, 1] * np.maximum(s - r[:, 0], 0.0))
            r = r[(left >= 0.002) | (r[:, 0] > s)]
            # fold rings of one mode that have started into a single ring (exact: a sum of
            # rings of one mode is one ring with a complex amplitude)
            started = r[:, 0] <= s
            if started.sum() > 4:
                keep = [r[~started]]
                st_r = r[started]
                key = st_r[:, 1] * 1e6 + st_r[:, 2]
                modes, inv = np.unique(key, return_inverse=True)
                for m in range(len(modes)):
                    g = st_r[inv == m]
                    if len(g) == 1:
                        keep.append(g)
                        continue
                    sigma, wd = g[0, 1], g[0, 2]
                    dt = s - g[:, 0]
                    rot = np.exp((-sigma + 1j * wd) * dt)[:, None]
                    c = ((g[:, 4:8] + 1j * g[:, 8:12]) * rot).sum(axis=0)
                    row = np.concatenate(([s, sigma, wd, float(np.abs(c).sum())], c.real, c.imag))
                    keep.append(row[None, :])
                r = np.vstack(keep)
            self._rings = r
        done = [p for p in self._pushes if p.t1 <= s]
        for p in done:
            self._pushes.remove(p)
            self.tilt = math.radians(self.cfg.tilt_sd_deg) * float(self.rng.standard_normal())

    def counts(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ADC counts (int32 [n, 4]) and a saturation mask at increasing times s (seconds)
        after the present. Advances the model to s[-1]."""
        n = len(s)
        if n == 0:
            return np.zeros((0, 4), np.int32), np.zeros((0, 4), bool)
        cfg, rng = self.cfg, self.rng
        self._emit_push_shots(float(s[-1]))
        F = self.net_force(s)
        # temperature: random walk; zero shift per cell
        dt = np.diff(np.concatenate(([self.t], s)))
        if cfg.temp_walk_c_per_sqrt_s > 0:
            temp = self.temp + np.cumsum(
                rng.standard_normal(n) * np.sqrt(dt) * cfg.temp_walk_c_per_sqrt_s
            )
            self.temp = float(temp[-1])
        else:
            temp = np.full(n, self.temp)
        F = F + temp[:, None] * self.tempco[None, :]
        c = self.offset + F * self.counts_per_g
        noise = rng.standard_normal((n, 4)) * cfg.noise_counts
        if cfg.flicker_nv_rms > 0:
            # Ornstein-Uhlenbeck process, exact discretisation
            sig = cfg.flicker_nv_rms * 1e-9 * cfg.counts_per_volt
            noise += self._flicker(dt, sig)
        raw = np.rint(c + noise)
        sat = (raw >= sp.COUNTS_MAX) | (raw <= sp.COUNTS_MIN)
        out = np.clip(raw, sp.COUNTS_MIN, sp.COUNTS_MAX).astype(np.int32)
        self.t = float(s[-1])
        self._retire()
        return out, sat

    def _flicker(self, dt: np.ndarray, sig: float) -> np.ndarray:
        # x[k] = r x[k-1] + e[k], evaluated as r^k (x0 + cumsum(r^-j e[j])) in short chunks
        n = len(dt)
        out = np.empty((n, 4))
        r = float(np.exp(-np.mean(dt) / self.cfg.flicker_tau_s))
        e = self.rng.standard_normal((n, 4)) * sig * math.sqrt(1 - r * r)
        prev = self.flick
        for a in range(0, n, 256):
            b = min(n, a + 256)
            k = np.arange(1, b - a + 1, dtype=float)[:, None]
            out[a:b] = r**k * (prev + np.cumsum(e[a:b] * r ** (-k), axis=0))
            prev = out[b - 1]
        self.flick = prev
        return out

    def skip_to(self, t_ms: int, shots: bool = True) -> None:
        """Jumps the model to t_ms without producing samples (used while quiet). With
        ``shots=False`` the wheel impacts of a push in the skipped span leave no rings."""
        s = self._s(t_ms)
        dt = s - self.t
        if dt <= 0:
            return
        cfg = self.cfg
        self._emit_push_shots(s, ring=shots)
        self.temp += float(self.rng.standard_normal()) * math.sqrt(dt) * cfg.temp_walk_c_per_sqrt_s
        rho = math.exp(-dt / cfg.flicker_tau_s)
        sig = cfg.flicker_nv_rms * 1e-9 * cfg.counts_per_volt
        self.flick = rho * self.flick + self.rng.standard_normal(4) * sig * math.sqrt(1 - rho**2)
        self.t = s
        self._retire()

    def static_counts(self) -> np.ndarray:
        """Noise-free counts at the present (forces, creep, temperature; no noise)."""
        F = self.net_force(np.array([self.t]))[0] + self.temp * self.tempco
        return self.offset + F * self.counts_per_g

    def true_counts_per_gram(self) -> np.ndarray:
        return self.counts_per_g.copy()
