"""Small helpers for the link tests: a raw MQTT client, waiting for a condition."""

from __future__ import annotations

import threading
import time

from cart.common.mqtt import Endpoint, client


def wait_for(cond, timeout: float = 20.0, step: float = 0.05) -> bool:
    """Poll ``cond()`` until it is true (True) or the timeout passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


class Raw:
    """A connected paho client that records what it receives."""

    def __init__(
        self, cn: str, endpoint: Endpoint, subscribe: list[str] = (), timeout: float = 10.0
    ) -> None:
        self.got: list[tuple[str, bytes]] = []
        self.c = client(cn, endpoint)
        ready = threading.Event()
        self.reason = None

        def on_connect(c, u, flags, reason, props):
            self.reason = reason
            for t in subscribe:
                c.subscribe(t, 1)
            ready.set()

        self.c.on_connect = on_connect
        self.c.on_message = lambda c, u, m: self.got.append((m.topic, bytes(m.payload)))
        self.c.connect(endpoint.host, endpoint.port)
        self.c.loop_start()
        if not ready.wait(timeout):
            self.close()
            raise ConnectionError("no CONNACK")
        time.sleep(0.2)  # the subscriptions are in place

    def publish(self, topic: str, payload: bytes, retain: bool = False):
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        return info

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()
