"""``cart bench trips``: many simulated trips, scored against the truth, as one JSON line.

Metrics (see docs/FUSION.md for the definitions and what is real and what is modelled):

- ``exact_bill_rate``: honest trips (mistakes included, no cheat) that checked out with every
  item billed exactly, weighed items within the legal tolerance, and no staff help (a legally
  required age check is not counted as help; ``age_check_rate`` says how often it happened);
- ``review_rate``: honest trips (mistakes included) that needed staff or could not check out,
  a legally required age check not counted; ``review_rate_with_age_checks`` counts those too,
  ``review_rate_all_trips`` includes the cheating trips (whose reviews are the catches);
- ``catch_rate``: per cheat type, the share of cheating trips where the cheat did not go
  through silently (staff review, or a bill not below the truth);
- ``false_alerts_per_trip``: alerts on honest trips that the shopper's own behaviour did not
  cause (``alerts_per_trip`` counts all of them);
- ``overcharged_minor`` / ``undercharged_minor``: money silently billed too much / too little
  on honest trips that checked out without staff and whose lines were not exact (weighed
  lines outside the legal tolerance included); split into ``silent_misbilled`` (a product
  billed the wrong number of times, or the wrong product: fusion's error) and
  ``silent_weighing_outside_mpe`` (the right lines, a weighed one outside the legal tolerance:
  the scale's precision); ``uncaught_cheat_loss_minor``: what cheats that went through took;
- alerts: a question re-raised under a new id (reworded or grown: "show it once more", "2 more
  × ...") is the same alert to the shopper and is counted once;
- ``trips_per_s``: wall-clock throughput of this process (one core).

The baseline is the same fusion with the camera ignored (weight and scans only), on the same
trips in the same run.
"""

from __future__ import annotations

import time
from collections import defaultdict

from cart.sim.shopper import CHEATS, PROFILES, ShopperModel
from cart.sim.trips import TripResult, TripRunner


def summarize(results: list[TripResult], seconds: float) -> dict:
    n = len(results)
    honest = [r for r in results if r.honest]
    cheats: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        if r.cheat:
            cheats[r.cheat].append(bool(r.caught))
    over = under = 0
    over_trips = under_trips = 0
    loss = 0
    misbilled = {"trips": 0, "overcharged_minor": 0, "undercharged_minor": 0}
    weighing = {"trips": 0, "overcharged_minor": 0, "undercharged_minor": 0}
    for r in results:
        if r.review or r.exact:
            continue
        d = r.bill_minor - r.truth_minor
        if not r.honest:
            loss += max(0, -d)  # a cheat that went through
            continue
        part = weighing if r.same_items else misbilled
        part["trips"] += 1
        if d > 0:
            over += d
            over_trips += 1
            part["overcharged_minor"] += d
        elif d < 0:
            under += -d
            under_trips += 1
            part["undercharged_minor"] += -d
    h = max(1, len(honest))
    return {
        "trips": n,
        "honest_trips": len(honest),
        "exact_bill_rate": round(sum(r.exact for r in honest) / h, 5),
        "review_rate": round(sum(r.review and not r.age_check for r in honest) / h, 5),
        "review_rate_with_age_checks": round(sum(r.review for r in honest) / h, 5),
        "review_rate_all_trips": round(sum(r.review for r in results) / max(1, n), 5),
        "age_check_rate": round(sum(r.age_check for r in results) / max(1, n), 5),
        "catch_rate": {c: round(sum(v) / len(v), 4) for c, v in sorted(cheats.items())},
        "cheat_trips": {c: len(cheats.get(c, ())) for c in CHEATS},
        "false_alerts_per_trip": round(sum(r.false_alerts for r in honest) / h, 4),
        "alerts_per_trip": round(sum(r.alerts for r in honest) / h, 4),
        "overcharged_minor": over,
        "overcharged_trips": over_trips,
        "undercharged_minor": under,
        "undercharged_trips": under_trips,
        "silent_misbilled": misbilled,
        "silent_weighing_outside_mpe": weighing,
        "uncaught_cheat_loss_minor": loss,
        "trips_per_s": round(n / seconds, 2) if seconds > 0 else None,
    }


def run_bench(
    store,
    *,
    trips: int,
    seed: int,
    profile: str,
    scenario: str | None = None,
    baseline: bool = True,
    vision: str = "auto",
    scale: str = "model",
    calibration: str = "held-out",
    progress=None,
    physics: str = "profile",
    results_out: list | None = None,
) -> dict:
    """``physics``: "profile" (the profile's scale) or "random" (the modelled settles' σ
    measured on scales drawn by ``cart.sim.scale_model.random_physics``). ``results_out``: a
    list that receives every ``TripResult``."""
    from cart.fusion.reconciler import FusionConfig

    prof = PROFILES[profile]
    cal = _calibration(prof, seed, scale, physics)
    sigma = (tuple(cal.get("reading_sigmas_g") or ()) or cal["reading_sigma_g"]) if cal else None
    factory, vision_info = vision_setup(store, vision)
    # (config, camera) pairs; trip i is played by runner i % len(runners)
    setups = [(None, factory)]
    fusion_camera = None
    if factory is not None and getattr(factory, "table", None):
        from cart.fusion.reconciler import camera_confusion_from
        from cart.fusion.vision import Hierarchy

        # as on the cart (cart.app.engine): an unsure variety is judged by its coarse class
        coarse = dict(Hierarchy.load().coarse_of)

        # The fusion knows the model by its measured behaviour on real photos. "held-out"
        # (two-fold): the confusion is measured on one half of each class's photos and the
        # trips draw from the other half, alternating which half, so no trip is judged on a
        # photo the fusion was calibrated on; "in-sample": both from all photos.
        if calibration == "held-out":
            setups = []
            for part in (0, 1):
                measured, played = split_table(factory.table, part)
                config = FusionConfig(
                    camera_confusion=camera_confusion_from(measured), camera_coarse=coarse
                )
                setups.append((config, vision_factory_for(played)))
            fusion_camera = (
                "judged by the model's confusion measured on half of each class's "
                "photos; trips draw from the other half (two-fold, held-out)"
            )
        elif calibration == "in-sample":
            config = FusionConfig(
                camera_confusion=camera_confusion_from(factory.table), camera_coarse=coarse
            )
            setups = [(config, factory)]
            fusion_camera = (
                "judged by the model's confusion measured on the same photos the "
                "trips draw from (in-sample; see docs/FUSION.md)"
            )
        else:
            raise ValueError(f"calibration must be held-out or in-sample, not {calibration!r}")
    runners = [
        TripRunner(
            store, prof, config=config, vision_factory=camera, scale=scale, scale_sigma_g=sigma
        )
        for config, camera in setups
    ]
    runner = runners[0]
    if scenario is not None:
        from cart.sim.scenario import load_scenario

        trip, _header = load_scenario(scenario, runner.products)
        plan = [trip] * trips
    else:
        model = ShopperModel(list(runner.products.products()), prof)
        plan = [model.trip(seed * 1_000_003 + i) for i in range(trips)]
    t0 = time.perf_counter()
    results = []
    for i, trip in enumerate(plan):
        results.append(runners[i % len(runners)].run(_fresh(trip)))
        if progress and (i + 1) % 100 == 0:
            progress(i + 1)
    dt = time.perf_counter() - t0
    if results_out is not None:
        results_out.extend(results)
    out = {"bench": "trips", "profile": profile, "seed": seed}
    if physics != "profile":
        out["physics"] = physics
    if scenario is not None:
        out["scenario"] = scenario
    out.update(summarize(results, dt))
    out["vision"] = runner_vision_name(runner)
    out["vision_detail"] = vision_info
    if fusion_camera is not None:
        out["fusion_camera"] = fusion_camera
    if cal:
        out["scale"] = "modelled settles, sigma measured on the simulated bridge in this run"
        out["scale_calibration"] = cal
    else:
        out["scale"] = "simulated bridge bytes through the real driver core and pipeline"
    out["scanner"] = "simulated scanner bytes through drivers.scanner.ScanDecoder"
    if baseline:
        blind = TripRunner(
            store,
            prof,
            config=FusionConfig(use_vision=False),
            vision_factory=factory,
            scale=scale,
            scale_sigma_g=sigma,
        )
        t1 = time.perf_counter()
        base = [blind.run(_fresh(trip)) for trip in plan]
        b = summarize(base, time.perf_counter() - t1)
        out["baseline"] = {
            "name": "same fusion, camera ignored",
            **{
                k: b[k]
                for k in (
                    "exact_bill_rate",
                    "review_rate",
                    "catch_rate",
                    "false_alerts_per_trip",
                    "undercharged_minor",
                    "overcharged_minor",
                )
            },
        }
        cr, bcr = out["catch_rate"], b["catch_rate"]
        out["catch_ratio_vs_baseline"] = {
            c: (round(cr[c] / bcr[c], 3) if bcr.get(c) else None) for c in cr
        }
    return out


def _calibration(prof, seed: int, scale: str, physics: str) -> dict | None:
    """The modelled settles' σ, measured on the simulated bridge (None: no modelled settles)."""
    from cart.sim.trips import calibrate_scale

    if scale != "model":
        return None
    if physics == "random":
        return calibrate_random_physics(prof, seed)
    return calibrate_scale(prof, seed=seed)


def calibrate_random_physics(prof, seed: int, draws: int = 24, n: int = 10) -> dict:
    """The modelled settles' σ under random physics: the bridge's settled-change error
    measured on ``draws`` scales drawn from the random ranges (``n`` placements each), pooled
    as the root mean square of each draw's σ (``reading_sigma_g``, reported) and kept per draw
    (``reading_sigmas_g``: each trip takes one, as each live trip has its own scale)."""
    import math

    from cart.sim.scale_model import random_physics
    from cart.sim.trips import calibrate_scale

    cals = [
        calibrate_scale(prof, n=n, seed=seed + k, config=random_physics(seed * 101 + k).config)
        for k in range(draws)
    ]
    sigma = math.sqrt(sum(c["reading_sigma_g"] ** 2 for c in cals) / len(cals))
    return {
        "placements": draws * n,
        "physics_draws": draws,
        # each trip's modelled settles take one drawn scale's σ (its seed picks it): one
        # pooled σ gave every trip the worst scales' error
        "reading_sigmas_g": [c["reading_sigma_g"] for c in cals],
        "delta_error_g_p50": round(sorted(c["delta_error_g_p50"] for c in cals)[draws // 2], 2),
        "delta_error_g_p95_worst": max(c["delta_error_g_p95"] for c in cals),
        "reading_sigma_g": round(sigma, 3),
    }


def _fresh(trip):
    """Trips carry mutable ground truth (what is in the cart): play a copy."""
    import copy

    return copy.deepcopy(trip)


def vision_factory(store, mode: str):
    """Camera verdicts: "measured" (real inference of the shipped int8 model on the shared
    photos, run once at bench start; see cart.sim.inferred_vision), "modelled" (a stated
    confusion model), or "auto" (measured when the photos and the model are there)."""
    return vision_setup(store, mode)[0]


def vision_setup(store, mode: str):
    """``(factory or None, info dict)``: what the bench's camera is, for the JSON."""
    if mode in ("auto", "measured"):
        from cart.sim.inferred_vision import VisionUnavailable, infer_table

        try:
            table, info = infer_table()
        except VisionUnavailable as exc:
            if mode == "measured":
                raise
            return None, {
                "source": "modelled confusion (see docs/FUSION.md); real inference "
                f"was not possible: {exc}"
            }
        labels = {p.label for p in _products(store) if p.label}
        info = dict(
            info,
            products_without_class=sorted(
                p.id for p in _products(store) if not p.label or p.label not in table
            ),
            labels_without_photos=sorted(labels - set(table)),
            modelled="whether the camera sees a placement (the profile's view rate); the "
            "photos are shop photos, not a basket camera",
        )
        return vision_factory_for(table), info
    return None, {"source": "modelled confusion (see docs/FUSION.md)"}


def vision_factory_for(table):
    """A camera for the trip runner drawing real verdicts from ``table`` (label -> top-k lists)."""
    from cart.sim.inferred_vision import InferredVision

    def factory(seed):
        return InferredVision(table, seed)

    factory.table = table
    return factory


def split_table(table, part: int = 0):
    """``(measured, played)`` for fold ``part`` (0 or 1): every other photo's verdicts of each
    label to calibrate on, the rest to play. A label with a single photo is played only (no
    measured confusion for it)."""
    measured = {k: v[part::2] for k, v in table.items() if len(v) >= 2}
    played = {k: (v[1 - part :: 2] if len(v) >= 2 else v) for k, v in table.items()}
    return measured, played


def _products(store):
    from cart.fusion.store import StoreProducts

    return list(StoreProducts(store).products())


def runner_vision_name(runner) -> str:
    if runner.vision_factory is None:
        return "modelled confusion (see docs/FUSION.md)"
    return "measured: real int8 classifier outputs on real photos, inferred at bench start"
