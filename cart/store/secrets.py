"""Staff PIN hashes: the one place that makes and checks them.

A hash is the string ``pbkdf2_sha256$<iterations>$<salt hex>$<sha256 hex>`` (the store's
``staff_pin_hash``, and fusion's ``StaffGate`` pins). The iteration count is part of the string,
so a hash made with another count (older stores: 1 000, 60 000, 100 000) keeps verifying with
the count it was made with; only new hashes use :data:`PIN_HASH_ITERATIONS`.

Standard library only (``hashlib.pbkdf2_hmac`` with ``hmac.compare_digest``): PBKDF2-HMAC-SHA256
is in every CPython build (OpenSSL), so checking a PIN a few times a trip needs no extra compiled
package on the cart (passlib, argon2-cffi, bcrypt) to build, pin and audit. Brute force of a
short PIN is held back by the iteration count and by the keypad's lock-out after wrong PINs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

PIN_HASH_SCHEME = "pbkdf2_sha256"
# PBKDF2-HMAC-SHA256 rounds for new hashes (hash_pin); verification uses each hash's own count.
PIN_HASH_ITERATIONS = 200_000
SALT_BYTES = 16

PIN_HASH_RE = re.compile(r"^pbkdf2_sha256\$(\d{1,7})\$([0-9a-f]{16,128})\$([0-9a-f]{64})$")
PIN_HASH_FORMAT = "pbkdf2_sha256$ITERATIONS$SALT_HEX$SHA256_HEX"


def hash_pin(pin: str, salt: bytes | None = None, iterations: int = PIN_HASH_ITERATIONS) -> str:
    """The hash string for a staff PIN (4 to 12 digits); a random salt unless one is given."""
    if not isinstance(pin, str) or not pin.isdigit() or not 4 <= len(pin) <= 12:
        raise ValueError("a staff PIN is 4 to 12 digits")
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    dk = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"{PIN_HASH_SCHEME}${iterations}${salt.hex()}${dk.hex()}"


def is_pin_hash(text: str) -> bool:
    """True when ``text`` is a well-formed hash string (see the module docstring)."""
    return isinstance(text, str) and PIN_HASH_RE.match(text) is not None


def verify_pin(pin_hash: str, pin: str) -> bool:
    """True when ``pin`` matches ``pin_hash`` (with the hash's own iteration count; the digests
    are compared in constant time). A malformed hash or a non-string PIN never matches."""
    m = PIN_HASH_RE.match(pin_hash or "") if isinstance(pin_hash, str) else None
    if not m or not isinstance(pin, str):
        return False
    iterations, salt, want = int(m[1]), bytes.fromhex(m[2]), m[3]
    if iterations < 1:
        return False
    got = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations).hex()
    return hmac.compare_digest(got, want)
