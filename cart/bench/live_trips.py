"""``cart bench trips --path live``: the same trips on both paths, side by side, one JSON line.

The modelled path is ``cart.bench.trips.run_bench`` (modelled settles straight into fusion).
The live path plays the same trips (same seeds, same ``ShopperModel``) through the assembled
cart of ``cart.sim.live_trips``: real drivers on simulated devices, the runtime, the engine
with ``cart run``'s fusion settings, a SQLite journal, and the shopper answering the screen.
Both are scored by the same rules (``cart.bench.trips.summarize``).

Added to both: ``prompts_per_honest_trip`` (questions on honest trips that needed an answer:
answered by the shopper, or left for staff at check-out; a question re-raised under a new id
counts once; "put the scanned item in the cart" counts only when it had to be answered, not
when the placement itself closed it; the produce screen for produce put in before it was
chosen is the normal way to key produce and is counted apart,
``produce_screens_per_honest_trip``; legally required age checks apart), its split by kind,
and where the honest trips that were not exact failed. The live path adds what the screen
said after the shopper's presses and scans (by wording) and the answers it refused.
"""

from __future__ import annotations

import time
from collections import Counter

from cart.bench.trips import run_bench, summarize, vision_setup
from cart.sim.shopper import PROFILES, ShopperModel

SIDE = (
    "honest_trips",
    "exact_bill_rate",
    "review_rate",
    "catch_rate",
    "cheat_trips",
    "alerts_per_trip",
    "silent_misbilled",
    "silent_weighing_outside_mpe",
    "overcharged_minor",
    "undercharged_minor",
    "uncaught_cheat_loss_minor",
    "trips_per_s",
)
RATIO = (
    "exact_bill_rate",
    "review_rate",
    "prompts_per_honest_trip",
    "produce_screens_per_honest_trip",
    "trips_per_s",
)


# The produce screen that opens for produce put in before it was chosen ("which produce did
# you add?"): the normal way to key produce, which has no barcode (the shopper chooses it once,
# before or after placing it), guidance like "put the scanned item in the cart", not a
# question; counted apart (``produce_screens_per_honest_trip``)
GUIDANCE = ("weigh_produce",)


def prompt_summary(results) -> dict:
    """Questions that needed an answer on honest trips (see the module docstring)."""
    honest = [r for r in results if r.honest]
    h = max(1, len(honest))
    kinds: Counter = Counter()
    for r in honest:
        kinds.update(r.prompts)
    age = kinds.pop("age_check", 0)
    guidance = sum(kinds.get(k, 0) for k in GUIDANCE)
    questions = sum(kinds.values()) - guidance
    return {
        "prompts_per_honest_trip": round(questions / h, 4),
        "produce_screens_per_honest_trip": round(guidance / h, 4),
        "prompts_per_honest_trip_with_produce_screens": round((questions + guidance) / h, 4),
        "prompts_by_kind": {k: round(v / h, 4) for k, v in sorted(kinds.items())},
        "age_checks_per_honest_trip": round(age / h, 4),
    }


def failures(results) -> dict:
    """Where the honest trips that were not exact went wrong: staff review (by the kinds of
    question left open when the shopper paid), a silent misbill (a product billed the wrong
    number of times), or a weighed line outside the legal tolerance."""
    bad = [r for r in results if r.honest and not r.exact]
    review = [r for r in bad if r.review and not r.age_check]
    open_kinds: Counter = Counter()
    for r in review:
        open_kinds.update(set(r.open_at_pay) or {"(none open)"})
    return {
        "honest_not_exact": len(bad),
        "staff_review": len(review),
        "review_trips_with_open": dict(open_kinds.most_common()),
        "silent_misbilled": sum(1 for r in bad if not r.review and not r.same_items),
        "silent_weighing_outside_mpe": sum(1 for r in bad if not r.review and r.same_items),
    }


def live_detail(results) -> dict:
    honest = [r for r in results if r.honest]
    notices: Counter = Counter()
    refused: Counter = Counter()
    for r in results:
        notices.update(r.notices)
        refused.update(r.refused)
    plain = [r for r in honest if not r.keyed_plu]
    return {
        "screen_said": dict(notices.most_common(8)),
        "answers_refused_by_kind": dict(refused.most_common()),
        "honest_trips_keying_a_plu_sticker": round(
            sum(1 for r in honest if r.keyed_plu) / max(1, len(honest)), 4
        ),
        "exact_bill_rate_without_plu_stickers": (
            round(sum(r.exact for r in plain) / len(plain), 4) if plain else None
        ),
        "honest_trips_without_plu_stickers": len(plain),
    }


def _side(summary: dict, results) -> dict:
    out = {k: summary[k] for k in SIDE}
    out.update(prompt_summary(results))
    out["failures"] = failures(results)
    return out


def run_live_bench(
    store,
    *,
    trips: int,
    seed: int,
    profile: str,
    vision: str = "auto",
    physics: str = "profile",
    progress=None,
) -> dict:
    from cart.sim.live_trips import LiveTripRunner

    prof = PROFILES[profile]
    modelled_results: list = []
    modelled = run_bench(
        store,
        trips=trips,
        seed=seed,
        profile=profile,
        baseline=False,
        vision=vision,
        physics=physics,
        results_out=modelled_results,
    )
    factory, _info = vision_setup(store, vision)
    runner = LiveTripRunner(store, prof, vision_factory=factory, physics=physics)
    model = ShopperModel(list(runner.products.products()), prof)
    results = []
    t0 = time.perf_counter()
    try:
        for i in range(trips):
            results.append(runner.run(model.trip(seed * 1_000_003 + i)))
            if progress and (i + 1) % 50 == 0:
                progress(i + 1)
    finally:
        runner.close()
    live = summarize(results, time.perf_counter() - t0)
    sides = {"modelled": _side(modelled, modelled_results), "live": _side(live, results)}
    sides["live"].update(live_detail(results))
    sides["modelled"]["scale_calibration"] = modelled.get("scale_calibration")
    ratio = {
        k: (round(sides["live"][k] / sides["modelled"][k], 4) if sides["modelled"][k] else None)
        for k in RATIO
    }
    ratio["catch_rate"] = {
        c: (
            round(v / sides["modelled"]["catch_rate"][c], 4)
            if sides["modelled"]["catch_rate"].get(c)
            else None
        )
        for c, v in sides["live"]["catch_rate"].items()
    }
    return {
        "bench": "trips",
        "path": "live",
        "profile": profile,
        "seed": seed,
        "physics": physics,
        "trips": trips,
        **sides,
        "ratio_live_over_modelled": ratio,
        "vision": modelled["vision"],
        "live_setup": (
            "simscanner:// bytes through drivers.scanner.Scanner; SimScale bridge bytes through "
            "drivers.scale.core.ScaleCore; cart.app runtime and FusionEngine (cart run's fusion "
            "settings) on a SQLite journal; camera verdicts after each settle; the shopper "
            "answers the CartView with cart.app.actions; accelerated ManualClock time"
        ),
    }
