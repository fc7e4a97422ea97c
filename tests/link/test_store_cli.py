"""``cart store carts / receipt`` and ``cart gate verify --db`` on a store database that a
simulated cart filled over the broker."""

from __future__ import annotations

import json

import pytest

from cart.cli import main
from cart.office import db
from cart.office.serve import StoreService
from cart.sim.link_fleet import SimCart, play_trips
from cart.store.loading import load_store
from tests.link_tools import wait_for


@pytest.fixture
def filled(store_net, dsn, tmp_path):
    store = load_store()
    cart = SimCart(
        tmp_path / "c", "cart-07", store, endpoint=store_net.endpoint("cart-07"), store_keys={}
    ).start()
    svc = StoreService(dsn, store_net.id, store_net.endpoint("store-service")).start()
    try:
        trips = [t for t in play_trips(store, range(4)) if t.status == "checked_out"]
        for i, t in enumerate(trips[:2]):
            cart.write_trip(t, f"trip-{i}")
        assert wait_for(lambda: cart.outbox.stats()["pending"] == 0)
        with db.connect(dsn) as conn:
            db.register_carts(conn, store.config.id, {"cart-07": cart.key.public_bytes})
            assert wait_for(lambda: db.fleet(conn) and db.fleet(conn)[0]["versions"])
    finally:
        cart.close()
        svc.stop()
    return dsn


def test_fleet_status_lists_the_cart(filled, capsys):
    assert main(["store", "carts", "--db", filled, "--json"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[0])
    assert row["cart"] == "cart-07" and row["trips"] == 2 and row["online"] is False
    assert row["versions"]["model"] == "grocery_lite0_int8" and row["errors"] == []
    assert main(["store", "carts", "--db", filled]) == 0
    assert "cart-07" in capsys.readouterr().out


def test_receipt_by_session_or_exit_code_and_as_orf(filled, capsys):
    assert main(["store", "receipt", "trip-0", "--db", filled]) == 0
    text = capsys.readouterr().out
    assert "TOTAL SEK" in text and "cart cart-07" in text
    with db.connect(filled) as conn:
        code, total = conn.execute(
            "SELECT a.exit_code, r.total FROM audits a JOIN receipts r USING (cart, session) "
            "WHERE session = 'trip-1'"
        ).fetchone()
    assert main(["store", "receipt", code, "--db", filled, "--format", "orf"]) == 0
    orf = json.loads(capsys.readouterr().out)
    assert orf["orf_version"] == "1.0" and orf["receipt_id"] == "cart-07/trip-1"
    whole, frac = orf["totals"]["total"].split(".")
    assert int(whole) * 100 + int(frac) == total
    assert main(["store", "receipt", "nope", "--db", filled]) == 1


def test_the_gate_reads_the_carts_keys_from_the_store_database(filled, capsys, tmp_path):
    with db.connect(filled) as conn:
        code, t_ms = conn.execute("SELECT exit_code, t_ms FROM audits LIMIT 1").fetchone()
    seen = str(tmp_path / "seen.sqlite")
    argv = ["gate", "verify", code, "--db", filled, "--seen", seen, "--now", str(t_ms + 1000)]
    assert main([*argv, "--json"]) in (0, 3)
    out = json.loads(capsys.readouterr().out)
    assert out["outcome"] in ("OPEN", "SPOT CHECK") and out["claim"]["cart"] == "cart-07"
    with db.connect(filled) as conn:
        conn.execute("UPDATE carts SET public_key = NULL")  # revoked in the database
        conn.commit()
    assert main([*argv, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["reason"] == "unknown_cart"
