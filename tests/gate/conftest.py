"""Fixtures for the exit code and the gate: a cart key, the store's carts file, a code maker."""

from __future__ import annotations

import pytest

from cart.basket import exitcode
from cart.common import keys

STORE = "demo-sthlm-01"
T0 = 1_767_258_000_000  # 2026-01-01 09:00 UTC


@pytest.fixture
def key():
    return keys.generate("cart-0001")


@pytest.fixture
def carts(key):
    return {key.cart_id: key.public_bytes}


def claim(key, **kw) -> exitcode.ExitClaim:
    fields = dict(
        store=STORE,
        cart=key.cart_id,
        session="0123456789abcdef",
        total=31950,
        items=12,
        t_ms=T0,
        spot_check=False,
        band="low",
    )
    fields.update(kw)
    return exitcode.ExitClaim(**fields)


@pytest.fixture
def make_code(key):
    def make(**kw) -> str:
        return exitcode.build(claim(key, **kw), key.sign)

    return make


def flip_bit(code: str, byte: int, bit: int = 0) -> str:
    """The code with one bit of its decoded bytes flipped (byte -1: the signature's last)."""
    import base64

    text = code[len(exitcode.PREFIX) :]
    raw = bytearray(base64.b32decode(text + "=" * (-len(text) % 8)))
    raw[byte] ^= 1 << bit
    return exitcode.PREFIX + base64.b32encode(bytes(raw)).decode().rstrip("=")
