"""The cart's MQTT 5 client: it empties the journal's outbox into the store and listens for the
store's acknowledgements, catalogue bundles and commands.

- **Outbox** (``cart.basket.journal.outbox``): every pending record is published QoS 1 on
  ``.../cart/C/record``; it stays in the journal until the store service acknowledges it on
  ``.../cart/C/ack`` (after its database commit). Not acknowledged within ``resend_s`` (doubling
  with each try, at most ``max_resend_s``) it is sent again; after a reconnect everything pending
  goes again. At most ``window`` records are unacknowledged at once.
- **Reconnects** are paho's, with backoff from 1 s to 60 s; the MQTT session is persistent
  (``clean_start=False``), so acknowledgements and commands sent while the cart was away wait
  for it at the broker.
- **Presence**: retained ``{"state": "online"}`` on connect; the broker publishes the last will
  ``{"state": "offline"}`` when the cart vanishes, and the cart publishes it itself on a clean
  stop.
- **Health** (retained): the devices' states, software, model and catalogue versions, the
  outbox's counters; on connect and every ``health_s``.

Threads: paho's network thread runs the callbacks; one sender thread reads the outbox. Both
touch the journal only through its own lock (``Journal.query``/``transact``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cart.basket.journal.outbox import Outbox
from cart.common import wire
from cart.common.mqtt import Endpoint, client, connect

log = logging.getLogger(__name__)


@dataclass
class LinkStats:
    published: int = 0
    resent: int = 0
    acked: int = 0
    refused_by_store: int = 0
    connects: int = 0
    disconnects: int = 0


class CartLink:
    """``start()`` / ``stop()``. ``health``: returns the devices and versions part of the
    health message; ``on_catalog`` / ``on_command``: take a parsed store message (catalogue
    bundle, command), each from ``cart.app.link.catalog`` / ``.commands``."""

    def __init__(
        self,
        journal,
        *,
        store_id: str,
        cart_id: str,
        endpoint: Endpoint,
        health: Callable[[], dict[str, Any]] = dict,
        on_catalog: Callable[[Any], Any] | None = None,
        on_command: Callable[[Any], Any] | None = None,
        resend_s: float = 30.0,
        max_resend_s: float = 600.0,
        window: int = 200,
        poll_s: float = 0.2,
        health_s: float = 60.0,
        reconnect_max_s: int = 60,
    ) -> None:
        self.outbox = Outbox(journal)
        self.store_id, self.cart_id, self.endpoint = store_id, cart_id, endpoint
        self.health, self.on_catalog, self.on_command = health, on_catalog, on_command
        self.resend_s, self.max_resend_s = resend_s, max_resend_s
        self.window, self.poll_s, self.health_s = window, poll_s, health_s
        self.reconnect_max_s = reconnect_max_s
        self.stats = LinkStats()
        self.connected = threading.Event()
        self._inflight: dict[str, float] = {}  # record id -> monotonic time sent
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._client = None
        self._sender: threading.Thread | None = None
        self._health_at = 0.0

    def topic(self, leaf: str) -> str:
        return wire.cart_topic(self.store_id, self.cart_id, leaf)

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> CartLink:
        c = client(self.cart_id, self.endpoint)
        c.will_set(self.topic("presence"), self._presence("offline"), qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self._client = c
        connect(c, self.endpoint, reconnect_max_s=self.reconnect_max_s)
        self._sender = threading.Thread(
            target=self._send_loop, name=f"link-{self.cart_id}", daemon=True
        )
        self._sender.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Say offline, disconnect. What is not acknowledged stays in the outbox."""
        self._stop.set()
        self._wake.set()
        if self._sender is not None:
            self._sender.join(timeout)
        c, self._client = self._client, None
        if c is not None:
            if self.connected.is_set():
                info = c.publish(self.topic("presence"), self._presence("offline"), 1, True)
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(timeout)
            c.disconnect()
            c.loop_stop()
        self.connected.clear()

    def kick(self) -> None:
        """Send now (a record was just written)."""
        self._wake.set()

    def _presence(self, state: str) -> bytes:
        return wire.canonical({"v": 1, "state": state, "cart": self.cart_id})

    # -- paho callbacks -------------------------------------------------------------------------

    def _on_connect(self, c, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("link: the broker refused cart %s: %s", self.cart_id, reason)
            return
        self.stats.connects += 1
        c.subscribe(
            [
                (self.topic("ack"), 1),
                (self.topic("command"), 1),
                (wire.store_topic(self.store_id, "catalog"), 1),
                (wire.store_topic(self.store_id, "command"), 1),
            ]
        )
        c.publish(self.topic("presence"), self._presence("online"), qos=1, retain=True)
        with self._lock:
            self._inflight.clear()  # all pending goes again on this connection
        self.connected.set()
        self._health_at = 0.0
        self._wake.set()

    def _on_disconnect(self, c, userdata, flags, reason, properties) -> None:
        if self.connected.is_set():
            self.stats.disconnects += 1
        self.connected.clear()

    def _on_message(self, c, userdata, msg) -> None:
        try:
            doc = wire.loads(bytes(msg.payload))
        except wire.WireError as exc:
            log.warning("link: ignored a message on %s: %s", msg.topic, exc)
            return
        try:
            if msg.topic == self.topic("ack"):
                self._acked(doc)
            elif msg.topic == wire.store_topic(self.store_id, "catalog"):
                if self.on_catalog is not None and doc is not None:
                    self.on_catalog(doc)
                    self._health_at = 0.0  # report the version now
            elif self.on_command is not None and msg.topic in (
                self.topic("command"),
                wire.store_topic(self.store_id, "command"),
            ):
                self.on_command(doc)
        except Exception:  # a handler's bug must not stop the link
            log.exception("link: a message on %s could not be handled", msg.topic)

    def _acked(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            return
        ids = [i for i in doc.get("ids", []) if isinstance(i, str)]
        refused = [i for i in doc.get("refused", []) if isinstance(i, str)]
        if refused:
            log.error("link: the store refused records %s", ", ".join(refused[:5]))
            self.stats.refused_by_store += len(refused)
        self.stats.acked += self.outbox.ack(ids + refused)
        with self._lock:
            for i in ids + refused:
                self._inflight.pop(i, None)
        self._wake.set()

    # -- the sender -----------------------------------------------------------------------------

    def _due(self, tries: int) -> float:
        return min(self.resend_s * (2 ** min(max(tries - 1, 0), 10)), self.max_resend_s)

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set() or not self.connected.is_set():
                continue
            try:
                self._send_some()
                if time.monotonic() - self._health_at >= self.health_s:
                    self._send_health()
            except Exception:
                log.exception("link: sending failed; trying again")
                time.sleep(1.0)

    def _send_some(self) -> None:
        c = self._client
        if c is None:
            return
        now = time.monotonic()
        sent = []
        for p in self.outbox.pending(limit=self.window * 2):
            with self._lock:
                at = self._inflight.get(p.id)
                if at is not None and now - at < self._due(p.tries):
                    continue
                if at is None and len(self._inflight) >= self.window:
                    break
                self._inflight[p.id] = now
            info = c.publish(self.topic("record"), p.payload.encode(), qos=1)
            if info.rc != 0:  # not connected any more: all of it goes again on reconnect
                with self._lock:
                    self._inflight.pop(p.id, None)
                break
            sent.append(p.n)
            if p.tries:
                self.stats.resent += 1
            self.stats.published += 1
        self.outbox.tried(sent)

    def _send_health(self) -> None:
        c = self._client
        if c is None:
            return
        self._health_at = time.monotonic()
        c.publish(self.topic("health"), wire.canonical(self.health_doc()), qos=1, retain=True)

    def health_doc(self) -> dict[str, Any]:
        """The health message (docs/link/v1/health.schema.json)."""
        body = {"v": 1, "cart": self.cart_id, **self.health()}
        body["outbox"] = self.outbox.stats()
        body["link"] = {
            "connects": self.stats.connects,
            "disconnects": self.stats.disconnects,
            "published": self.stats.published,
            "resent": self.stats.resent,
        }
        return body

    def inflight(self) -> int:
        with self._lock:
            return len(self._inflight)
