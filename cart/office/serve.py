"""``cart store serve``: the store service. Subscribes to its carts' topics and writes what they
send into PostgreSQL, then tells each cart which records its database now has.

::

    broker ──record/presence/health (QoS 1, persistent session)──► on_message ─► queue
    queue ─► writer thread: a batch, one transaction (cart.office.db) ─► ack per cart (QoS 1)

- The MQTT session is persistent (``clean_start=False``, two weeks' expiry): while the service
  is down or restarting the broker queues the carts' records for it, and a broker that was
  stopped cleanly brings the queue back from its persistence file.
- A record leaves the cart's outbox only on this service's ``ack``, sent after the database
  commit: a record the broker lost, or that this service took but did not commit, is sent again
  by the cart, and the database keeps it once (``(cart, id)``).
- A record that is not version 1 (bad JSON, unknown kind, no id) is counted, logged and
  acknowledged as refused, so a cart does not send it forever.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cart.basket.journal.outbox import KINDS
from cart.common import wire
from cart.common.mqtt import Endpoint, client, connect
from cart.office import db

log = logging.getLogger(__name__)


@dataclass
class ServiceStats:
    received: int = 0
    new: int = 0
    duplicate: int = 0
    refused: int = 0
    acks: int = 0
    batches: int = 0
    db_errors: int = 0
    connects: int = 0
    errors: list[str] = field(default_factory=list)


def check_record(doc: Any) -> dict[str, Any]:
    """A version 1 record, or WireError."""
    if not isinstance(doc, dict) or doc.get("v") != 1:
        raise wire.WireError("not a version 1 record")
    rid, kind, sid, t_ms, body = (doc.get(k) for k in ("id", "kind", "session", "t_ms", "body"))
    if not isinstance(rid, str) or not 0 < len(rid) <= 200:
        raise wire.WireError("a record needs an id")
    if kind not in KINDS:
        raise wire.WireError(f"record {rid}: unknown kind {kind!r}")
    if not isinstance(sid, str) or not isinstance(t_ms, int) or not isinstance(body, dict):
        raise wire.WireError(f"record {rid}: session, t_ms and body are required")
    return doc


class StoreService:
    """One store's service: ``start()``, ``stop()``; ``stats`` counts what it did."""

    def __init__(
        self,
        dsn: str,
        store_id: str,
        endpoint: Endpoint,
        *,
        client_id: str = "store-service",
        batch: int = 500,
        reconnect_max_s: int = 30,
    ) -> None:
        self.dsn, self.store_id, self.endpoint = dsn, store_id, endpoint
        self.client_id, self.batch = client_id, batch
        self.reconnect_max_s = reconnect_max_s
        self.stats = ServiceStats()
        self._inbox: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._conn = None
        self._client = None
        self._writer: threading.Thread | None = None
        self.connected = threading.Event()

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> StoreService:
        self._conn = db.connect(self.dsn)
        c = client(self.client_id, self.endpoint)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self._client = c
        connect(c, self.endpoint, reconnect_max_s=self.reconnect_max_s)
        self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
        self._writer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._writer is not None:
            self._writer.join(10)
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> StoreService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- MQTT (paho's network thread) -----------------------------------------------------------

    def _on_connect(self, c, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("store service: the broker refused us: %s", reason)
            return
        self.stats.connects += 1
        base = f"{wire.ROOT}/{wire.VERSION}/{self.store_id}/cart/+/"
        c.subscribe([(base + leaf, 1) for leaf in ("record", "presence", "health")])
        self.connected.set()

    def _on_disconnect(self, c, userdata, flags, reason, properties) -> None:
        self.connected.clear()

    def _on_message(self, c, userdata, msg) -> None:
        self._inbox.put((msg.topic, bytes(msg.payload)))

    # -- the writer -----------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            items = [first]
            while len(items) < self.batch:
                try:
                    items.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            try:
                self._handle(items)
            except Exception:  # a bug must not stop the service; the carts send again
                log.exception("store service: a batch could not be handled")

    def _handle(self, items: list[tuple[str, bytes]]) -> None:
        records: list[tuple[str, dict]] = []
        refused: dict[str, list[str]] = defaultdict(list)
        for topic, payload in items:
            parsed = wire.parse_cart_topic(topic)
            if parsed is None or parsed[0] != self.store_id:
                continue
            _, cart, leaf = parsed
            doc = None
            try:
                doc = wire.loads(payload) if payload else None
                if leaf == "record":
                    self.stats.received += 1
                    records.append((cart, check_record(doc)))
                elif leaf == "presence" and isinstance(doc, dict):
                    self._db(db.set_presence, self.store_id, cart, doc.get("state") == "online")
                elif leaf == "health" and isinstance(doc, dict):
                    self._db(db.set_health, self.store_id, cart, doc)
            except wire.WireError as exc:
                self.stats.refused += 1
                log.warning("cart %s: refused a %s message: %s", cart, leaf, exc)
                rid = doc.get("id") if isinstance(doc, dict) else None
                if isinstance(rid, str):
                    refused[cart].append(rid)
        if records:
            while not self._stop.is_set():
                try:
                    new = self._db(db.store_records, self.store_id, records)
                    break
                except db.StoreDbError:
                    time.sleep(1.0)
            else:
                return  # stopping: not acknowledged, the carts send them again
            self.stats.new += new
            self.stats.duplicate += len(records) - new
            self.stats.batches += 1
        acks: dict[str, list[str]] = defaultdict(list)
        for cart, rec in records:
            acks[cart].append(rec["id"])
        for cart in set(acks) | set(refused):
            body = {"v": 1, "ids": acks.get(cart, []), "refused": refused.get(cart, [])}
            topic = wire.cart_topic(self.store_id, cart, "ack")
            if self._client is not None:
                self._client.publish(topic, wire.canonical(body), qos=1)
                self.stats.acks += 1

    def _db(self, fn, *args):
        """Run a database call; on a lost connection reconnect once, else StoreDbError."""
        import psycopg

        for attempt in (1, 2):
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = db.connect(self.dsn)
                return fn(self._conn, *args)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self.stats.db_errors += 1
                log.error("store database: %s (attempt %d)", exc, attempt)
                try:
                    if self._conn is not None:
                        self._conn.close()
                except psycopg.Error:
                    pass
                self._conn = None
            except db.StoreDbError as exc:
                self.stats.db_errors += 1
                log.error("%s", exc)
                self._conn = None
        raise db.StoreDbError("the store database is unavailable")

    def idle(self) -> bool:
        return self._inbox.empty()
