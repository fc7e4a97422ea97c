"""Staff PINs: salted PBKDF2 hashes, constant-time comparison, lock-out after failures.

A store keeps ``staff_id -> "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>"`` (the core
store's ``staff_pin_hash`` has the same format; key ``"*"`` is a PIN shared by all staff);
``hash_pin`` makes those strings. The PIN itself is never stored or journaled. After ``max_failures`` wrong
PINs in a row the keypad is locked for ``lockout_ms`` (simulated or real time, from the events'
``t_ms``); a staff session ends by logout or after ``idle_ms`` without a staff action.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

ITERATIONS = 60_000


def hash_pin(pin: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    if not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("a staff PIN is 4 to 12 digits")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    try:
        scheme, iters, salt_hex, digest_hex = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), int(iters))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


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
            ok = check_pin(pin, stored) if stored else (check_pin(pin, _DUMMY) and False)
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
_DUMMY = hash_pin("0000", salt=b"\0" * 16)
