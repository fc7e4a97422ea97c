"""A trip's risk score from its journal, and the seeded spot-check draw. Pure functions.

The score adds up what the trip's journal rows show (fusion's questions are ``raise_flag`` rows
with fusion's kinds, ``cart.fusion.alerts.KINDS``; its audit facts are ``fusion.*`` rows):

=============================  ======  ==============================================
signal                          points  rows
=============================  ======  ==============================================
question raised                 1       ``raise_flag`` of any kind but ``age_check``
suspected cheat                 +2      ``raise_flag`` of ``looks_different`` (the
                                        camera saw another product), ``unexplained_
                                        removal``, ``take_out``; ``fusion.personal_
                                        refused`` (an "own item" the cart did not
                                        believe)
staff override                  2       ``resolve_flag`` by staff, but an age check
own item declared               1       ``resolve_flag`` whose resolution starts
                                        with ``personal`` (fusion: "personal item
                                        (tare)")
weight never explained          0.5     ``fusion.small_change``, ``fusion.load_shift``
                                        (at most 2 points in all)
code not sold here              0.5     ``fusion.unknown_code`` (at most 2 points)
=============================  ======  ==============================================

The store's ``[spot_check]`` thresholds turn the score into a band and the band into an audit
rate (``cart.store.spotcheck``). The draw is reproducible: its 64-bit value comes from a seed
the cart makes by signing ``(store, cart, session)`` with its own key (Ed25519 signatures are
deterministic), so nobody without the key can predict it and the same trip always draws the
same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

CHEAT_KINDS = frozenset({"looks_different", "unexplained_removal", "take_out"})
WEAK_CAP = 2.0
SEED_CONTEXT = b"smartcart spot-check v1\x00"


@dataclass(frozen=True, slots=True)
class Risk:
    score: float
    signals: dict[str, int] = field(default_factory=dict)  # signal name -> count

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "signals": dict(self.signals)}


def risk_score(rows: Iterable[tuple[str, Any]]) -> Risk:
    """The score of one trip from its journal rows ``(kind, payload)`` (see the module doc)."""
    n = {
        "questions": 0,
        "cheats": 0,
        "staff_overrides": 0,
        "personal": 0,
        "unexplained_weights": 0,
        "unknown_codes": 0,
    }
    age_flags: set[str] = set()
    for kind, payload in rows:
        p = payload if isinstance(payload, dict) else {}
        if kind == "raise_flag":
            if p.get("kind") == "age_check":
                age_flags.add(str(p.get("flag")))
                continue
            n["questions"] += 1
            n["cheats"] += p.get("kind") in CHEAT_KINDS
        elif kind == "resolve_flag":
            if p.get("by") == "staff" and str(p.get("flag")) not in age_flags:
                n["staff_overrides"] += 1
            n["personal"] += str(p.get("resolution", "")).startswith("personal")
        elif kind == "fusion.personal_refused":
            n["cheats"] += 1
        elif kind in ("fusion.small_change", "fusion.load_shift"):
            n["unexplained_weights"] += 1
        elif kind == "fusion.unknown_code":
            n["unknown_codes"] += 1
    score = (
        n["questions"]
        + 2 * n["cheats"]
        + 2 * n["staff_overrides"]
        + n["personal"]
        + min(WEAK_CAP, 0.5 * n["unexplained_weights"])
        + min(WEAK_CAP, 0.5 * n["unknown_codes"])
    )
    return Risk(float(score), {k: v for k, v in n.items() if v})


def seed_message(store: str, cart: str, session: str) -> bytes:
    """What the cart signs to seed the draw of one trip (never the exit code's own bytes)."""
    return SEED_CONTEXT + "\x00".join((store, cart, session)).encode("utf-8")


def draw_value(seed: bytes) -> float:
    """A uniform number in [0, 1) from a seed (SHA-256, first 64 bits)."""
    return int.from_bytes(hashlib.sha256(seed).digest()[:8], "big") / 2**64


def drawn(seed: bytes, rate: float) -> bool:
    """Whether a trip with this seed is spot-checked at audit ``rate`` (0..1)."""
    return draw_value(seed) < rate
