"""Store -> carts: sign and push a catalogue bundle (retained, so a cart that connects later gets
it), or a command (to one cart, or to all with ``cart="*"``)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from cart.common import wire
from cart.common.mqtt import Endpoint, client


class PublishError(RuntimeError):
    pass


def publish_once(
    endpoint: Endpoint, client_id: str, topic: str, payload: bytes, *, retain: bool = False
) -> None:
    """Connect, publish QoS 1, wait for the broker's PUBACK, disconnect."""
    c = client(f"{client_id}-{uuid.uuid4().hex[:6]}", endpoint)
    ready, result = threading.Event(), {}

    def on_connect(cl, userdata, flags, reason, properties) -> None:
        result["reason"] = reason
        ready.set()

    c.on_connect = on_connect
    try:
        c.connect(endpoint.host, endpoint.port, keepalive=30)
    except OSError as exc:
        raise PublishError(f"the broker {endpoint.host}:{endpoint.port}: {exc}") from None
    c.loop_start()
    try:
        if not ready.wait(10) or result["reason"].is_failure:
            raise PublishError(f"the broker did not accept us: {result.get('reason')}")
        info = c.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        if not info.is_published():
            raise PublishError(f"the broker did not acknowledge {topic}")
    finally:
        c.disconnect()
        c.loop_stop()


def publish_catalog(
    folder: str | Path,
    *,
    version: int,
    t_ms: int,
    key,
    endpoint: Endpoint,
    client_id: str = "store-service",
) -> dict[str, Any]:
    """Sign the store folder as ``version`` and push it; returns the bundle's body."""
    from cart.store.bundle import make_bundle

    doc = make_bundle(folder, version, t_ms, key)
    store = doc["body"]["store"]
    publish_once(
        endpoint, client_id, wire.store_topic(store, "catalog"), wire.canonical(doc), retain=True
    )
    return doc["body"]


def command(
    store: str, cart: str, action: str, args: dict[str, Any], t_ms: int, key, cid: str = ""
) -> tuple[str, dict[str, Any]]:
    """``(topic, signed envelope)`` of a command."""
    body = {
        "id": cid or f"c-{uuid.uuid4().hex[:12]}",
        "store": store,
        "cart": cart,
        "t_ms": int(t_ms),
        "action": action,
        "args": dict(args),
    }
    topic = (
        wire.store_topic(store, "command")
        if cart == "*"
        else wire.cart_topic(store, cart, "command")
    )
    return topic, wire.sign_envelope("command", body, key)
