"""The store service over a real broker (TLS, per-cart certificates, the ACL) into PostgreSQL:
idempotent on the record id, acknowledged after the commit, a cart only under its own id."""

from __future__ import annotations

import json

import psycopg

from cart.common import wire
from cart.office import db
from cart.office.serve import StoreService
from tests.link_tools import Raw, wait_for


def record(rid: str, kind: str = "telemetry", session: str = "s1") -> bytes:
    body = {"status": "checked_out", "rows": 3}
    return wire.canonical(
        {"v": 1, "id": rid, "kind": kind, "t_ms": 5, "session": session, "body": body}
    )


def rows(dsn: str, sql: str):
    with psycopg.connect(dsn) as c:
        return c.execute(sql).fetchall()


def test_records_land_once_and_are_acknowledged(store_net, dsn):
    svc = StoreService(dsn, store_net.id, store_net.endpoint("store-service")).start()
    cart = Raw(
        "cart-a", store_net.endpoint("cart-a"), [wire.cart_topic(store_net.id, "cart-a", "ack")]
    )
    try:
        assert svc.connected.wait(10)
        topic = wire.cart_topic(store_net.id, "cart-a", "record")
        for _ in range(3):  # the same record three times: a resend, a redelivery
            cart.publish(topic, record("s1.telemetry"))
        cart.publish(topic, record("s2.telemetry", session="s2"))
        assert wait_for(lambda: svc.stats.received == 4)
        assert wait_for(lambda: len(cart.got) >= 1)
        acked = {i for _, p in cart.got for i in json.loads(p)["ids"]}
        assert wait_for(lambda: svc.stats.received == 4 and svc.idle())
    finally:
        cart.close()
        svc.stop()
    assert acked <= {"s1.telemetry", "s2.telemetry"}
    assert rows(dsn, "SELECT cart, id FROM records ORDER BY id") == [
        ("cart-a", "s1.telemetry"),
        ("cart-a", "s2.telemetry"),
    ]
    assert svc.stats.new == 2 and svc.stats.duplicate == 2


def test_a_cart_cannot_publish_as_another_cart(store_net, dsn):
    svc = StoreService(dsn, store_net.id, store_net.endpoint("store-service")).start()
    a = Raw("cart-a", store_net.endpoint("cart-a"))
    try:
        assert svc.connected.wait(10)
        a.publish(wire.cart_topic(store_net.id, "cart-b", "record"), record("forged.receipt"))
        a.publish(wire.cart_topic(store_net.id, "cart-b", "presence"), b'{"v":1,"state":"online"}')
        a.publish(wire.store_topic(store_net.id, "catalog"), b'{"v":1}', retain=True)
        a.publish(wire.cart_topic(store_net.id, "cart-a", "record"), record("own.telemetry"))
        assert wait_for(lambda: svc.stats.received >= 1)
        assert wait_for(lambda: svc.idle())
    finally:
        a.close()
        svc.stop()
    # only its own record got through: the broker dropped the rest (ACL on the certificate's CN)
    assert rows(dsn, "SELECT cart, id FROM records") == [("cart-a", "own.telemetry")]
    assert rows(dsn, "SELECT cart FROM carts") == [("cart-a",)]
    # and nobody but the store can retain a catalogue: a fresh subscriber gets none
    spy = Raw("cart-c", store_net.endpoint("cart-c"), [wire.store_topic(store_net.id, "catalog")])
    spy.close()
    assert spy.got == []


def test_a_cart_without_a_certificate_of_the_store_is_refused(store_net, tmp_path):
    from cart.office.pki import StoreCA

    other = StoreCA(tmp_path / "other")
    issued = other.issue("cart-a")
    ep = store_net.endpoint("cart-x")
    from dataclasses import replace

    bad = replace(ep, cert=issued.cert, key=issued.key)
    import ssl

    import pytest

    with pytest.raises((ssl.SSLError, OSError)):  # ConnectionError is an OSError
        Raw("cart-a", bad, timeout=2.0)


def test_invalid_records_are_refused_and_counted(store_net, dsn):
    svc = StoreService(dsn, store_net.id, store_net.endpoint("store-service")).start()
    cart = Raw(
        "cart-a", store_net.endpoint("cart-a"), [wire.cart_topic(store_net.id, "cart-a", "ack")]
    )
    try:
        assert svc.connected.wait(10)
        topic = wire.cart_topic(store_net.id, "cart-a", "record")
        cart.publish(topic, b"not json")
        cart.publish(
            topic,
            wire.canonical(
                {"v": 1, "id": "x1", "kind": "bogus", "t_ms": 1, "session": "s", "body": {}}
            ),
        )
        assert wait_for(lambda: svc.stats.refused == 2)
        assert wait_for(lambda: any(json.loads(p)["refused"] == ["x1"] for _, p in cart.got))
    finally:
        cart.close()
        svc.stop()
    with db.connect(dsn) as conn:
        assert db.counts(conn)["records"] == 0
