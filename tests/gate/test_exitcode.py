"""The exit code format: a real code reads back exactly; a forged, changed, cut or unknown-cart
code never verifies."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart.basket import exitcode
from cart.basket.exitcode import ExitCodeError
from cart.common import keys
from tests.gate.conftest import STORE, T0, claim, flip_bit


def test_round_trip_and_size(key, carts, make_code):
    code = make_code(spot_check=True, band="high")
    assert code.startswith("CX1:") and len(code) <= 200
    got = exitcode.verify(code, carts)
    assert got == claim(key, spot_check=True, band="high")
    # QR alphanumeric set only (upper case, digits, ':'), so a small QR code
    assert set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567:1")


@given(
    total=st.integers(-(10**9), 10**9),
    items=st.integers(0, 10**5),
    t_ms=st.integers(0, 2**50),
    spot=st.booleans(),
    band=st.sampled_from(exitcode.BANDS),
    session=st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,40}", fullmatch=True),
)
def test_every_claim_round_trips(total, items, t_ms, spot, band, session):
    k = keys.generate("cart-h")
    c = exitcode.ExitClaim(STORE, "cart-h", session, total, items, t_ms, spot, band)
    assert exitcode.verify(exitcode.build(c, k.sign), {"cart-h": k.public_bytes}) == c


def test_forged_with_another_key_is_refused(key, carts):
    forger = keys.generate(key.cart_id)  # same cart id, the shopper's own key
    code = exitcode.build(claim(key, total=0), forger.sign)
    with pytest.raises(ExitCodeError) as e:
        exitcode.verify(code, carts)
    assert e.value.reason == "bad_signature"


def test_unknown_cart_is_refused(key, make_code):
    with pytest.raises(ExitCodeError) as e:
        exitcode.verify(make_code(), {"cart-other": keys.generate().public_bytes})
    assert e.value.reason == "unknown_cart"


@pytest.mark.parametrize(
    "change",
    [
        {"total": 0},
        {"total": 31949},
        {"items": 1},
        {"spot_check": True},
        {"band": "medium"},
        {"t_ms": T0 + 3_600_000},
        {"session": "0123456789abcdee"},
        {"store": "other-store"},
    ],
)
def test_one_field_changed_under_the_old_signature_is_refused(key, carts, make_code, change):
    code = make_code()
    _, _, sig = exitcode.parse(code)
    body = exitcode.payload(dataclasses.replace(claim(key), **change))
    tampered = "CX1:" + base64.b32encode(body + sig).decode().rstrip("=")
    with pytest.raises(ExitCodeError) as e:
        exitcode.verify(tampered, carts)
    assert e.value.reason == "bad_signature"


def test_every_flipped_bit_is_refused(key, carts, make_code):
    code = make_code()
    n = len(exitcode.parse(code)[1]) + exitcode.SIG_LEN
    for i in range(n):
        for bit in range(8):
            bad = flip_bit(code, i, bit)
            with pytest.raises(ExitCodeError) as e:
                exitcode.verify(bad, carts)
            assert e.value.reason in ("malformed", "bad_signature", "unknown_cart")


def test_every_changed_character_is_refused(carts, make_code):
    code = make_code()
    for i in range(4, len(code)):
        for ch in "A7Q":
            if code[i] != ch:
                with pytest.raises(ExitCodeError):
                    exitcode.verify(code[:i] + ch + code[i + 1 :], carts)


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("", "malformed"),
        ("hello", "malformed"),
        ("CX1:", "malformed"),
        ("CX1:abc", "malformed"),
        ("CX2:AAAA", "malformed"),
        ("CART1:demo-sthlm-01:0123:0:abcdef", "unsigned"),
    ],
)
def test_not_a_code(carts, bad, reason):
    with pytest.raises(ExitCodeError) as e:
        exitcode.verify(bad, carts)
    assert e.value.reason == reason


def test_cut_short_or_extended_is_refused(carts, make_code):
    code = make_code()
    for bad in (code[:-8], code[:40], code + "AAAAAAAA", code + "A"):
        with pytest.raises(ExitCodeError):
            exitcode.verify(bad, carts)


def test_build_refuses_what_it_cannot_encode(key):
    for kw in (
        {"band": "extreme"},
        {"store": ""},
        {"session": "x" * 65},
        {"t_ms": -1},
        {"cart": "bad id"},
    ):
        with pytest.raises(ValueError):
            exitcode.build(claim(key, **kw), key.sign)
