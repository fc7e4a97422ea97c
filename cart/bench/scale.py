"""`cart bench scale`: settle latency, weight error and false changes of the scale pipeline,
against a naive baseline measured on the very same samples.

Per action (one item, several items at once, a bag of produce, or a removal) the truth is the
model's: the change in mass and the mechanical settle (net force within 1 g of its final value
from then on). The pipeline's answer is the settled events with a non-zero change between the
action and the next one: latency = first such event - mechanical settle (negative when it
settles early, a miss counts the whole interval), error = |sum of their changes - true change|.
Pushing: minutes of pushes and stops with a loaded basket; every settled event with a non-zero
change there is a false change.

Baseline (what common HX711 libraries do): when the 10-sample average differs from the last
reported weight by more than 5 g, wait a fixed 500 ms, then report the average of the last 10
samples; changes under 2.5 g count as none.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from cart.common.events import WeightSettled
from cart.sim.scale import SimScale


@dataclass
class NaiveScale:
    """Average of the last N samples after a fixed wait (HX711 `get_units(10)` style)."""

    n: int = 10
    wait_ms: int = 500
    trigger_g: float = 5.0
    min_change_g: float = 2.5

    def run(self, t: np.ndarray, g: np.ndarray) -> list[tuple[int, float]]:
        """Returns (t_ms, delta_g) reports with a non-zero change."""
        out = []
        n = self.n
        if len(g) < n:
            return out
        c = np.concatenate(([0.0], np.cumsum(g)))
        avg = np.full(len(g), np.nan)
        avg[n - 1 :] = (c[n:] - c[:-n]) / n
        last = float(avg[n - 1])
        i = n
        while i < len(g):
            dev = np.abs(avg[i:] - last)
            hit = np.flatnonzero(dev > self.trigger_g)
            if len(hit) == 0:
                break
            j = i + int(hit[0])
            k = int(np.searchsorted(t, t[j] + self.wait_ms))
            if k >= len(g):
                break
            val = float(avg[k])
            if abs(val - last) >= self.min_change_g:
                out.append((int(t[k]), val - last))
            last = val
            i = k + 1
        return out


def _pct(a, q):
    return round(float(np.percentile(a, q)), 2) if len(a) else None


def _random_action(sim, rng, inside: list[str], n_items: int, t0: int):
    """One thing the shopper does to the basket, drawn from ``rng``: take an item out, put in
    several at once, a bagged item, or a single item. Returns the placements, their kind and
    the new item count."""
    r = rng.random()
    if inside and r < 0.15:
        item = inside.pop(int(rng.integers(len(inside))))
        pls = [sim.remove(item)]
        kind = "remove"
    elif r < 0.30:
        k = int(rng.integers(2, 5))
        pls = []
        for j in range(k):
            name = f"i{n_items}"
            n_items += 1
            m = float(math.exp(rng.uniform(math.log(5), math.log(3000))))
            pls.append(
                sim.place(
                    name,
                    m,
                    *rng.uniform(0.1, 0.9, 2),
                    t_ms=t0 + int(rng.integers(0, 250)) * (j > 0),
                )
            )
            inside.append(name)
        kind = "several"
    elif r < 0.42:
        name = f"i{n_items}"
        n_items += 1
        m = float(rng.uniform(200, 3000))
        pls = [sim.place(name, m, *rng.uniform(0.1, 0.9, 2), bag=True)]
        inside.append(name)
        kind = "bag"
    else:
        name = f"i{n_items}"
        n_items += 1
        m = float(math.exp(rng.uniform(math.log(5), math.log(10000))))
        pls = [sim.place(name, m, *rng.uniform(0.05, 0.95, 2))]
        inside.append(name)
        kind = "single"
    return pls, kind, n_items


def run_bench(
    placements: int = 300,
    seed: int = 1,
    profile: str = "typical",
    push_minutes: float = 20.0,
    stability=None,
    details: bool = False,
    median_window: int | None = None,
) -> dict:
    from drivers.scale.config import ScaleConfig

    wall = time.perf_counter()
    rng = np.random.default_rng(seed)
    sc = None
    if stability is not None or median_window is not None:
        sc = ScaleConfig(
            stability=stability or ScaleConfig().stability,
            median_window=median_window or ScaleConfig().median_window,
        )
    sim = SimScale(seed=seed, profile=profile, scale_config=sc)
    rec_t: list[np.ndarray] = []
    rec_g: list[np.ndarray] = []
    sim.core.pipeline.taps.append(
        lambda t, c, g, f: (rec_t.append(t.copy()), rec_g.append(g.copy()))
    )
    clock = sim.clock
    sim.run_until(clock.now_ms() + 3000)
    actions = []  # (t_start, t_end_interval, true_change, mech_settle, kind)
    n_items = 0
    inside: list[str] = []
    for _ in range(placements):
        t0 = clock.now_ms()
        pls, kind, n_items = _random_action(sim, rng, inside, n_items, t0)
        mech = max(p.t_settle_ms for p in pls)
        change = sum(p.grams for p in pls)
        t_end = mech + int(rng.integers(1000, 3000))
        sim.run_until(t_end)
        actions.append((t0, t_end, change, mech, kind))
        if rng.random() < 0.5:  # a bump between placements: must not change the weight
            settle = sim.bump(t_ms=clock.now_ms() + int(rng.integers(0, 500)))
            tb = clock.now_ms()
            t_end = settle + int(rng.integers(1000, 2000))
            sim.run_until(t_end)
            actions.append((tb, t_end, 0.0, settle, "bump"))
        if sim.total_items_g() > 60_000:  # keep the basket within a shop's reality
            for item in list(inside):
                sim.remove(item, t_ms=clock.now_ms())
                inside.remove(item)
                sim.run_until(sim.model.busy_until_ms() + 500)
            sim.run_until(clock.now_ms() + 2000)
    # pushing: pushes and stops with whatever is in the basket
    push_start = clock.now_ms()
    push_end = push_start + int(push_minutes * 60_000)
    while clock.now_ms() < push_end:
        end = sim.push(int(rng.uniform(5_000, 30_000)), float(rng.uniform(0.5, 1.5)))
        sim.run_until(end + int(rng.uniform(2_000, 10_000)))
    push_hours = (clock.now_ms() - push_start) / 3_600_000
    t_all = np.concatenate(rec_t) if rec_t else np.zeros(0, np.int64)
    g_all = np.concatenate(rec_g) if rec_g else np.zeros(0)
    settled = [
        (e.t_ms, e.delta_g) for e in sim.events if isinstance(e, WeightSettled) and e.delta_g != 0.0
    ]
    naive = NaiveScale().run(t_all, g_all)

    def score(reports):
        rt = np.array([r[0] for r in reports], np.int64)
        rd = np.array([r[1] for r in reports])
        lat, err, misses, extra, bump_false = [], [], 0, 0, 0
        rows = []
        for t0, t1, change, mech, kind in actions:
            sel = (rt >= t0) & (rt < t1)
            if kind == "bump":
                bump_false += int(sel.sum())
                continue
            if not sel.any():
                misses += 1
                lat.append(t1 - mech)
                err.append(abs(change))
                continue
            idx = np.flatnonzero(sel)
            lat.append(int(rt[idx[-1]]) - mech)
            err.append(abs(float(rd[idx].sum()) - change))
            extra += len(idx) - 1
            rows.append((kind, round(change, 1), lat[-1], round(err[-1], 2), len(idx)))
        pushes = int(((rt >= push_start) & (rt < push_end + 60_000)).sum())
        return {
            "settle_ms_p50": _pct(lat, 50),
            "settle_ms_p95": _pct(lat, 95),
            "error_g_p50": _pct(err, 50),
            "error_g_p95": _pct(err, 95),
            "false_changes_per_hour": round(pushes / push_hours, 2) if push_hours else None,
            "false_changes_bumps": bump_false,
            "missed": misses,
            "split_reports": extra,
            **({"rows": rows} if details else {}),
        }

    res = score(settled)
    res["baseline"] = score(naive)
    res["baseline"].pop("rows", None)
    for k in ("settle_ms_p95", "error_g_p95"):
        b, m = res["baseline"][k], res[k]
        # a ratio means something only when both are positive
        ok = b is not None and m is not None and b > 0 and m > 0
        res[f"{k}_ratio_vs_baseline"] = round(m / b, 3) if ok else None
    res.update(
        {
            "bench": "scale",
            "profile": profile,
            "seed": seed,
            "placements": sum(1 for a in actions if a[4] != "bump"),
            "bumps": sum(1 for a in actions if a[4] == "bump"),
            "push_hours": round(push_hours, 3),
            "sps": 80,
            "simulated_s": round((clock.now_ms() - sim.model.t0_ms) / 1000, 1),
            "fast_forwarded_s": round(sim.fast_forwarded_ms / 1000, 1),
            "counters": sim.core.counters(),
            "wall_s": round(time.perf_counter() - wall, 2),
        }
    )
    return res
