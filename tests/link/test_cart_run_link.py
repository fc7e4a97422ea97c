"""``cart run`` with ``[link]``: the assembled cart (cart.app.hardware.build) on the store's
broker: online with its health and versions, its receipt in the store database, the store's
catalogue and commands reaching its engine."""

from __future__ import annotations

import time

import pytest

from cart.app import actions
from cart.app.hardware import ProfileError, build
from cart.common import wire
from cart.common.events import WeightSettled
from cart.common.keys import generate, init_keys
from cart.office import db
from cart.office.publish import command, publish_catalog, publish_once
from cart.office.serve import StoreService
from cart.store.loading import DEMO_STORE
from tests.link_tools import wait_for

MILK = "7310000100147"


def profile(tmp_path, store_net, store_key) -> str:
    init_keys(tmp_path / "keys", "cart-run-1")
    ep = store_net.endpoint("cart-run-1")
    (tmp_path / "store-keys.toml").write_text(
        f'[keys]\n"{store_key.cart_id}" = "{store_key.public_hex}"\n'
    )
    p = tmp_path / "cart.toml"
    p.write_text(
        f"""
[keys]
dir = "{tmp_path / "keys"}"
[scanner.hand]
url = "simscanner://link-run"
terminator = "CR"
[link]
host = "127.0.0.1"
port = {ep.port}
ca = "{ep.ca}"
cert = "{ep.cert}"
key = "{ep.key}"
store_keys = "store-keys.toml"
catalog_dir = "catalog"
resend_s = 1
"""
    )
    return str(p)


def test_the_assembled_cart_joins_its_store(tmp_path, store_net, dsn):
    from cart.sim.scanner import ScannerSim

    store_key = generate("store-key-1")
    sim = ScannerSim("link-run")
    p = profile(tmp_path, store_net, store_key)
    svc = StoreService(dsn, store_net.id, store_net.endpoint("store-service")).start()
    runtime = build(p, journal_path=tmp_path / "j.sqlite")
    try:
        runtime.start()
        sim.scan(MILK, "]E0")
        assert wait_for(lambda: runtime.view.lines, 15)
        runtime.post(WeightSettled(int(time.time() * 1000), 1580.0, 1580.0, 400, 0.5))
        assert wait_for(lambda: not runtime.view.alerts, 15), runtime.view.alerts
        runtime.submit(actions.Pay())
        assert wait_for(lambda: runtime.view.receipt is not None, 15)
        with db.connect(dsn) as conn:
            assert wait_for(
                lambda: db.counts(conn)["receipts"] == 1 and db.counts(conn)["audits"] == 1
            )
            assert wait_for(lambda: db.fleet(conn)[0]["online"])
        ep = store_net.endpoint("store-service")
        publish_catalog(
            DEMO_STORE, version=2, t_ms=int(time.time() * 1000), key=store_key, endpoint=ep
        )
        assert wait_for(lambda: runtime.engine.next_store is not None)
        topic, doc = command(
            store_net.id,
            "cart-run-1",
            "lock",
            {"reason": "audit"},
            int(time.time() * 1000),
            store_key,
        )
        publish_once(ep, "t", topic, wire.canonical(doc))
        assert wait_for(lambda: runtime.engine.locked == "audit")
        runtime.close()
        with db.connect(dsn) as conn:  # a clean stop says offline itself (the will: crashes)
            assert wait_for(lambda: not db.fleet(conn)[0]["online"])
    finally:
        runtime.close()
        svc.stop()
        sim.close()


def test_a_link_without_the_carts_own_key_is_a_profile_error(tmp_path, store_net):
    p = profile(tmp_path, store_net, generate("k"))
    path = tmp_path / "cart.toml"
    text = path.read_text().replace(f'dir = "{tmp_path / "keys"}"', f'dir = "{tmp_path / "no"}"')
    path.write_text(text)
    with pytest.raises(ProfileError, match="needs the cart's own key"):
        build(p, journal_path=tmp_path / "j.sqlite")
