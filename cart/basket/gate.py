"""The exit gate: is this exit code a real one, from one of our carts, recent, and used once?

:func:`check` is pure (the code, the store's id and carts' public keys, the time, the allowed
age). :class:`SeenSessions` is the gate's own small SQLite file of trips that already went
through; :func:`verify_at_gate` puts the two together. Offline: nothing but these two inputs.

Outcomes and the exit status of ``cart gate verify``:

=============  ======  ==========================================================
outcome        status  when
=============  ======  ==========================================================
OPEN           0       signed by a known cart of this store, fresh, first use, and
                       the cart's draw did not pick the trip
SPOT CHECK     3       the same, and the draw picked the trip: staff check the bag
REFUSE         1       anything else; ``reason`` says which (below)
=============  ======  ==========================================================

Reasons for REFUSE: ``malformed``, ``unsigned`` (an old unkeyed ``CART1`` code),
``unknown_cart`` (not in the store's list: never registered, or revoked), ``bad_signature``
(forged or changed), ``wrong_store``, ``expired``, ``future`` (its time is ahead of the gate's
clock by more than the allowed skew), ``replayed`` (this trip went through before), and
``gate_not_configured`` (the gate cannot read its carts file or its seen-sessions file).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cart.basket.exitcode import ExitClaim, ExitCodeError, verify

OPEN, SPOT_CHECK, REFUSE = "OPEN", "SPOT CHECK", "REFUSE"
EXIT_STATUS = {OPEN: 0, SPOT_CHECK: 3, REFUSE: 1}
DEFAULT_MAX_AGE_MIN = 15
SKEW_MS = 120_000  # a cart's clock may run this far ahead of the gate's
SEEN_KEEP_MS = 24 * 3600 * 1000  # seen trips are kept at least a day (longer than any max age)
DEFAULT_SEEN = "var/gate-seen.sqlite"  # relative to the gate's working directory


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: str  # OPEN | SPOT CHECK | REFUSE
    reason: str  # "ok", "spot_check", or why refused
    detail: str
    claim: ExitClaim | None = None

    @property
    def status(self) -> int:
        return EXIT_STATUS[self.outcome]


def refuse(reason: str, detail: str, claim: ExitClaim | None = None) -> Verdict:
    return Verdict(REFUSE, reason, detail, claim)


def check(
    code: str,
    *,
    store_id: str,
    carts: Mapping[str, bytes],
    now_ms: int,
    max_age_ms: int = DEFAULT_MAX_AGE_MIN * 60_000,
    skew_ms: int = SKEW_MS,
) -> Verdict:
    """Everything but replay: signature (against ``carts``), store, age. Pure."""
    try:
        claim = verify(code, carts)
    except ExitCodeError as exc:
        return refuse(exc.reason, exc.detail)
    if claim.store != store_id:
        return refuse("wrong_store", f"issued for store {claim.store}, this is {store_id}", claim)
    age = now_ms - claim.t_ms
    if age < -skew_ms:
        return refuse("future", f"issued {-age // 1000} s in the future (check the clocks)", claim)
    if age > max_age_ms:
        return refuse(
            "expired",
            f"issued {age // 60_000} min ago; codes are valid for {max_age_ms // 60_000} min",
            claim,
        )
    if claim.spot_check:
        return Verdict(
            SPOT_CHECK, "spot_check", f"picked for a spot check ({claim.band} risk)", claim
        )
    return Verdict(OPEN, "ok", f"paid ({claim.band} risk)", claim)


class SeenSessions:
    """The trips that went through this gate (or any gate sharing the file): one row per
    ``(store, cart, session)``, inserted atomically, so a second use of a code is caught even
    by two gates at once."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, isolation_level=None, timeout=5.0, check_same_thread=False
        )
        self._db.execute(
            "PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen (store TEXT NOT NULL, cart TEXT NOT NULL, "
            "session TEXT NOT NULL, code_ms INTEGER NOT NULL, first_ms INTEGER NOT NULL, "
            "outcome TEXT NOT NULL, PRIMARY KEY (store, cart, session)) WITHOUT ROWID"
        )

    def mark(self, claim: ExitClaim, now_ms: int, outcome: str) -> int | None:
        """Record the trip as used; None if it is new, else when it was first used (ms)."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO seen VALUES (?, ?, ?, ?, ?, ?)",
                    (claim.store, claim.cart, claim.session, claim.t_ms, int(now_ms), outcome),
                )
                return None
            except sqlite3.IntegrityError:
                row = self._db.execute(
                    "SELECT first_ms FROM seen WHERE store=? AND cart=? AND session=?",
                    (claim.store, claim.cart, claim.session),
                ).fetchone()
                return int(row[0]) if row else 0

    def prune(self, now_ms: int, keep_ms: int = SEEN_KEEP_MS) -> int:
        """Forget trips whose codes are older than ``keep_ms`` (they are refused as expired)."""
        with self._lock:
            cur = self._db.execute("DELETE FROM seen WHERE code_ms < ?", (now_ms - keep_ms,))
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SeenSessions:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def verify_at_gate(
    code: str,
    *,
    store_id: str,
    carts: Mapping[str, bytes],
    now_ms: int,
    seen: SeenSessions,
    max_age_ms: int = DEFAULT_MAX_AGE_MIN * 60_000,
    skew_ms: int = SKEW_MS,
) -> Verdict:
    """:func:`check`, then the replay check: a code that passes is marked used."""
    v = check(
        code, store_id=store_id, carts=carts, now_ms=now_ms, max_age_ms=max_age_ms, skew_ms=skew_ms
    )
    if v.outcome == REFUSE or v.claim is None:
        return v
    try:
        first = seen.mark(v.claim, now_ms, v.outcome)
        seen.prune(now_ms, max(SEEN_KEEP_MS, max_age_ms + skew_ms))
    except sqlite3.DatabaseError as exc:
        return refuse("gate_not_configured", f"seen-sessions file {seen.path}: {exc}", v.claim)
    if first is not None:
        ago = max(0, now_ms - first) // 1000
        return refuse("replayed", f"this trip already went through the gate {ago} s ago", v.claim)
    return v
