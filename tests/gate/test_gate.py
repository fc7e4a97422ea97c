"""The exit gate: OPEN for a real code, SPOT CHECK when the cart drew one, REFUSE with the reason
for a forged, changed, expired, future, replayed, unknown-cart or other-store code; through the
pure check and through `cart gate verify` (exit status 0 / 3 / 1)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cart.basket import exitcode, gate
from cart.basket.gate import OPEN, REFUSE, SPOT_CHECK, SeenSessions, check, verify_at_gate
from cart.cli import main
from cart.common import keys
from cart.store.loading import DEMO_STORE
from tests.gate.conftest import STORE, T0, claim, flip_bit

NOW = T0 + 4 * 60_000  # four minutes after check-out


def test_check_outcomes(key, carts, make_code):
    ok = check(make_code(), store_id=STORE, carts=carts, now_ms=NOW)
    assert (ok.outcome, ok.reason, ok.status) == (OPEN, "ok", 0)
    assert ok.claim.total == 31950 and ok.claim.cart == key.cart_id
    spot = check(make_code(spot_check=True, band="medium"), store_id=STORE, carts=carts, now_ms=NOW)
    assert (spot.outcome, spot.status) == (SPOT_CHECK, 3) and "medium" in spot.detail


@pytest.mark.parametrize(
    "case, reason",
    [
        ("forged", "bad_signature"),
        ("tampered", "bad_signature"),
        ("expired", "expired"),
        ("future", "future"),
        ("unknown", "unknown_cart"),
        ("store", "wrong_store"),
        ("unsigned", "unsigned"),
        ("garbage", "malformed"),
    ],
)
def test_check_refusals(key, carts, make_code, case, reason):
    code = make_code()
    now, known, store = NOW, carts, STORE
    if case == "forged":
        code = exitcode.build(claim(key, total=0), keys.generate(key.cart_id).sign)
    elif case == "tampered":
        code = flip_bit(code, -10)  # in the signature
    elif case == "expired":
        now = T0 + 16 * 60_000
    elif case == "future":
        now = T0 - 10 * 60_000
    elif case == "unknown":
        known = {"cart-9": keys.generate("cart-9").public_bytes}
    elif case == "store":
        store = "other-store"
    elif case == "unsigned":
        code = "CART1:demo-sthlm-01:0123456789abcdef:0:deadbeef0000"
    elif case == "garbage":
        code = "https://example.com/"
    v = check(code, store_id=store, carts=known, now_ms=now)
    assert (v.outcome, v.reason, v.status) == (REFUSE, reason, 1), v


def test_age_is_configurable(carts, make_code):
    code = make_code()
    later = T0 + 20 * 60_000
    assert check(code, store_id=STORE, carts=carts, now_ms=later).reason == "expired"
    v = check(code, store_id=STORE, carts=carts, now_ms=later, max_age_ms=30 * 60_000)
    assert v.outcome == OPEN


def test_second_use_of_a_session_is_refused(carts, make_code, tmp_path):
    with SeenSessions(tmp_path / "seen.sqlite") as seen:
        first = verify_at_gate(make_code(), store_id=STORE, carts=carts, now_ms=NOW, seen=seen)
        assert first.outcome == OPEN
        # the same code again, and a fresh code for the same trip (the cart shows it again)
        for code in (make_code(), make_code(total=10)):
            again = verify_at_gate(code, store_id=STORE, carts=carts, now_ms=NOW + 5000, seen=seen)
            assert (again.outcome, again.reason) == (REFUSE, "replayed")
        other = verify_at_gate(
            make_code(session="fedcba9876543210"),
            store_id=STORE,
            carts=carts,
            now_ms=NOW,
            seen=seen,
        )
        assert other.outcome == OPEN
    # the file remembers across gate restarts (and is shared by gates)
    with SeenSessions(tmp_path / "seen.sqlite") as seen:
        v = verify_at_gate(make_code(), store_id=STORE, carts=carts, now_ms=NOW, seen=seen)
        assert v.reason == "replayed"


def test_a_refused_code_does_not_use_up_the_trip(carts, make_code):
    with SeenSessions() as seen:
        v = verify_at_gate(make_code(), store_id="other", carts=carts, now_ms=NOW, seen=seen)
        assert v.reason == "wrong_store"
        v = verify_at_gate(make_code(), store_id=STORE, carts=carts, now_ms=NOW, seen=seen)
        assert v.outcome == OPEN


# ---- the command ---------------------------------------------------------------------------


@pytest.fixture
def store_dir(tmp_path, key):
    """The demo store with this cart registered in its carts.toml."""
    d = tmp_path / "store"
    d.mkdir()
    for name in ("store.toml", "catalog.toml"):
        (d / name).write_bytes((DEMO_STORE / name).read_bytes())
    (d / "carts.toml").write_text(f"[carts]\n{keys.carts_line(key)}\n")
    return d


def verify(store_dir, tmp_path, code, *extra):
    return main(
        [
            "gate",
            "verify",
            code,
            "--store",
            str(store_dir),
            "--seen",
            str(tmp_path / "seen.sqlite"),
            "--now",
            str(NOW),
            *extra,
        ]
    )


def test_command_open_then_replayed(store_dir, tmp_path, make_code, capsys):
    code = make_code()
    assert verify(store_dir, tmp_path, code) == 0
    out = capsys.readouterr().out
    assert out.startswith("OPEN: paid") and "319.50 SEK" in out and "items 12" in out
    assert verify(store_dir, tmp_path, code) == 1
    assert capsys.readouterr().out.startswith("REFUSE: replayed")


def test_command_spot_check(store_dir, tmp_path, make_code, capsys):
    assert verify(store_dir, tmp_path, make_code(spot_check=True, band="high")) == 3
    assert capsys.readouterr().out.startswith("SPOT CHECK: picked for a spot check (high")


@pytest.mark.parametrize(
    "case, reason",
    [
        ("forged", "bad_signature"),
        ("tampered", "bad_signature"),
        ("expired", "expired"),
        ("unknown", "unknown_cart"),
        ("store", "wrong_store"),
    ],
)
def test_command_refusals(store_dir, tmp_path, key, make_code, capsys, case, reason):
    extra: list[str] = []
    code = make_code()
    if case == "forged":
        code = exitcode.build(claim(key, total=0), keys.generate(key.cart_id).sign)
    elif case == "tampered":
        code = flip_bit(code, -1)
    elif case == "expired":
        extra = ["--max-age", "3"]
    elif case == "unknown":
        other = keys.generate("cart-other")
        code = exitcode.build(claim(other), other.sign)
    elif case == "store":
        code = make_code(store="another-store")
    assert verify(store_dir, tmp_path, code, "--json", *extra) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["outcome"], out["reason"], out["status"]) == ("REFUSE", reason, 1)


def test_command_revocation_and_missing_carts_file(store_dir, tmp_path, make_code, capsys):
    (store_dir / "carts.toml").write_text("[carts]\n")  # the cart was removed from the list
    assert verify(store_dir, tmp_path, make_code()) == 1
    assert "unknown_cart" in capsys.readouterr().out
    (store_dir / "carts.toml").unlink()
    assert verify(store_dir, tmp_path, make_code()) == 1  # fails closed
    assert "REFUSE: gate_not_configured" in capsys.readouterr().out


@pytest.mark.slow
def test_real_command_line_exit_statuses(store_dir, tmp_path, make_code):
    code = make_code()
    base = [
        sys.executable,
        "-m",
        "cart",
        "gate",
        "verify",
        "--store",
        str(store_dir),
        "--seen",
        str(tmp_path / "s.sqlite"),
        "--now",
        str(NOW),
    ]
    first = subprocess.run(base + [code], capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and first.stdout.startswith("OPEN"), first.stderr
    second = subprocess.run(
        base + ["-"], input=code + "\n", capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 1 and "replayed" in second.stdout
    assert (
        subprocess.run(base + ["--max-age", "0", code], capture_output=True, timeout=60).returncode
        == 2
    )


def test_statuses_are_documented():
    assert gate.EXIT_STATUS == {"OPEN": 0, "SPOT CHECK": 3, "REFUSE": 1}
