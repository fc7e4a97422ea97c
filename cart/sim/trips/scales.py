"""The trip's scale: settled weights from a stated error model (``ModelledScale``, the bench's
fast path) or the simulated bridge read by the real driver (``BridgeScale``), and the
calibration that measures the one for the other (``calibrate_scale``)."""

from __future__ import annotations

import math
import random

from cart.common.events import WeightMoving, WeightSettled
from cart.sim.shopper import Profile

T0 = 1_767_225_600_000


class ModelledScale:
    """Settled-weight events from a stated error model (the bench's fast path): each settle
    reads the true total + N(0, σ); pushes emit moving events and, at the profile's rate, a
    transient false change that settles back when the push ends. ``sigma_g`` can be measured
    from the real pipeline in the same run (``calibrate_scale``)."""

    def __init__(
        self,
        profile: Profile,
        rng: random.Random,
        sigma_g: float | None = None,
        settle_ms: tuple[int, int] = (350, 900),
    ) -> None:
        self.p, self.rng = profile, rng
        self.sigma = profile.scale_sigma_g if sigma_g is None else sigma_g
        self.settle_ms = settle_ms
        self.true_g = 0.0
        self.last_g = 0.0
        self.items: dict[str, float] = {}

    def _settle(self, t: int, settle_ms: int) -> list:
        g = self.true_g + self.rng.gauss(0.0, self.sigma)
        ev = WeightSettled(
            t + settle_ms, round(g, 1), round(g - self.last_g, 1), settle_ms, round(self.sigma, 2)
        )
        self.last_g = g
        return [WeightMoving(t, round(g, 1)), ev]

    def _change(self, t: int, delta_g: float) -> tuple[list, int]:
        self.true_g += delta_g
        lo, hi = self.settle_ms
        settle = int(self.rng.uniform(lo, hi if abs(delta_g) < 2000 else hi * 1.6))
        return self._settle(t, settle), t + settle

    def catch_up(self, t: int) -> list:
        return []

    def place(self, t: int, key: str, grams: float, bag: bool = False) -> tuple[list, int]:
        self.items[key] = grams
        return self._change(t, grams)

    def remove(self, t: int, key: str) -> tuple[list, int]:
        return self._change(t, -self.items.pop(key))

    def push(self, t: int, ms: int) -> tuple[list, int]:
        out = [WeightMoving(t, round(self.last_g, 1))]
        if self.rng.random() < self.p.false_settle_rate:
            shift = self.rng.choice((-1, 1)) * self.rng.uniform(3.0, self.p.false_settle_g)
            tm = t + ms // 2
            g = self.true_g + shift
            out.append(WeightSettled(tm, round(g, 1), round(g - self.last_g, 1), 600, self.sigma))
            self.last_g = g
        settle = int(self.rng.uniform(400, 900))
        return out + self._settle(t + ms, settle), t + ms + settle


class BridgeScale:
    """The scale simulated byte for byte: ``cart.sim.scale.SimScale`` (physical basket model,
    simulated bridge speaking the wire protocol) read by the real driver core and signal
    pipeline, in simulated time. Same interface as ``ModelledScale``; about 15 ms of CPU per
    placement, so the bench uses it with ``--scale bridge`` (or to calibrate the model)."""

    def __init__(
        self, profile: Profile, seed: int, t0_ms: int = T0, *, config=None, clock=None
    ) -> None:
        from cart.common.clock import ManualClock
        from cart.sim.scale import SimScale

        self.clock = clock or ManualClock(t0_ms)
        self.sim = SimScale(seed=seed, profile=profile.name, clock=self.clock, config=config)
        self.rng = random.Random(seed + 4242)
        self.sim.run_until(t0_ms + 500)

    def _now(self, t: int) -> int:
        return max(int(t), self.clock.now_ms())

    def catch_up(self, t: int) -> list:
        """Events up to ``t`` (the scale keeps reporting while the shopper does other things)."""
        if t <= self.clock.now_ms():
            return []
        return self._run(t)[0]

    def _run(self, until: int) -> tuple[list, int]:
        evs = [e for e in self.sim.run_until(until) if isinstance(e, (WeightSettled, WeightMoving))]
        settled = [e.t_ms for e in evs if isinstance(e, WeightSettled)]
        return evs, (settled[-1] if settled else until)

    def place(self, t: int, key: str, grams: float, bag: bool = False) -> tuple[list, int]:
        t = self._now(t)
        pl = self.sim.place(
            key, grams, self.rng.uniform(0.2, 0.8), self.rng.uniform(0.2, 0.8), t_ms=t, bag=bag
        )
        return self._run(pl.t_settle_ms + 700)

    def remove(self, t: int, key: str) -> tuple[list, int]:
        t = self._now(t)
        pl = self.sim.remove(key, t_ms=t)
        return self._run(pl.t_settle_ms + 700)

    def push(self, t: int, ms: int) -> tuple[list, int]:
        t = self._now(t)
        end = self.sim.push(ms, t_ms=t)
        return self._run(end + 1500)


def calibrate_scale(profile: Profile, n: int = 40, seed: int = 99, config=None) -> dict:
    """Measure the real pipeline's settled-change error on ``n`` simulated placements
    (5 g to 5 kg, pushes between): the σ the modelled scale then uses, in the same run.
    ``config``: the scale's physics (``cart.sim.scale_model.ScaleSimConfig``; default: the
    profile's)."""
    rig = BridgeScale(profile, seed, config=config)
    rng = random.Random(seed)
    t = T0 + 1000
    errs: list[float] = []
    settles: list[int] = []
    false_changes = 0
    for i in range(n):
        g = math.exp(rng.uniform(math.log(5.0), math.log(5000.0)))
        evs, t_end = rig.place(t, f"c{i}", g)
        d = sum(e.delta_g for e in evs if isinstance(e, WeightSettled))
        errs.append(d - g)
        settles += [e.settle_ms for e in evs if isinstance(e, WeightSettled) and e.delta_g]
        evs, t_end = rig.push(t_end + 2000, int(rng.uniform(2000, 6000)))
        false_changes += sum(
            1 for e in evs if isinstance(e, WeightSettled) and abs(e.delta_g) >= 6.0
        )
        t = t_end + 3000
    errs.sort(key=abs)
    p50 = abs(errs[len(errs) // 2])
    p95 = abs(errs[min(len(errs) - 1, int(0.95 * len(errs)))])
    settles.sort()
    return {
        "placements": n,
        "delta_error_g_p50": round(p50, 2),
        "delta_error_g_p95": round(p95, 2),
        "reading_sigma_g": round(max(0.2, p50 / 0.6745 / math.sqrt(2)), 3),
        "settle_ms_p50": settles[len(settles) // 2] if settles else None,
        "false_changes_per_push": round(false_changes / n, 4),
    }
