"""The outbox: what the cart owes the store, kept in the journal until the store has it.

Records are written by the journal **in the same SQLite transaction** as the rows that produce
them (``Journal(..., outbox=OutboxLimits())``), so a record exists exactly when its event does:

- ``receipt``: at check-out (and cancel), the receipt stored with the session;
- ``telemetry``: at the same close, a trip summary (duration, rows by kind, questions, staff);
- ``audit``: with the exit code, the spot-check decision and the code (``record_exit_code``);
- ``staff``: every staff action (``fusion.staff.*`` rows, basket rows done ``by`` staff);
- ``command``: each command the store sent and what the cart did with it (``cart.app.link``).

Each record has an id unique on its cart (``<session>.<kind>``, ``<session>.staff.<seq>``),
which the store's database keys on (with the cart id), so a record sent twice lands once. A
record leaves the outbox only when the store says its database has it (the link's ``ack``),
never on the broker's PUBACK alone: a record survives reboots and outages of the broker and of
the store service for as long as the disk holds it.

Bounded by disk: above ``max_bytes`` of pending records, new telemetry summaries are dropped
(and counted, ``dropped``); receipts, audits and staff actions are always kept (the journal's
own disk-full handling applies to them). Counters live in ``link_state`` beside the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    t_ms INTEGER NOT NULL,
    payload TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS link_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
KINDS = ("receipt", "audit", "staff", "telemetry", "command")
RECORD_VERSION = 1
DEFAULT_MAX_BYTES = 256 << 20  # a few months of a busy cart's records


@dataclass(frozen=True, slots=True)
class OutboxLimits:
    """How much the outbox may hold before it drops telemetry (receipts etc. are kept)."""

    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True, slots=True)
class Record:
    id: str
    kind: str
    t_ms: int
    session: str
    body: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": RECORD_VERSION,
            "id": self.id,
            "kind": self.kind,
            "t_ms": self.t_ms,
            "session": self.session,
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class Pending:
    n: int
    id: str
    kind: str
    payload: str  # the record's JSON, as published
    tries: int


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _is_staff(kind: str, payload: dict[str, Any]) -> bool:
    return (
        kind.startswith("fusion.staff.")
        or kind.startswith("staff.")
        or (
            "." not in kind
            and isinstance(payload, dict)
            and (payload.get("by") == "staff" or bool(payload.get("staff_id")))
        )
    )


def staff_records(session: str, seqs: Sequence[int], encoded) -> list[Record]:
    """The staff actions among rows ``(t_ms, kind, payload JSON)`` numbered ``seqs``."""
    out = []
    for seq, (t_ms, kind, text) in zip(seqs, encoded, strict=True):
        payload = json.loads(text)
        if _is_staff(kind, payload):
            body = {"seq": seq, "action": kind, "row": payload}
            out.append(Record(f"{session}.staff.{seq}", "staff", int(t_ms), session, body))
    return out


def close_records(
    db, session: str, status: str, t_ms: int, receipt: dict[str, Any] | None
) -> list[Record]:
    """A closing session's receipt and trip summary (read in the closing transaction)."""
    opened = db.execute("SELECT opened_ms FROM sessions WHERE id=?", (session,)).fetchone()
    kinds = dict(
        db.execute(
            "SELECT kind, COUNT(*) FROM events WHERE session=? GROUP BY kind", (session,)
        ).fetchall()
    )
    out = []
    if receipt is not None:
        out.append(Record(f"{session}.receipt", "receipt", t_ms, session, dict(receipt)))
    totals = (receipt or {}).get("totals", {})
    summary = {
        "status": status,
        "duration_ms": int(t_ms) - int(opened[0] if opened else t_ms),
        "rows": sum(kinds.values()),
        "kinds": kinds,
        "questions": kinds.get("raise_flag", 0),
        "staff_actions": sum(v for k, v in kinds.items() if k.startswith("fusion.staff.")),
        "items": int(totals.get("items", 0)),
        "total": int(totals.get("total", 0)),
    }
    out.append(Record(f"{session}.telemetry", "telemetry", t_ms, session, summary))
    return out


def audit_record(session: str, t_ms: int, code: str, decision: dict[str, Any]) -> Record:
    return Record(
        f"{session}.audit", "audit", int(t_ms), session, {"exit_code": code, "decision": decision}
    )


def _state_int(db, key: str) -> int:
    row = db.execute("SELECT value FROM link_state WHERE key=?", (key,)).fetchone()
    return int(row[0]) if row else 0


def _add(db, key: str, n: int) -> None:
    db.execute(
        "INSERT INTO link_state VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
        "SET value = CAST(CAST(value AS INTEGER) + ? AS TEXT)",
        (key, str(n), n),
    )


def insert(db, records: Iterable[Record], limits: OutboxLimits) -> None:
    """Put records in the outbox (inside the caller's transaction). A record id already there
    is left as it is (the first one stays, as the journal's exit codes do)."""
    for r in records:
        text = _dumps(r.to_dict())
        size = len(text.encode())
        if r.kind == "telemetry" and _state_int(db, "bytes") + size > limits.max_bytes:
            _add(db, "dropped", 1)
            continue
        cur = db.execute(
            "INSERT OR IGNORE INTO outbox (id, kind, t_ms, payload) VALUES (?, ?, ?, ?)",
            (r.id, r.kind, r.t_ms, text),
        )
        if cur.rowcount:
            _add(db, "bytes", size)
            _add(db, "written", 1)


class Outbox:
    """The outbox of a journal opened with one (``journal.outbox``): what is pending, and the
    store's acknowledgements. Thread-safe through the journal's own lock."""

    def __init__(self, journal) -> None:
        self.journal = journal

    def pending(self, limit: int = 100, after: int = 0) -> list[Pending]:
        rows = self.journal.query(
            "SELECT n, id, kind, payload, tries FROM outbox WHERE n > ? ORDER BY n LIMIT ?",
            (after, limit),
        )
        return [Pending(*r) for r in rows]

    def tried(self, ns: Iterable[int]) -> None:
        ns = list(ns)
        if ns:
            self.journal.transact(
                lambda db: db.executemany(
                    "UPDATE outbox SET tries = tries + 1 WHERE n = ?", [(n,) for n in ns]
                )
            )

    def ack(self, ids: Iterable[str]) -> int:
        """The store has these records: remove them. Returns how many were still pending."""
        ids = [i for i in ids if isinstance(i, str)]
        if not ids:
            return 0
        removed: list[int] = []

        def body(db) -> None:
            n, size = 0, 0
            for rid in ids:
                row = db.execute(
                    "SELECT length(CAST(payload AS BLOB)) FROM outbox WHERE id=?", (rid,)
                ).fetchone()
                if row is None:
                    continue
                db.execute("DELETE FROM outbox WHERE id=?", (rid,))
                n, size = n + 1, size + int(row[0])
            if n:
                _add(db, "acked", n)
                _add(db, "bytes", -size)
            removed.append(n)

        self.journal.transact(body)
        return removed[0] if removed else 0

    def stats(self) -> dict[str, int]:
        """``pending``, ``bytes``, ``oldest_ms`` (t_ms of the oldest pending, 0 if none),
        ``written``, ``acked``, ``dropped``."""
        (count, oldest), *_ = self.journal.query("SELECT COUNT(*), MIN(t_ms) FROM outbox", ())
        state = dict(self.journal.query("SELECT key, value FROM link_state", ()))
        return {
            "pending": int(count),
            "oldest_ms": int(oldest or 0),
            **{k: int(state.get(k, 0)) for k in ("bytes", "written", "acked", "dropped")},
        }

    def add(self, records: Iterable[Record], *, seen: str | None = None) -> None:
        """Records of the link's own (a command and what became of it), and optionally a
        ``link_state`` key marking it seen, in one transaction."""
        records = list(records)
        limits = getattr(self.journal, "outbox_limits", None) or OutboxLimits()

        def body(db) -> None:
            insert(db, records, limits)
            if seen is not None:
                db.execute(
                    "INSERT INTO link_state VALUES (?, '1') ON CONFLICT(key) DO NOTHING", (seen,)
                )

        self.journal.transact(body)

    def get(self, key: str) -> str | None:
        rows = self.journal.query("SELECT value FROM link_state WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def put(self, key: str, value: str) -> None:
        """Keep one of the link's own values (the catalogue version running, commands seen)."""
        self.journal.transact(
            lambda db: db.execute(
                "INSERT INTO link_state VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                "SET value=excluded.value",
                (key, value),
            )
        )
