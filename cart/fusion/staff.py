"""Staff PINs: salted PBKDF2 hashes, constant-time comparison, lock-out after failures.

A store keeps ``staff_id -> "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>"`` (the core
store's ``staff_pin_hash``; key ``"*"`` is a PIN shared by all staff); ``cart.store.secrets``
makes and checks those strings. The PIN itself is never stored or journaled. After
``max_failures`` wrong PINs in a row the keypad is locked for ``lockout_ms`` (simulated or real
time, from the events'
``t_ms``); a staff session ends by logout or after ``idle_ms`` without a staff action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cart.store.secrets import hash_pin, verify_pin


@dataclass
class StaffGate:
    pins: dict[str, str] = field(default_factory=dict)  # staff_id -> hash_pin(...) string
    max_failures: int = 3
    lockout_ms: int = 60_000
    idle_ms: int = 120_000
    failures: int = 0
    locked_until_ms: int = 0
    active: str | None = None
    last_action_ms: int = 0

    def login(self, t_ms: int, staff_id: str, pin: str, *, replay: str | None = None) -> str:
        """Returns "ok", "locked" or "wrong". ``replay``: the journaled outcome of this login
        (the PIN itself is never journaled), applied without checking a PIN."""
        if t_ms < self.locked_until_ms:
            return "locked"
        stored = self.pins.get(staff_id) or self.pins.get("*")  # "*": one PIN for all staff
        key = (stored or "", pin)
        ok = _VERIFIED.get(key) if replay is None else replay == "ok"
        if ok is None:
            # A wrong id costs the same as a wrong PIN (no id probing by timing).
            ok = verify_pin(stored, pin) if stored else (verify_pin(_DUMMY, pin) and False)
            if ok and len(_VERIFIED) < 64:  # successes only: a repeat login skips PBKDF2
                _VERIFIED[key] = True
        if ok:
            self.failures = 0
            self.active = staff_id
            self.last_action_ms = t_ms
            return "ok"
        self.failures += 1
        if self.failures >= self.max_failures:
            self.failures = 0
            self.locked_until_ms = t_ms + self.lockout_ms
        return "wrong"

    def current(self, t_ms: int) -> str | None:
        if self.active is not None and t_ms - self.last_action_ms > self.idle_ms:
            self.active = None
        return self.active

    def touch(self, t_ms: int) -> None:
        self.last_action_ms = t_ms

    def logout(self) -> str | None:
        who, self.active = self.active, None
        return who


_VERIFIED: dict[tuple[str, str], bool] = {}
_DUMMY = hash_pin("0000", b"\0" * 16)
