"""The signed exit code: what the cart shows as a QR code at check-out and the exit gate
verifies (``cart.basket.gate``). Pure: no I/O, no clock; keys are passed in.

Format (version 1)::

    CX1:<base32 of PAYLOAD || SIGNATURE>          (RFC 4648 alphabet, upper case, no padding)

    PAYLOAD   = 0x01                              version
                str(store) str(cart) str(session) ids, each uvarint length + ASCII bytes
                zigzag-uvarint(total)             minor units
                uvarint(items)
                uvarint(t_ms)                     check-out time, Unix epoch milliseconds
                flags                             1 byte: bit 0 spot check; bits 1-2 risk band
                                                  (0 low, 1 medium, 2 high); others zero
    SIGNATURE = Ed25519(cart's key, "smartcart exit code v1" 0x00 || PAYLOAD)     64 bytes

Upper-case base32 and ``:`` are all in the QR code's alphanumeric set (5.5 bits a character
instead of 8 in byte mode), so a typical code (about 200 characters) fits a version 8 QR code.
Every field is in the signed bytes; the parser is strict (one encoding per code: canonical
base32 and varints, no trailing bytes, known flags only), so a changed character or flipped bit
is either a parse error or a bad signature.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PREFIX = "CX1:"
VERSION = 1
SIGN_CONTEXT = b"smartcart exit code v1\x00"
SIG_LEN = 64
BANDS = ("low", "medium", "high")
MAX_ID = 64
MAX_CODE = 400  # characters: anything longer is not one of ours
_ID_RE = re.compile(rb"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_B32_RE = re.compile(r"^[A-Z2-7]+$")
_MAX_T_MS = 2**53  # far past any clock; keeps the varint short and the value exact
_MAX_TOTAL = 10**12
_MAX_ITEMS = 10**6


class ExitCodeError(ValueError):
    """A code that is not a well-formed, correctly signed exit code. ``reason`` is one of
    ``malformed``, ``unsigned`` (an old unkeyed code), ``unknown_cart``, ``bad_signature``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ExitClaim:
    """What a signed exit code says about one trip."""

    store: str
    cart: str
    session: str
    total: int  # minor units
    items: int
    t_ms: int
    spot_check: bool
    band: str = "low"  # the trip's risk band ("low" | "medium" | "high")


# ---- encoding ---------------------------------------------------------------------------------


def _uvarint(n: int) -> bytes:
    if n < 0:
        raise ValueError("uvarint of a negative number")
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zigzag(n: int) -> int:
    return n * 2 if n >= 0 else -n * 2 - 1


def _str(s: str, what: str) -> bytes:
    raw = s.encode("ascii", "strict") if s.isascii() else b""
    if not raw or len(raw) > MAX_ID or not _ID_RE.match(raw):
        raise ValueError(f"{what} {s!r}: 1-{MAX_ID} characters of A-Z a-z 0-9 _ . - needed")
    return _uvarint(len(raw)) + raw


def payload(claim: ExitClaim) -> bytes:
    """The canonical bytes of ``claim`` (what is signed)."""
    if claim.band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, got {claim.band!r}")
    if not 0 <= claim.t_ms < _MAX_T_MS:
        raise ValueError(f"t_ms out of range: {claim.t_ms}")
    if abs(claim.total) > _MAX_TOTAL or not 0 <= claim.items <= _MAX_ITEMS:
        raise ValueError("total or items out of range")
    flags = int(claim.spot_check) | BANDS.index(claim.band) << 1
    return b"".join(
        (
            bytes([VERSION]),
            _str(claim.store, "store"),
            _str(claim.cart, "cart"),
            _str(claim.session, "session"),
            _uvarint(_zigzag(int(claim.total))),
            _uvarint(int(claim.items)),
            _uvarint(int(claim.t_ms)),
            bytes([flags]),
        )
    )


def signed_message(body: bytes) -> bytes:
    return SIGN_CONTEXT + body


def build(claim: ExitClaim, sign: Callable[[bytes], bytes]) -> str:
    """The exit code for ``claim``; ``sign`` is the cart key's Ed25519 sign (64 bytes back)."""
    body = payload(claim)
    sig = sign(signed_message(body))
    if len(sig) != SIG_LEN:
        raise ValueError(f"an Ed25519 signature is {SIG_LEN} bytes, got {len(sig)}")
    return PREFIX + base64.b32encode(body + sig).decode("ascii").rstrip("=")


# ---- decoding ---------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ExitCodeError("malformed", "the code is cut short")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uvarint(self, limit: int) -> int:
        n, shift, start = 0, 0, self.pos
        while True:
            b = self.byte()
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift > 63:
                raise ExitCodeError("malformed", "a number is too long")
        if self.pos - start > 1 and b == 0:
            raise ExitCodeError("malformed", "a number is not in its shortest form")
        if n > limit:
            raise ExitCodeError("malformed", "a number is out of range")
        return n

    def ident(self, what: str) -> str:
        n = self.uvarint(MAX_ID)
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        if n == 0 or len(raw) != n or not _ID_RE.match(raw):
            raise ExitCodeError("malformed", f"the {what} id is not valid")
        return raw.decode("ascii")


def _b32decode(text: str) -> bytes:
    if not _B32_RE.match(text) or len(text) % 8 in (1, 3, 6):
        raise ExitCodeError("malformed", "not base32 text")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise ExitCodeError("malformed", "not base32 text") from None
    if base64.b32encode(raw).decode("ascii").rstrip("=") != text:
        raise ExitCodeError("malformed", "not in canonical base32")
    return raw


def parse(code: str) -> tuple[ExitClaim, bytes, bytes]:
    """``(claim, payload, signature)`` from a code, **not yet verified**: nothing in it may be
    trusted until :func:`verify` has checked the signature."""
    if not isinstance(code, str):
        raise ExitCodeError("malformed", "not text")
    code = code.strip()
    if code.startswith("CART1:"):
        raise ExitCodeError("unsigned", "an unsigned exit code (CART1): the cart has no key")
    if not code.startswith(PREFIX):
        raise ExitCodeError("malformed", f"not an exit code (it must start with {PREFIX})")
    if len(code) > MAX_CODE:
        raise ExitCodeError("malformed", "too long for an exit code")
    raw = _b32decode(code[len(PREFIX) :])
    if len(raw) <= SIG_LEN:
        raise ExitCodeError("malformed", "the code is cut short")
    body, sig = raw[:-SIG_LEN], raw[-SIG_LEN:]
    r = _Reader(body)
    if r.byte() != VERSION:
        raise ExitCodeError("malformed", "unknown exit code version")
    store, cart, session = r.ident("store"), r.ident("cart"), r.ident("session")
    zz = r.uvarint(2 * _MAX_TOTAL)
    total = zz >> 1 if not zz & 1 else -((zz + 1) >> 1)
    items = r.uvarint(_MAX_ITEMS)
    t_ms = r.uvarint(_MAX_T_MS - 1)
    flags = r.byte()
    if flags & ~0b111 or flags >> 1 >= len(BANDS):
        raise ExitCodeError("malformed", "unknown flags")
    if r.pos != len(body):
        raise ExitCodeError("malformed", "unexpected bytes after the fields")
    claim = ExitClaim(store, cart, session, total, items, t_ms, bool(flags & 1), BANDS[flags >> 1])
    return claim, body, sig


def verify(code: str, public_keys: Mapping[str, bytes]) -> ExitClaim:
    """The claim of a code signed by one of ``public_keys`` (``{cart id: 32-byte key}``), or
    :class:`ExitCodeError` (``malformed``, ``unsigned``, ``unknown_cart``, ``bad_signature``)."""
    claim, body, sig = parse(code)
    key = public_keys.get(claim.cart)
    if key is None:
        raise ExitCodeError("unknown_cart", f"cart {claim.cart!r} is not one of this store's")
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, signed_message(body))
    except (InvalidSignature, ValueError):
        raise ExitCodeError(
            "bad_signature", f"the signature is not cart {claim.cart}'s (forged or changed)"
        ) from None
    return claim
