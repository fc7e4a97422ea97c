"""The cart's side of the exit gate: at check-out, score the trip from its journal, draw the
spot check, sign the exit code and journal the decision.

The decision is kept in the journal (``Journal.record_exit_code``) before the code is shown,
and the first one issued for a session is the one that stays: showing the code again gives the
same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cart.basket import exitcode, risk
from cart.basket.journal import Journal
from cart.store import spotcheck
from cart.store.model import Store


@dataclass(frozen=True, slots=True)
class Decision:
    """The spot-check decision of one trip, as journaled."""

    score: float
    band: str
    rate: float
    value: float  # the seeded draw in [0, 1): checked when below ``rate``
    spot_check: bool
    signals: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "rate": self.rate,
            "value": self.value,
            "spot_check": self.spot_check,
            "signals": dict(self.signals),
        }


def decide(rows, policy: spotcheck.SpotCheckConfig, seed: bytes) -> Decision:
    """Score the rows ``(kind, payload)``, band the score and draw with ``seed``. Pure."""
    r = risk.risk_score(rows)
    band = policy.band(r.score)
    rate = policy.rate(band)
    value = risk.draw_value(seed)
    return Decision(r.score, band, rate, value, value < rate, dict(r.signals))


def trip_seed(sign: Callable[[bytes], bytes], store: str, cart: str, session: str) -> bytes:
    return sign(risk.seed_message(store, cart, session))


def issue_exit_code(
    journal: Journal,
    store: Store,
    key,
    session_id: str,
    receipt: dict[str, Any],
    *,
    policy: spotcheck.SpotCheckConfig | None = None,
) -> tuple[str, dict[str, Any]]:
    """``(code, decision)`` for a checked-out session, signed with ``key``
    (``cart.common.keys.CartKey``); journaled, and the same one again if already issued.
    ``policy``: the spot-check rates the store last set by command, else the store's own."""
    found = journal.exit_code(session_id)
    if found is not None:
        return found
    sid = store.config.id
    rows = [(e.kind, e.payload) for e in journal.events(session_id)]
    policy = policy or spotcheck.for_store(store)
    d = decide(rows, policy, trip_seed(key.sign, sid, key.cart_id, session_id))
    totals = receipt.get("totals", {})
    claim = exitcode.ExitClaim(
        store=sid,
        cart=key.cart_id,
        session=session_id,
        total=int(totals.get("total", 0)),
        items=int(totals.get("items", 0)),
        t_ms=int(receipt.get("t_ms", 0)),
        spot_check=d.spot_check,
        band=d.band,
    )
    code = exitcode.build(claim, key.sign)
    decision = {**d.to_dict(), "cart": key.cart_id, "ephemeral_key": bool(key.ephemeral)}
    return journal.record_exit_code(session_id, claim.t_ms, code, decision)
