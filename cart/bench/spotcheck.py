"""``cart bench spotcheck``: over N simulated trips per risk band, the share the exit gate
sends to a spot check, against the store's configured audit rate.

Each trip is a journal: a few items, and the rows fusion writes when things go wrong (questions,
suspected cheats, staff overrides, unexplained weights, unknown codes), drawn at random until
the trip's risk score (``cart.basket.risk``) lands in the band being measured. The cart's real
issuing path scores it, draws its spot check with a seed signed by a cart key (derived from
``--seed``, so the run is reproducible), signs the exit code, and the gate's ``check`` reads
the outcome back from the code. Not a timing benchmark.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from cart.basket import exitcode, gate
from cart.basket.issuer import decide, trip_seed
from cart.basket.risk import risk_score
from cart.common.keys import CartKey
from cart.store import spotcheck

T0 = 1_767_258_000_000
BANDS = ("low", "medium", "high")
# (row kind, payload, how many at most) that a simulated trip may contain, per band
_EVENTS: dict[str, tuple[tuple[str, dict, int], ...]] = {
    "low": (
        ("raise_flag", {"kind": "place_scanned"}, 1),
        ("fusion.small_change", {"grams": 4.0}, 2),
        ("raise_flag", {"kind": "age_check"}, 1),
    ),
    "medium": (
        ("raise_flag", {"kind": "scan_added"}, 3),
        ("raise_flag", {"kind": "weigh_produce"}, 2),
        ("resolve_flag", {"by": "shopper", "resolution": "personal"}, 1),
        ("fusion.unknown_code", {"code": "0000"}, 2),
        ("fusion.load_shift", {"grams": 30.0}, 2),
    ),
    "high": (
        ("raise_flag", {"kind": "looks_different"}, 2),
        ("raise_flag", {"kind": "unexplained_removal"}, 1),
        ("resolve_flag", {"by": "staff", "resolution": "approved"}, 2),
        ("fusion.personal_refused", {"grams": 900.0}, 1),
        ("raise_flag", {"kind": "scan_added"}, 2),
    ),
}


def bench_key(seed: int) -> CartKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = hashlib.sha256(f"cart bench spotcheck {seed}".encode()).digest()
    return CartKey("bench-cart", Ed25519PrivateKey.from_private_bytes(raw))


def simulated_trip(
    rng: random.Random, band: str, policy: spotcheck.SpotCheckConfig
) -> list[tuple[str, dict]]:
    """One trip's journal rows whose risk score falls in ``band``."""
    for _ in range(1000):
        rows: list[tuple[str, dict]] = [("open_session", {})]
        rows += [("add_line", {"line": f"L{i}"}) for i in range(1, rng.randint(2, 25))]
        flag = 0
        for kind, payload, most in _EVENTS[band]:
            for _ in range(rng.randint(0, most)):
                flag += 1
                rows.append((kind, {**payload, "flag": f"F{flag}"}))
        rows.append(("check_out", {}))
        if policy.band(risk_score(rows).score) == band:
            return rows
    raise RuntimeError(f"could not simulate a {band}-risk trip with this store's thresholds")


def run_bench(store, trips: int = 1000, seed: int = 1) -> dict[str, Any]:
    policy = spotcheck.for_store(store)
    key = bench_key(seed)
    carts = {key.cart_id: key.public_bytes}
    sid = store.config.id
    rng = random.Random(seed)
    bands: dict[str, dict[str, Any]] = {}
    for band in BANDS:
        checked, scores = 0, 0.0
        for i in range(trips):
            rows = simulated_trip(rng, band, policy)
            session = f"{rng.getrandbits(64):016x}"
            d = decide(rows, policy, trip_seed(key.sign, sid, key.cart_id, session))
            t = T0 + i * 60_000
            claim = exitcode.ExitClaim(
                sid, key.cart_id, session, 100 * i, len(rows), t, d.spot_check, d.band
            )
            v = gate.check(
                exitcode.build(claim, key.sign), store_id=sid, carts=carts, now_ms=t + 30_000
            )
            if v.outcome == gate.REFUSE or v.claim is None or v.claim.band != band:
                raise RuntimeError(f"the gate refused a simulated trip: {v.reason}")
            checked += v.outcome == gate.SPOT_CHECK
            scores += d.score
        p = policy.rate(band)
        measured = checked / trips
        tol = 3 * math.sqrt(p * (1 - p) / trips)
        bands[band] = {
            "trips": trips,
            "checked": checked,
            "measured": round(measured, 4),
            "configured": p,
            "ratio": round(measured / p, 3) if p else None,
            "tolerance": round(tol, 4),
            "within_tolerance": abs(measured - p) <= tol,
            "mean_score": round(scores / trips, 2),
        }
    return {
        "bench": "spotcheck",
        "store": sid,
        "trips_per_band": trips,
        "seed": seed,
        "thresholds": {"medium_from": policy.medium_from, "high_from": policy.high_from},
        "bands": bands,
        "ratio": {b: r["ratio"] for b, r in bands.items()},
        "all_within_tolerance": all(r["within_tolerance"] for r in bands.values()),
    }
