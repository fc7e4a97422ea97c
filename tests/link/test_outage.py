"""The outage test: 20 simulated carts play trips while the broker is stopped and started again,
some carts reboot during the outage, and the store service is restarted; afterwards every
receipt and audit record is in PostgreSQL exactly once.

The outage lasts seconds here (the cart's outbox does not care how long: ``cart bench link
--outage-s 120`` runs minutes); the counts are asserted exactly.
"""

from __future__ import annotations

import time

import pytest

from cart.office import db
from cart.office.serve import StoreService
from cart.sim.link_fleet import SimCart, play_trips
from cart.store.loading import load_store
from tests.link_tools import wait_for

CARTS = 20
TRIPS_PER_PHASE = 2  # trips per cart in each of the three phases


@pytest.mark.slow
def test_every_receipt_and_audit_lands_once_through_outages(store_net, dsn, tmp_path):
    store = load_store()
    played = play_trips(store, range(12))
    carts = [
        SimCart(
            tmp_path / f"c{i}",
            f"cart-{i:02d}",
            store,
            endpoint=store_net.endpoint(f"cart-{i:02d}"),
            store_keys={},
            resend_s=1.0,
        ).start()
        for i in range(CARTS)
    ]
    svc_ep = store_net.endpoint("store-service")
    svc = StoreService(dsn, store_net.id, svc_ep, reconnect_max_s=1).start()
    expected: dict[str, set[tuple[str, str]]] = {"receipt": set(), "audit": set()}
    k = 0

    def shop(phase: str) -> None:
        nonlocal k
        for c in carts:
            for j in range(TRIPS_PER_PHASE):
                trip = played[k % len(played)]
                k += 1
                sid = c.write_trip(trip, f"{c.cart_id}-{phase}{j}")
                expected["receipt"].add((c.cart_id, sid))
                if trip.status == "checked_out":
                    expected["audit"].add((c.cart_id, sid))

    try:
        assert svc.connected.wait(10)
        shop("a")  # all up
        time.sleep(0.5)
        store_net.broker.stop()  # the broker goes away with records in flight
        shop("b")
        for c in carts[:5]:
            c.reboot()  # power cycled during the outage: the outbox is on disk
        time.sleep(2.0)
        assert all(c.outbox.stats()["pending"] > 0 for c in carts)
        store_net.broker.start()
        assert wait_for(lambda: svc.connected.is_set(), 30)
        svc.stop()  # the store service restarts while carts deliver
        shop("c")
        time.sleep(1.0)
        svc = StoreService(dsn, store_net.id, svc_ep, reconnect_max_s=1).start()
        assert wait_for(lambda: all(c.outbox.stats()["pending"] == 0 for c in carts), 90), [
            c.outbox.stats() for c in carts if c.outbox.stats()["pending"]
        ]
    finally:
        for c in carts:
            c.close()
        svc.stop()
    with db.connect(dsn) as conn:
        receipts = set(conn.execute("SELECT cart, session FROM receipts").fetchall())
        audits = set(conn.execute("SELECT cart, session FROM audits").fetchall())
        counts = db.counts(conn)
        assert db.duplicates(conn) == 0
    assert receipts == expected["receipt"] and counts["receipts"] == len(expected["receipt"])
    assert audits == expected["audit"] and counts["audits"] == len(expected["audit"])
    assert counts["telemetry"] == CARTS * 3 * TRIPS_PER_PHASE
    assert len(receipts) == CARTS * 3 * TRIPS_PER_PHASE
    print(f"outage test: {counts}")
