"""The MQTT 5 client settings the store side and the cart side share (paho-mqtt 2)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

SESSION_EXPIRY_S = 14 * 86_400  # the broker keeps a disconnected client's queue two weeks


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the broker is and how to prove who we are: TLS with a client certificate (the
    broker takes its CN as the user name) or, on loopback only, plain."""

    host: str = "127.0.0.1"
    port: int = 8883
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None

    @property
    def tls(self) -> bool:
        return self.ca is not None


def client(client_id: str, endpoint: Endpoint):
    """A paho MQTT 5 client for ``client_id`` (not yet connected)."""
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if endpoint.tls:
        c.tls_set(
            ca_certs=str(endpoint.ca),
            certfile=str(endpoint.cert) if endpoint.cert else None,
            keyfile=str(endpoint.key) if endpoint.key else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    c.max_inflight_messages_set(100)
    c.max_queued_messages_set(0)
    return c


def connect_properties(expiry_s: int = SESSION_EXPIRY_S):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    p = Properties(PacketTypes.CONNECT)
    p.SessionExpiryInterval = expiry_s
    return p


def connect(c, endpoint: Endpoint, *, reconnect_max_s: float) -> None:
    """Connect ``c`` in the background with the link's settings (a session kept across
    reconnects, reconnecting with backoff up to ``reconnect_max_s``) and start its network
    thread: one way for the cart and the store service alike."""
    c.reconnect_delay_set(min_delay=1, max_delay=reconnect_max_s)
    c.connect_async(
        endpoint.host,
        endpoint.port,
        keepalive=30,
        clean_start=False,
        properties=connect_properties(),
    )
    c.loop_start()
