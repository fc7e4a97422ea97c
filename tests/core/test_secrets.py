"""Staff PIN hashes (cart.store.secrets): round trip, hashes made with older iteration counts,
and the fusion staff gate using the same functions."""

from __future__ import annotations

import hashlib

import pytest

from cart.fusion.staff import StaffGate
from cart.store.secrets import PIN_HASH_ITERATIONS, hash_pin, is_pin_hash, verify_pin

# Made by the two hashers this module replaced: the store's (1 000 and 100 000 rounds, in the
# test and demo stores) and fusion's (60 000 rounds).
STORE_1000 = (
    "pbkdf2_sha256$1000$00112233445566778899aabbccddeeff$"
    "b8ad0f1dacec0beb4f418fadcb2ee5939ef45823391bb89692028dd1b67e9cef"
)  # "1234"
DEMO_100000 = (
    "pbkdf2_sha256$100000$5eed5eed5eed5eed5eed5eed5eed5eed$"
    "09d192d1f37b02dac98cdd93d8f8fc93f587e4de315ccabd29a255d1933fe4c0"
)  # "2468"


def _old_fusion_hash(pin: str, salt: bytes, iterations: int = 60_000) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def test_round_trip_uses_the_documented_iteration_count():
    h = hash_pin("2468")
    assert h.startswith(f"pbkdf2_sha256${PIN_HASH_ITERATIONS}$") and is_pin_hash(h)
    assert verify_pin(h, "2468")
    assert not verify_pin(h, "2469") and not verify_pin(h, "")
    assert hash_pin("2468") != h  # a new random salt each time
    assert hash_pin("2468", b"\1" * 16) == hash_pin("2468", b"\1" * 16)


def test_hashes_with_older_iteration_counts_still_verify():
    assert verify_pin(STORE_1000, "1234") and not verify_pin(STORE_1000, "1235")
    assert verify_pin(DEMO_100000, "2468") and not verify_pin(DEMO_100000, "2467")
    old = _old_fusion_hash("9753", b"\7" * 16)
    assert verify_pin(old, "9753") and not verify_pin(old, "9754")
    assert hash_pin("9753", b"\7" * 16, 60_000) == old


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "md5$1000$00112233445566778899aabbccddeeff$" + "0" * 64,
        "pbkdf2_sha256$1000$0011$" + "0" * 64,
        "pbkdf2_sha256$0$00112233445566778899aabbccddeeff$" + "0" * 64,
        STORE_1000.upper(),
        None,
    ],
)
def test_malformed_hashes_never_match(bad):
    assert not verify_pin(bad, "1234")


def test_non_string_pin_never_matches():
    assert not verify_pin(STORE_1000, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", ""])
def test_new_hashes_need_a_pin_of_4_to_12_digits(pin):
    with pytest.raises(ValueError):
        hash_pin(pin)


def test_staff_gate_checks_with_the_same_functions():
    gate = StaffGate({"*": STORE_1000, "s2": _old_fusion_hash("5555", b"\2" * 16)})
    assert gate.login(1, "s1", "1111") == "wrong"
    assert gate.login(2, "s1", "1234") == "ok"
    assert gate.login(3, "s2", "5555") == "ok"
    assert StaffGate().login(4, "s1", "0000") == "wrong"  # no PINs: the dummy hash, never ok
