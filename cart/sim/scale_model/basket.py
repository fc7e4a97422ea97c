"""The basket on four load cells: ``BasketModel``'s state, clock and actions (place, remove,
bump, push), and the ground truth it records (``Placement``). The samples it produces are
``cart.sim.scale_model.samples``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cart.sim.scale_model.config import G, ScaleSimConfig
from cart.sim.scale_model.samples import _Samples


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


class BasketModel(_Samples):
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
        """The first whole millisecond at or after the simulated present: an action given
        this time is never "before the present" (rounding to nearest could be)."""
        return self.t0_ms + math.ceil(self.t * 1000 - 1e-6)

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
