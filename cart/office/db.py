"""The store's database (PostgreSQL, psycopg 3): carts, their records, receipts, audits,
telemetry, staff actions and commands, and the carts' public keys for the gates.

Exactly once: ``records`` is keyed on ``(cart, id)``, the record id the cart gave it
(``cart.basket.journal.outbox``); :func:`store_records` inserts a batch with
``ON CONFLICT DO NOTHING`` and fills the kind's own table in the same transaction, so a record
sent twice (a resend after an outage, a redelivery after the service restarted) lands once.
The cart id is the one in the MQTT topic, which the broker's ACL ties to the cart's
certificate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS carts (
    cart TEXT PRIMARY KEY,
    store TEXT NOT NULL,
    public_key TEXT,
    online BOOLEAN NOT NULL DEFAULT false,
    presence_at TIMESTAMPTZ,
    health JSONB,
    health_at TIMESTAMPTZ,
    last_record_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS records (
    cart TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    session TEXT NOT NULL,
    t_ms BIGINT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    body JSONB NOT NULL,
    PRIMARY KEY (cart, id)
);
CREATE TABLE IF NOT EXISTS receipts (
    cart TEXT NOT NULL,
    session TEXT NOT NULL,
    store TEXT NOT NULL,
    t_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    total BIGINT NOT NULL,
    items INTEGER NOT NULL,
    receipt JSONB NOT NULL,
    PRIMARY KEY (cart, session)
);
CREATE INDEX IF NOT EXISTS receipts_session ON receipts (session);
CREATE TABLE IF NOT EXISTS audits (
    cart TEXT NOT NULL,
    session TEXT NOT NULL,
    t_ms BIGINT NOT NULL,
    spot_check BOOLEAN NOT NULL,
    band TEXT NOT NULL,
    exit_code TEXT NOT NULL,
    decision JSONB NOT NULL,
    PRIMARY KEY (cart, session)
);
CREATE TABLE IF NOT EXISTS telemetry (
    cart TEXT NOT NULL,
    session TEXT NOT NULL,
    t_ms BIGINT NOT NULL,
    summary JSONB NOT NULL,
    PRIMARY KEY (cart, session)
);
CREATE TABLE IF NOT EXISTS staff_actions (
    cart TEXT NOT NULL,
    id TEXT NOT NULL,
    session TEXT NOT NULL,
    t_ms BIGINT NOT NULL,
    action TEXT NOT NULL,
    row JSONB NOT NULL,
    PRIMARY KEY (cart, id)
);
CREATE TABLE IF NOT EXISTS commands (
    cart TEXT NOT NULL,
    id TEXT NOT NULL,
    t_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    body JSONB NOT NULL,
    PRIMARY KEY (cart, id)
);
CREATE TABLE IF NOT EXISTS catalog_versions (
    store TEXT NOT NULL,
    version INTEGER NOT NULL,
    digest TEXT NOT NULL,
    published_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (store, version)
);
"""


class StoreDbError(RuntimeError):
    """The store database cannot be reached or used (the sentence names the DSN's host)."""


def connect(dsn: str):
    """A connection (autocommit: each call below is its own transaction) with the schema in
    place (created on first use)."""
    import psycopg

    try:
        conn = psycopg.connect(dsn, connect_timeout=5, autocommit=True)
    except psycopg.Error as exc:
        raise StoreDbError(f"the store database cannot be reached: {exc}".strip()) from None
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(17017)")  # one migration at a time
        conn.execute(SCHEMA)
        conn.execute(
            "INSERT INTO meta VALUES ('schema', %s) ON CONFLICT (key) DO NOTHING",
            (str(SCHEMA_VERSION),),
        )
    return conn


def _cart_row(cur, cart: str, store: str) -> None:  # one cart's row, if new
    cur.execute(
        "INSERT INTO carts (cart, store) VALUES (%s, %s) ON CONFLICT (cart) DO NOTHING",
        (cart, store),
    )


def _typed_rows(cart: str, rec: Mapping[str, Any]) -> tuple[str, tuple] | None:
    """The kind's own table and row (inserted idempotently too)."""
    kind, sid, t_ms, body = rec["kind"], rec["session"], rec["t_ms"], rec["body"]
    if kind == "receipt":
        totals = body.get("totals", {})
        store = str(body.get("store", {}).get("id", ""))
        row: tuple = (cart, sid, store, t_ms, str(body.get("state", "")))
        return "receipts", (
            *row,
            int(totals.get("total", 0)),
            int(totals.get("items", 0)),
            json.dumps(body),
        )
    if kind == "audit":
        d = body.get("decision", {})
        return "audits", (
            cart,
            sid,
            t_ms,
            bool(d.get("spot_check")),
            str(d.get("band", "")),
            str(body.get("exit_code", "")),
            json.dumps(d),
        )
    if kind == "telemetry":
        return "telemetry", (cart, sid, t_ms, json.dumps(body))
    if kind == "staff":
        action, row_body = str(body.get("action", "")), json.dumps(body.get("row"))
        return "staff_actions", (cart, rec["id"], sid, t_ms, action, row_body)
    if kind == "command":
        return "commands", (cart, rec["id"], t_ms, str(body.get("outcome", "")), json.dumps(body))
    return None


def store_records(conn, store: str, batch: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
    """Insert ``(cart, record)`` pairs in one transaction (pipelined); returns how many were
    new. A record already there, or twice in the batch, is kept once."""
    batch = list(batch)
    carts = sorted({c for c, _ in batch})
    rows = [
        (c, r["id"], r["kind"], r["session"], r["t_ms"], json.dumps(r["body"])) for c, r in batch
    ]
    new: set[tuple[str, str]] = set()
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO carts (cart, store) VALUES (%s, %s) ON CONFLICT (cart) DO NOTHING",
            [(c, store) for c in carts],
        )
        cur.executemany(
            "INSERT INTO records (cart, id, kind, session, t_ms, body) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING cart, id",
            rows,
            returning=True,
        )
        while True:
            new.update((c, i) for c, i in cur.fetchall())
            if not cur.nextset():
                break
        typed: dict[str, list[tuple]] = {}
        done: set[tuple[str, str]] = set()
        for cart, rec in batch:
            key = (cart, rec["id"])
            if key in new and key not in done:
                done.add(key)
                t = _typed_rows(cart, rec)
                if t is not None:
                    typed.setdefault(t[0], []).append(t[1])
        for table, trows in typed.items():
            marks = ", ".join(["%s"] * len(trows[0]))
            cur.executemany(f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT DO NOTHING", trows)
        if new:
            cur.execute(
                "UPDATE carts SET last_record_at = clock_timestamp() WHERE cart = ANY(%s)",
                (sorted({c for c, _ in new}),),
            )
    return len(new)


def set_presence(conn, store: str, cart: str, online: bool) -> None:
    with conn.transaction(), conn.cursor() as cur:
        _cart_row(cur, cart, store)
        cur.execute(
            "UPDATE carts SET online = %s, presence_at = now() WHERE cart = %s", (online, cart)
        )


def set_health(conn, store: str, cart: str, health: Mapping[str, Any]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        _cart_row(cur, cart, store)
        cur.execute(
            "UPDATE carts SET health = %s, health_at = now() WHERE cart = %s",
            (json.dumps(dict(health)), cart),
        )


def register_carts(conn, store: str, keys: Mapping[str, bytes]) -> None:
    """The carts' public keys (``carts.toml``), for the gates (``cart gate verify --db``)."""
    with conn.transaction(), conn.cursor() as cur:
        for cart, raw in keys.items():
            _cart_row(cur, cart, store)
            cur.execute("UPDATE carts SET public_key = %s WHERE cart = %s", (raw.hex(), cart))


def cart_keys(conn, store: str | None = None) -> dict[str, bytes]:
    rows = conn.execute(
        "SELECT cart, public_key FROM carts WHERE public_key IS NOT NULL"
        + (" AND store = %s" if store else ""),
        (store,) if store else (),
    ).fetchall()
    return {c: bytes.fromhex(k) for c, k in rows}


def fleet(conn) -> list[dict[str, Any]]:
    """One dict per cart: online, battery (if its health says), last trip, errors, versions."""
    rows = conn.execute(
        "SELECT c.cart, c.store, c.online, c.presence_at, c.health, c.last_record_at, "
        "(SELECT max(t_ms) FROM receipts r WHERE r.cart = c.cart), "
        "(SELECT count(*) FROM receipts r WHERE r.cart = c.cart) "
        "FROM carts c ORDER BY c.cart"
    ).fetchall()
    out = []
    for cart, store, online, presence_at, health, last_rec, last_trip, trips in rows:
        h = health or {}
        out.append(
            {
                "cart": cart,
                "store": store,
                "online": bool(online),
                "presence_at": presence_at.isoformat() if presence_at else None,
                "battery": h.get("battery"),
                "last_trip_ms": last_trip,
                "trips": int(trips),
                "errors": [
                    f"{d}: {v.get('detail') or v.get('state')}"
                    for d, v in sorted(h.get("devices", {}).items())
                    if isinstance(v, dict) and v.get("state") not in (None, "ok")
                ],
                "versions": h.get("versions", {}),
                "outbox": h.get("outbox", {}),
                "last_record_at": last_rec.isoformat() if last_rec else None,
            }
        )
    return out


def receipt(conn, session: str, cart: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """``(cart, receipt)`` of a trip by its session id (and cart, when ids may repeat)."""
    sql = "SELECT cart, receipt FROM receipts WHERE session = %s"
    args: tuple = (session,)
    if cart:
        sql, args = sql + " AND cart = %s", (session, cart)
    rows = conn.execute(sql + " ORDER BY cart LIMIT 2", args).fetchall()
    if len(rows) != 1:
        return None
    return rows[0][0], rows[0][1]


def counts(conn) -> dict[str, int]:
    """Rows per table (the outage test and the benchmark read these)."""
    out = {}
    for table in ("records", "receipts", "audits", "telemetry", "staff_actions", "commands"):
        out[table] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return out


def duplicates(conn) -> int:
    """Receipts or audits present more than once per trip (0 by construction: the keys)."""
    row = conn.execute(
        "SELECT (SELECT count(*) - count(DISTINCT (cart, session)) FROM receipts) + "
        "(SELECT count(*) - count(DISTINCT (cart, session)) FROM audits)"
    ).fetchone()
    return int(row[0])


def note_catalog(conn, store: str, version: int, digest: str) -> None:
    with conn.transaction():
        conn.execute(
            "INSERT INTO catalog_versions (store, version, digest) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (store, version, digest),
        )


def latest_catalog(conn, store: str) -> int:
    row = conn.execute(
        "SELECT coalesce(max(version), 0) FROM catalog_versions WHERE store = %s", (store,)
    ).fetchone()
    return int(row[0])
