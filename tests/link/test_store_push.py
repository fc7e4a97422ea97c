"""Store -> cart over the broker: a signed catalogue taken between trips and its version
reported; commands carried out only with the store's signature, once, and journaled."""

from __future__ import annotations

import shutil
import time

import pytest

from cart.common import wire
from cart.common.keys import generate
from cart.office import db
from cart.office.publish import command, publish_catalog, publish_once
from cart.office.serve import StoreService
from cart.sim.link_fleet import SimCart, play_trips
from cart.store.loading import DEMO_STORE, load_store
from tests.link_tools import wait_for


@pytest.fixture
def store_key():
    return generate("store-key-1")


@pytest.fixture
def cart(store_net, store_key, tmp_path):
    c = SimCart(
        tmp_path / "cart",
        "cart-01",
        load_store(),
        endpoint=store_net.endpoint("cart-01"),
        store_keys={store_key.cart_id: store_key.public_bytes},
        resend_s=1.0,
        health_s=0.5,
    ).start()
    assert c.link.connected.wait(10)
    yield c
    c.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def test_a_pushed_catalogue_is_used_from_the_next_trip_and_reported(
    store_net, store_key, cart, dsn, tmp_path
):
    folder = tmp_path / "store"
    shutil.copytree(DEMO_STORE, folder)
    text = (folder / "catalog.toml").read_text()
    (folder / "catalog.toml").write_text(
        text.replace("price_per_kg = 2495", "price_per_kg = 1995", 1)
    )
    svc = StoreService(dsn, store_net.id, store_net.endpoint("store-service")).start()
    played = play_trips(load_store(), [3])[0]
    try:
        before = cart.store.digest
        publish_catalog(
            folder,
            version=7,
            t_ms=now_ms(),
            key=store_key,
            endpoint=store_net.endpoint("store-service"),
        )
        assert wait_for(lambda: cart.next_store is not None)
        assert cart.store.digest == before  # not mid-trip: only offered
        cart.write_trip(played, "after-push")
        assert cart.store.digest == load_store(folder).digest and cart.catalog_version == 7
        # the health the cart reports carries the version it runs
        assert wait_for(lambda: fleet_version(dsn) == 7)
        # a tampered push is refused; the cart keeps v7
        doc = wire.sign_envelope(
            "catalog", {"store": store_net.id, "version": 8}, generate("store-key-1")
        )
        publish_once(
            store_net.endpoint("store-service"),
            "t",
            wire.store_topic(store_net.id, "catalog"),
            wire.canonical(doc),
            retain=True,
        )
        assert wait_for(lambda: cart.keeper.refused == 1)
        assert cart.catalog_version == 7 and cart.next_store is None
    finally:
        svc.stop()


def fleet_version(dsn):
    with db.connect(dsn) as conn:
        rows = db.fleet(conn)
    return rows[0]["versions"].get("catalog") if rows else None


def send(store_net, topic, doc) -> None:
    publish_once(store_net.endpoint("store-service"), "t", topic, wire.canonical(doc))


def test_commands_need_the_store_signature_and_are_journaled_once(store_net, store_key, cart, dsn):
    svc = StoreService(dsn, store_net.id, store_net.endpoint("store-service")).start()
    try:
        topic, lock = command(
            store_net.id, "cart-01", "lock", {"reason": "wheel"}, now_ms(), store_key
        )
        send(store_net, topic, lock)
        assert wait_for(lambda: cart.locked == "wheel")
        send(store_net, topic, lock)  # replayed
        _, forged = command(
            store_net.id, "cart-01", "unlock", {}, now_ms(), generate("store-key-1")
        )
        send(store_net, topic, forged)  # the right key id, not the store's key
        unsigned = {
            **command(store_net.id, "cart-01", "unlock", {}, now_ms(), store_key)[1],
            "sig": "",
        }
        send(store_net, topic, unsigned)
        _, old = command(store_net.id, "cart-01", "unlock", {}, now_ms() - 3_600_000, store_key)
        send(store_net, topic, old)  # expired
        _, other = command(store_net.id, "cart-02", "unlock", {}, now_ms(), store_key)
        send(store_net, topic, other)  # for another cart
        assert wait_for(lambda: cart.commands.refused == 5)
        assert cart.locked == "wheel"
        t2, rate = command(store_net.id, "*", "spot_check_rate", {"rate": 0.5}, now_ms(), store_key)
        send(store_net, t2, rate)
        assert wait_for(lambda: cart.spot_check_rate == 0.5)
        assert cart.commands.done == 2
        # journaled on the cart and delivered: every command and what became of it
        assert wait_for(lambda: command_outcomes(dsn) == {"done": 2, "refused": 5})
    finally:
        svc.stop()


def command_outcomes(dsn):
    with db.connect(dsn) as conn:
        rows = conn.execute("SELECT outcome, count(*) FROM commands GROUP BY outcome").fetchall()
    return dict(rows)


def test_publish_and_command_from_the_command_line(store_net, cart, dsn, tmp_path):
    from cart.cli import main
    from cart.common.keys import init_keys

    key = init_keys(tmp_path / "store-keys", "store-key-1")
    cart.keeper.keys = {key.cart_id: key.public_bytes}
    cart.commands.keys = {key.cart_id: key.public_bytes}
    ep = store_net.endpoint("store-service")
    broker = [
        "--broker",
        f"127.0.0.1:{ep.port}",
        "--ca",
        str(ep.ca),
        "--cert",
        str(ep.cert),
        "--key",
        str(ep.key),
    ]
    sign = ["--signing-key", str(tmp_path / "store-keys")]
    for _ in range(2):  # the version is the database's last + 1
        assert main(["store", "publish-catalog", str(DEMO_STORE), *sign, "--db", dsn, *broker]) == 0
    assert wait_for(lambda: cart.catalog_version == 2), (
        cart.keeper.version,
        cart.keeper.last_refusal,
    )
    with db.connect(dsn) as conn:
        assert db.latest_catalog(conn, store_net.id) == 2
    assert main(["store", "command", "cart-01", "lock", "--reason", "stop", *sign, *broker]) == 0
    assert wait_for(lambda: cart.locked == "stop")
    assert main(["store", "command", "cart-01", "spot_check_rate", *sign, *broker]) == 2


def test_a_cart_that_vanishes_is_reported_offline_by_its_last_will(store_net, cart, dsn):
    svc = StoreService(dsn, store_net.id, store_net.endpoint("store-service")).start()
    try:
        with db.connect(dsn) as conn:
            assert wait_for(lambda: db.fleet(conn) and db.fleet(conn)[0]["online"])
            c = cart.link._client
            c.loop_stop()  # the cart dies: no DISCONNECT, the socket just goes
            c.socket().close()
            assert wait_for(lambda: not db.fleet(conn)[0]["online"])
    finally:
        svc.stop()
