"""Staff PIN hashes (cart.store.secrets): the argon2id round trip, legacy PBKDF2 hashes made with
older iteration counts, parameters too weak (or too costly) to load, and the fusion staff gate
using the same functions."""

from __future__ import annotations

import hashlib

import pytest

from cart.fusion.staff import StaffGate
from cart.store.secrets import (
    PIN_HASH_ITERATIONS,
    hash_pin,
    is_pin_hash,
    pbkdf2_hash,
    verify_pin,
    weakness,
)

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


def test_argon2id_round_trip():
    from argon2 import extract_parameters

    h = hash_pin("2468")
    assert h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and is_pin_hash(h)
    p = extract_parameters(h)
    assert (p.memory_cost, p.time_cost, p.parallelism) == (19456, 2, 1)
    assert verify_pin(h, "2468") and weakness(h) == ""
    assert not verify_pin(h, "2469") and not verify_pin(h, "")
    assert hash_pin("2468") != h  # a new random salt each time
    assert hash_pin("2468", b"\1" * 16) == hash_pin("2468", b"\1" * 16)
    assert verify_pin(hash_pin("2468", b"\1" * 16), "2468")


def test_legacy_pbkdf2_round_trip_uses_the_documented_iteration_count():
    h = pbkdf2_hash("2468")
    assert h.startswith(f"pbkdf2_sha256${PIN_HASH_ITERATIONS}$") and is_pin_hash(h)
    assert verify_pin(h, "2468") and not verify_pin(h, "2469") and weakness(h) == ""


def test_hashes_with_older_iteration_counts_still_verify_but_are_weak():
    assert verify_pin(STORE_1000, "1234") and not verify_pin(STORE_1000, "1235")
    assert verify_pin(DEMO_100000, "2468") and not verify_pin(DEMO_100000, "2467")
    old = _old_fusion_hash("9753", b"\7" * 16)
    assert verify_pin(old, "9753") and not verify_pin(old, "9754")
    assert pbkdf2_hash("9753", b"\7" * 16, 60_000) == old
    for h in (STORE_1000, DEMO_100000, old):
        assert "too weak" in weakness(h)


def _argon2(pin: str, t: int, m: int, p: int, kind=None) -> str:
    from argon2 import Type
    from argon2.low_level import hash_secret

    return hash_secret(
        pin.encode(),
        b"saltsaltsalt",
        time_cost=t,
        memory_cost=m,
        parallelism=p,
        hash_len=32,
        type=kind or Type.ID,
    ).decode()


@pytest.mark.parametrize(
    "t,m,p,why",
    [
        (1, 19456, 1, "too weak"),  # one pass
        (2, 8192, 1, "too weak"),  # 8 MiB
        (3, 300 * 1024, 1, "more than"),  # 300 MiB: a login would eat the Pi's memory
        (11, 19456, 1, "more than"),
    ],
)
def test_argon2_parameters_outside_the_floor_or_ceiling_are_refused(t, m, p, why):
    h = _argon2("1234", t, m, p)
    assert verify_pin(h, "1234")  # a real hash, only its parameters are wrong
    assert why in weakness(h)


def test_argon2i_is_not_argon2id():
    from argon2 import Type

    assert "not argon2id" in weakness(_argon2("1234", 2, 19456, 1, Type.I))


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


@pytest.mark.parametrize("pin", ["123", "1234567890123", "12a4", "", "١٢٣٤"])
def test_new_hashes_need_a_pin_of_4_to_12_digits(pin):
    with pytest.raises(ValueError):
        hash_pin(pin)
    with pytest.raises(ValueError):
        pbkdf2_hash(pin)


def test_staff_gate_checks_with_the_same_functions():
    gate = StaffGate({"s1": STORE_1000, "s2": _old_fusion_hash("5555", b"\2" * 16)})
    assert gate.login(1, "s1", "1111") == "wrong"
    assert gate.login(2, "s1", "1234") == "ok"
    assert gate.login(3, "s2", "5555") == "ok"
    assert StaffGate({"*": hash_pin("4321", b"\3" * 16)}).login(4, "anyone", "4321") == "ok"
    assert StaffGate().login(4, "s1", "0000") == "wrong"  # no PINs: the dummy hash, never ok
