"""Staff PIN hashes: the one place that makes, checks and judges them.

New hashes are argon2id (argon2-cffi), memory-hard, in the PHC string format
``$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>`` that ``staff.toml``
(``cart.store.staff``) keeps per staff member. Made with :data:`ARGON2_TIME_COST`,
:data:`ARGON2_MEMORY_KIB` and :data:`ARGON2_PARALLELISM`: OWASP's first argon2id setting
(m = 19 MiB, t = 2, p = 1), about 40 ms on a desktop core and a few times that on a Raspberry Pi 4,
so a login stays quick while every guess costs an attacker 19 MiB of memory.

The older ``pbkdf2_sha256$<iterations>$<salt hex>$<sha256 hex>`` strings (a store's legacy
``staff_pin_hash``) still verify with their own iteration count.

:func:`weakness` says why a hash is too weak to load (``cart.store.loading`` refuses it): argon2
below m = 19 MiB or t = 2 (or not argon2id), PBKDF2 below 200 000 iterations; and, so that a
store file cannot make a login eat the cart's memory or minutes, argon2 above 256 MiB, 10 passes
or 8 lanes, PBKDF2 above 10 000 000 iterations. A brute force of a short PIN is further held back
by the staff gate's lock-out (``cart.fusion.staff``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

PIN_HASH_SCHEME = "pbkdf2_sha256"
# PBKDF2-HMAC-SHA256 rounds for new legacy hashes (pbkdf2_hash); verification uses each hash's own.
PIN_HASH_ITERATIONS = 200_000
SALT_BYTES = 16

PIN_HASH_RE = re.compile(r"^pbkdf2_sha256\$(\d{1,8})\$([0-9a-f]{16,128})\$([0-9a-f]{64})$")
ARGON2_RE = re.compile(
    r"^\$argon2(?:id|i|d)\$v=\d+\$m=\d{1,9},t=\d{1,4},p=\d{1,3}\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$"
)
PIN_HASH_FORMAT = "$argon2id$v=19$m=KIB,t=PASSES,p=LANES$SALT$HASH (cart staff add makes one)"

# New hashes (hash_pin), and the floor below which a store file does not load.
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
ARGON2_MIN_TIME_COST = 2
ARGON2_MIN_MEMORY_KIB = 19 * 1024
PBKDF2_MIN_ITERATIONS = 200_000
# Ceilings: a store file must not make one login take the cart's memory or minutes.
ARGON2_MAX_MEMORY_KIB = 256 * 1024
ARGON2_MAX_TIME_COST = 10
ARGON2_MAX_PARALLELISM = 8
PBKDF2_MAX_ITERATIONS = 10_000_000

# The PIN the demo store documents (docs/CATALOG.md): a production start refuses any staff secret
# that is this PIN (cart.store.staff.production_problems).
DEMO_PIN = "2468"


def _hasher():
    from argon2 import PasswordHasher, Type

    return PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=32,
        salt_len=SALT_BYTES,
        type=Type.ID,
    )


def check_pin_text(pin: object) -> None:
    """Raise ValueError unless ``pin`` is a staff PIN: 4 to 12 digits."""
    if (
        not isinstance(pin, str)
        or not pin.isdigit()
        or not pin.isascii()
        or not 4 <= len(pin) <= 12
    ):
        raise ValueError("a staff PIN is 4 to 12 digits")


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """The argon2id hash string for a staff PIN (4 to 12 digits); a random salt unless given."""
    check_pin_text(pin)
    if salt is None:
        return _hasher().hash(pin)
    from argon2.low_level import Type, hash_secret

    raw = hash_secret(
        pin.encode("utf-8"),
        salt,
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
        hash_len=32,
        type=Type.ID,
    )
    return raw.decode("ascii")


def pbkdf2_hash(pin: str, salt: bytes | None = None, iterations: int = PIN_HASH_ITERATIONS) -> str:
    """A legacy ``pbkdf2_sha256$...`` hash (what older stores' ``staff_pin_hash`` holds)."""
    check_pin_text(pin)
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    dk = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"{PIN_HASH_SCHEME}${iterations}${salt.hex()}${dk.hex()}"


def is_pin_hash(text: object) -> bool:
    """True when ``text`` is a well-formed argon2 or PBKDF2 hash string."""
    return isinstance(text, str) and bool(ARGON2_RE.match(text) or PIN_HASH_RE.match(text))


def weakness(text: str) -> str:
    """Why the hash string is unfit for a store file ("" when it is fine): malformed, or its
    parameters below the floor (or above the ceilings) of the module docstring."""
    if not isinstance(text, str) or not is_pin_hash(text):
        return f"must be {PIN_HASH_FORMAT}"
    m = PIN_HASH_RE.match(text)
    if m:
        n = int(m[1])
        if n < PBKDF2_MIN_ITERATIONS:
            return (
                f"PBKDF2 with {n} iterations is too weak (at least {PBKDF2_MIN_ITERATIONS}); "
                "make an argon2id hash with `cart staff add`"
            )
        if n > PBKDF2_MAX_ITERATIONS:
            return f"PBKDF2 with {n} iterations is more than {PBKDF2_MAX_ITERATIONS}"
        return ""
    from argon2 import Type, extract_parameters
    from argon2.exceptions import InvalidHashError

    try:
        p = extract_parameters(text)
    except (InvalidHashError, ValueError):
        return f"must be {PIN_HASH_FORMAT}"
    if p.type is not Type.ID:
        return f"argon2 type {p.type.name.lower()} is not argon2id"
    if p.memory_cost < ARGON2_MIN_MEMORY_KIB or p.time_cost < ARGON2_MIN_TIME_COST:
        return (
            f"argon2id m={p.memory_cost} KiB, t={p.time_cost} is too weak "
            f"(at least m={ARGON2_MIN_MEMORY_KIB} KiB and t={ARGON2_MIN_TIME_COST})"
        )
    if (
        p.memory_cost > ARGON2_MAX_MEMORY_KIB
        or p.time_cost > ARGON2_MAX_TIME_COST
        or p.parallelism > ARGON2_MAX_PARALLELISM
    ):
        return (
            f"argon2id m={p.memory_cost} KiB, t={p.time_cost}, p={p.parallelism} is more than "
            f"the cart allows (m<={ARGON2_MAX_MEMORY_KIB}, t<={ARGON2_MAX_TIME_COST}, "
            f"p<={ARGON2_MAX_PARALLELISM})"
        )
    if p.salt_len < 8 or p.hash_len < 16:
        return "argon2id salt or hash too short (at least 8 and 16 bytes)"
    return ""


def verify_pin(pin_hash: str, pin: str) -> bool:
    """True when ``pin`` matches ``pin_hash`` (argon2, or PBKDF2 with the hash's own iteration
    count, compared in constant time). A malformed hash or a non-string PIN never matches."""
    if not isinstance(pin_hash, str) or not isinstance(pin, str):
        return False
    if ARGON2_RE.match(pin_hash):
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return _hasher().verify(pin_hash, pin)
        except (VerificationError, InvalidHashError, ValueError):
            return False
    m = PIN_HASH_RE.match(pin_hash)
    if not m:
        return False
    iterations, salt, want = int(m[1]), bytes.fromhex(m[2]), m[3]
    if not 1 <= iterations <= PBKDF2_MAX_ITERATIONS:
        return False
    got = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations).hex()
    return hmac.compare_digest(got, want)
