"""Every payload of the link, as the code makes it, against its JSON Schema (docs/link/v1)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from cart.app.link.commands import CommandHandler
from cart.common.keys import generate
from cart.common.mqtt import Endpoint
from cart.office.publish import command
from cart.sim.link_fleet import SimCart, play_trips
from cart.store.bundle import make_bundle
from cart.store.loading import DEMO_STORE, load_store

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "link" / "v1"


@pytest.fixture(scope="module")
def validators():
    docs = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    registry = Registry().with_resources(
        (d["$id"], Resource.from_contents(d)) for d in docs.values()
    )
    out = {}
    for name, d in docs.items():
        Draft202012Validator.check_schema(d)
        out[name.removesuffix(".schema.json")] = Draft202012Validator(d, registry=registry)
    return out


def test_records_presence_and_health_match_their_schemas(tmp_path, validators):
    store = load_store()
    cart = SimCart(tmp_path, "cart-01", store, endpoint=Endpoint("127.0.0.1", 1), store_keys={})
    try:
        for i, trip in enumerate(play_trips(store, range(6))):
            cart.write_trip(trip, f"s{i}")
        key = generate("store-key-1")
        handler = CommandHandler(
            cart.journal,
            store_id=store.config.id,
            cart_id="cart-01",
            keys={key.cart_id: key.public_bytes},
            now_ms=lambda: int(time.time() * 1000),
            act=lambda a, x: None,
        )
        _, doc = command(store.config.id, "cart-01", "lock", {}, int(time.time() * 1000), key)
        handler.handle(doc)
        handler.handle({**doc, "sig": ""})
        pending = cart.outbox.pending(1000)
        kinds = {p.kind for p in pending}
        assert kinds == {"receipt", "audit", "telemetry", "staff", "command"}, kinds
        for p in pending:
            validators["record"].validate(json.loads(p.payload))
        validators["presence"].validate(json.loads(cart.link._presence("offline")))
        validators["health"].validate(json.loads(json.dumps(cart.link.health_doc())))
    finally:
        cart.close()


def test_a_receipt_that_breaks_the_schema_is_caught(tmp_path, validators):
    store = load_store()
    receipt = play_trips(store, [1])[0].receipt
    validators["receipt"].validate(receipt)
    bad = {**receipt, "totals": {**receipt["totals"], "total": "12.50"}}
    assert not validators["receipt"].is_valid(bad)


def test_store_messages_match_their_schemas(validators):
    key = generate("store-key-1")
    validators["catalog"].validate(make_bundle(DEMO_STORE, 1, 5, key))
    _, doc = command("s", "*", "spot_check_rate", {"rate": 0.2, "band": "all"}, 5, key)
    validators["command"].validate(doc)
    validators["ack"].validate({"v": 1, "ids": ["s1.receipt"], "refused": []})
