"""The cart's side: at check-out the screen's exit code is the signed one, its spot-check
decision journaled; the gate opens for it once. Without a key the demo signs with an ephemeral
one and the cart says loudly that its codes are unsigned."""

from __future__ import annotations

import logging
import os

import pytest

from cart.app import actions
from cart.app.stack import build_runtime, exit_key
from cart.basket import exitcode
from cart.basket.gate import OPEN, REFUSE, SPOT_CHECK, SeenSessions, verify_at_gate
from cart.basket.issuer import issue_exit_code
from cart.basket.journal import Journal
from cart.common import keys
from cart.common.clock import ManualClock
from cart.common.events import Scan, WeightSettled
from cart.store.loading import load_store
from tests.ui.test_engine import Views


@pytest.fixture(scope="module")
def store():
    return load_store()


def shop_and_check_out(store, path, key):
    clock = ManualClock()
    rt = build_runtime(store, path, clock=clock, synchronous="NORMAL", exit_signer=key)
    views = Views()
    rt.attach(views)
    with rt:
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), "7310000100185", "]E0", "scanner:hand"))  # oat milk
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 1045.0, 1045.0, 400, 0.5))
        views.wait(lambda v: v.lines and v.seq == 2)
        rt.submit(actions.Pay())
        view = views.wait(lambda v: v.receipt is not None)
    return view, clock


def test_checkout_shows_a_signed_code_the_gate_opens_for_once(store, tmp_path):
    key = keys.generate("cart-12")
    path = tmp_path / "j.sqlite"
    view, clock = shop_and_check_out(store, path, key)
    code = view.receipt.exit_code
    carts = {key.cart_id: key.public_bytes}
    claim = exitcode.verify(code, carts)
    assert claim.store == store.config.id and claim.session == view.receipt.session_id
    assert claim.total == view.totals.total > 0 and claim.items == 1
    assert claim.band == "low"
    with Journal(path, key=key.derive("journal")) as j:  # the cart's journal, keyed
        stored_code, decision = j.exit_code(claim.session)
        assert stored_code == code and decision["spot_check"] == claim.spot_check
        assert decision["band"] == "low" and decision["cart"] == "cart-12"
        # issuing again gives the same code (the first decision stays)
        receipt = j.receipt(claim.session)
        assert issue_exit_code(j, store, key, claim.session, receipt)[0] == code
    with SeenSessions() as seen:
        now = clock.now_ms() + 60_000
        v = verify_at_gate(code, store_id=store.config.id, carts=carts, now_ms=now, seen=seen)
        assert v.outcome in (OPEN, SPOT_CHECK) and v.outcome == (
            SPOT_CHECK if claim.spot_check else OPEN
        )
        again = verify_at_gate(code, store_id=store.config.id, carts=carts, now_ms=now, seen=seen)
        assert (again.outcome, again.reason) == (REFUSE, "replayed")


def test_without_a_key_the_code_is_the_unsigned_one_the_gate_refuses(store, tmp_path):
    view, clock = shop_and_check_out(store, tmp_path / "j.sqlite", None)
    assert view.receipt.exit_code.startswith("CART1:")
    with SeenSessions() as seen:
        v = verify_at_gate(
            view.receipt.exit_code,
            store_id=store.config.id,
            carts={},
            now_ms=clock.now_ms(),
            seen=seen,
        )
    assert (v.outcome, v.reason) == (REFUSE, "unsigned")


def test_exit_key_for_the_cart_and_for_the_demo(tmp_path, caplog, capsys):
    caplog.set_level(logging.WARNING)
    assert exit_key(tmp_path / "none") is None  # the cart: no key, said clearly
    assert "NOT signed" in capsys.readouterr().err
    assert any("cart keys init" in r.getMessage() for r in caplog.records)
    demo = exit_key(tmp_path / "none", demo=True)
    assert demo is not None and demo.ephemeral and demo.cart_id == "demo-cart"
    assert any(
        "ephemeral demo key" in r.getMessage() and demo.public_hex in r.getMessage()
        for r in caplog.records
    )
    real = keys.init_keys(tmp_path / "k", "cart-3")
    assert exit_key(tmp_path / "k").public_hex == real.public_hex
    assert exit_key(tmp_path / "k", demo=True).public_hex == real.public_hex
    os.chmod(tmp_path / "k" / "cart.key", 0o640)
    with pytest.raises(keys.KeyFileError):
        exit_key(tmp_path / "k")
    assert exit_key(tmp_path / "k", demo=True).ephemeral  # the demo never fails on keys


def test_a_profile_with_an_open_key_file_does_not_start(tmp_path):
    from cart.app.hardware import ProfileError, exit_signer, keys_folder

    keys.init_keys(tmp_path / "k")
    doc = {"keys": {"dir": str(tmp_path / "k")}}
    assert keys_folder("p.toml", doc) == tmp_path / "k"
    assert exit_signer("p.toml", doc) is not None
    os.chmod(tmp_path / "k" / "cart.key", 0o644)
    with pytest.raises(ProfileError, match="0644"):
        exit_signer("p.toml", doc)
    with pytest.raises(ProfileError, match="unknown key"):
        keys_folder("p.toml", {"keys": {"folder": "x"}})


def test_a_trip_with_questions_scores_from_its_journal(store, tmp_path):
    key = keys.generate("cart-12")
    clock = ManualClock()
    path = tmp_path / "j.sqlite"
    rt = build_runtime(store, path, clock=clock, synchronous="NORMAL", exit_signer=key)
    views = Views()
    rt.attach(views)
    with rt:
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 300.0, 300.0, 400, 0.5))  # unscanned: a question
        view = views.wait(lambda v: v.alerts)
        rt.submit(actions.Answer(view.alerts[0].alert_id, "personal"))  # "my own bag"
        views.wait(lambda v: not v.alerts)
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), "7310000100185", "]E0", "scanner:hand"))
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 1345.0, 1045.0, 400, 0.5))
        views.wait(lambda v: v.lines and not v.alerts)
        rt.submit(actions.Pay())
        view = views.wait(lambda v: v.receipt is not None)
    claim = exitcode.verify(view.receipt.exit_code, {key.cart_id: key.public_bytes})
    with Journal(path, key=key.derive("journal")) as j:
        _, decision = j.exit_code(claim.session)
    assert decision["signals"] == {"questions": 1, "personal": 1}
    assert decision["score"] == 2.0 and decision["band"] == claim.band == "medium"
    assert decision["rate"] == 0.10
