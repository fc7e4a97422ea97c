"""The journal: every basket change (and any subsystem's own events) in SQLite, committed before
it is acknowledged.

Rows are ``(session, seq, t_ms, kind, payload JSON)``. ``seq`` counts from 1 within a session
with no gaps. Basket kinds have no dot (``add_line``); other subsystems use their namespace
(``fusion.*``, ``staff.*``) and may write their rows in the same transaction as basket rows.

Durability (see docs/CORE.md): WAL mode. With ``synchronous="FULL"`` (the default) every commit
fsyncs the WAL before :meth:`Journal.append` returns, so an acknowledged event survives a killed
process *and* a power cut. ``"NORMAL"`` survives a killed process (the committed frames are in
the WAL file, in the kernel's page cache) but the last commits may be lost on a power cut; it is
for benchmarks and simulators. ``":memory:"`` keeps everything in RAM for the trip simulator.

A checked-out session may also have its exit code (``exit_codes``: the signed code shown at
check-out and the journaled spot-check decision that travels inside it; ``cart.basket.issuer``).

Time is never read here: every row carries the ``t_ms`` its producer took from the injected
clock.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from cart.common.files import narrow, private_file

SCHEMA_VERSION = 1
DEFAULT_JOURNAL = "var/journal.sqlite"  # relative to the working directory; CART_JOURNAL overrides
SYNC_MODES = ("FULL", "NORMAL", "EXTRA", "OFF")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    opened_ms INTEGER NOT NULL,
    closed_ms INTEGER,
    status TEXT NOT NULL CHECK (status IN ('open', 'checked_out', 'cancelled')),
    receipt TEXT
);
CREATE TABLE IF NOT EXISTS events (
    session TEXT NOT NULL REFERENCES sessions(id),
    seq INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (session, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_status ON sessions(status, opened_ms);
CREATE TABLE IF NOT EXISTS stores (
    digest TEXT PRIMARY KEY,
    store_toml BLOB NOT NULL,
    catalog_toml BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS exit_codes (
    session TEXT PRIMARY KEY REFERENCES sessions(id),
    t_ms INTEGER NOT NULL,
    code TEXT NOT NULL,
    decision TEXT NOT NULL
);
"""


def default_journal_path() -> str:
    """``$CART_JOURNAL`` if set, else ``var/journal.sqlite`` (the cart's working directory)."""
    import os

    return os.environ.get("CART_JOURNAL") or DEFAULT_JOURNAL


class JournalError(RuntimeError):
    """The journal cannot do what was asked (closed, unknown session, bad row, disk error)."""


@dataclass(frozen=True, slots=True)
class Entry:
    session: str
    seq: int
    t_ms: int
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    opened_ms: int
    closed_ms: int | None
    status: str  # open | checked_out | cancelled


Row = tuple[int, str, dict[str, Any]]  # (t_ms, kind, payload)


def _encode(row: Any) -> tuple[int, str, str]:
    if hasattr(row, "row") and callable(row.row):
        row = row.row()
    try:
        t_ms, kind, payload = row
    except (TypeError, ValueError):
        raise JournalError(f"a row is (t_ms, kind, payload), got {row!r}") from None
    if not isinstance(t_ms, int) or isinstance(t_ms, bool) or t_ms < 0:
        raise JournalError(f"t_ms must be a non-negative integer, got {t_ms!r}")
    if not isinstance(kind, str) or not kind or len(kind) > 64 or not kind.isprintable():
        raise JournalError(f"kind must be a short printable string, got {kind!r}")
    if not isinstance(payload, dict):
        raise JournalError(f"{kind}: payload must be a dict, got {type(payload).__name__}")
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"{kind}: payload is not JSON-able: {exc}") from None
    return t_ms, kind, text


class Journal:
    """An append-only event journal in one SQLite file (or ``":memory:"``).

    One writer (the cart process). Thread-safe: calls are serialised by a lock. Use as a context
    manager or call :meth:`close` (idempotent).
    """

    def __init__(self, path: str | Path = ":memory:", *, synchronous: str = "FULL") -> None:
        sync = synchronous.upper()
        if sync not in SYNC_MODES:
            raise ValueError(f"synchronous must be one of {', '.join(SYNC_MODES)}")
        self.path = str(path)
        self.synchronous = sync
        self._lock = threading.RLock()
        self._last_seq: dict[str, int] = {}
        self._status: dict[str, str] = {}
        self._db: sqlite3.Connection | None = None
        if self.path != ":memory:":
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(f"{self.path}: cannot create its folder: {exc}") from exc
        try:
            if self.path != ":memory:":  # owner-only: SQLite gives -wal and -shm the db's mode
                private_file(self.path)
                for suffix in ("-wal", "-shm"):
                    narrow(self.path + suffix)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=5.0
            )
            db = self._db
            if self.path != ":memory:":
                mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise JournalError(f"{self.path}: cannot use WAL mode (got {mode})")
            db.execute(f"PRAGMA synchronous={sync}")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
            ver = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if ver is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            elif ver[0] != str(SCHEMA_VERSION):
                raise JournalError(
                    f"{self.path}: journal schema {ver[0]}, this software reads {SCHEMA_VERSION}"
                )
        except (sqlite3.DatabaseError, OSError) as exc:
            self.close()
            raise JournalError(f"{self.path}: {exc}") from exc
        except JournalError:
            self.close()
            raise

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                try:
                    self._db.close()
                finally:
                    self._db = None

    @property
    def closed(self) -> bool:
        return self._db is None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalError("the journal is closed")
        return self._db

    # -- writing --------------------------------------------------------------------------------

    def open_session(
        self,
        session: str,
        t_ms: int,
        rows: Iterable[Any] = (),
        *,
        store: tuple[str, bytes, bytes] | None = None,
    ) -> list[int]:
        """Create a session and append its first rows, in one transaction.

        ``store``: ``(digest, store.toml bytes, catalog.toml bytes)`` of the store the session
        is priced with, kept once per digest so the session can always be replayed exactly.
        """
        if not isinstance(session, str) or not session or len(session) > 64:
            raise JournalError(f"session id must be a short non-empty string, got {session!r}")
        encoded = [_encode(r) for r in rows]
        with self._lock:
            db = self._conn()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.execute(
                        "INSERT INTO sessions (id, opened_ms, status) VALUES (?, ?, 'open')",
                        (session, int(t_ms)),
                    )
                except sqlite3.IntegrityError:
                    db.execute("ROLLBACK")
                    raise JournalError(f"session {session!r} already exists") from None
                seqs = self._insert(db, session, 0, encoded)
                if store is not None:
                    db.execute(
                        "INSERT OR IGNORE INTO stores VALUES (?, ?, ?)",
                        (store[0], bytes(store[1]), bytes(store[2])),
                    )
                db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback(db)
                raise JournalError(f"{self.path}: {exc}") from exc
            self._last_seq[session] = len(encoded)
            self._status[session] = "open"
            return seqs

    def append(self, session: str, rows: Iterable[Any]) -> list[int]:
        """Append rows (``(t_ms, kind, payload)`` tuples or basket events) in one transaction.

        Returns their sequence numbers once committed (durable per ``synchronous``).
        """
        encoded = [_encode(r) for r in rows]
        if not encoded:
            return []
        with self._lock:
            db = self._conn()
            last = self._open_seq(session)
            try:
                db.execute("BEGIN IMMEDIATE")
                seqs = self._insert(db, session, last, encoded)
                db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback(db)
                self._last_seq.pop(session, None)
                raise JournalError(f"{self.path}: {exc}") from exc
            self._last_seq[session] = last + len(encoded)
            return seqs

    def close_session(
        self,
        session: str,
        t_ms: int,
        rows: Iterable[Any] = (),
        *,
        status: str = "checked_out",
        receipt: dict | None = None,
    ) -> list[int]:
        """Append the final rows, mark the session closed and store its receipt, atomically."""
        if status not in ("checked_out", "cancelled"):
            raise JournalError(f"status must be checked_out or cancelled, got {status!r}")
        encoded = [_encode(r) for r in rows]
        try:
            receipt_text = (
                None
                if receipt is None
                else json.dumps(receipt, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            )
        except (TypeError, ValueError) as exc:
            raise JournalError(f"receipt is not JSON-able: {exc}") from None
        with self._lock:
            db = self._conn()
            last = self._open_seq(session)
            try:
                db.execute("BEGIN IMMEDIATE")
                seqs = self._insert(db, session, last, encoded)
                db.execute(
                    "UPDATE sessions SET status=?, closed_ms=?, receipt=? WHERE id=?",
                    (status, int(t_ms), receipt_text, session),
                )
                db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback(db)
                self._last_seq.pop(session, None)
                raise JournalError(f"{self.path}: {exc}") from exc
            self._last_seq[session] = last + len(encoded)
            self._status[session] = status
            return seqs

    @staticmethod
    def _insert(db, session: str, last: int, encoded: Sequence[tuple[int, str, str]]) -> list[int]:
        seqs = list(range(last + 1, last + 1 + len(encoded)))
        db.executemany(
            "INSERT INTO events (session, seq, t_ms, kind, payload) VALUES (?, ?, ?, ?, ?)",
            [(session, s, t, k, p) for s, (t, k, p) in zip(seqs, encoded, strict=True)],
        )
        return seqs

    @staticmethod
    def _rollback(db) -> None:
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass

    def _open_seq(self, session: str) -> int:
        status = self._status.get(session)
        if status is None or session not in self._last_seq:
            db = self._conn()
            row = db.execute("SELECT status FROM sessions WHERE id=?", (session,)).fetchone()
            if row is None:
                raise JournalError(f"no session {session!r}")
            status = row[0]
            self._status[session] = status
            last = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE session=?", (session,)
            ).fetchone()[0]
            self._last_seq[session] = last
        if status != "open":
            raise JournalError(f"session {session!r} is {status.replace('_', ' ')}")
        return self._last_seq[session]

    # -- reading --------------------------------------------------------------------------------

    def events(self, session: str, after_seq: int = 0) -> Iterator[Entry]:
        """The session's rows in order (a list is built under the lock, then yielded)."""
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT seq, t_ms, kind, payload FROM events WHERE session=? AND seq>? "
                    "ORDER BY seq",
                    (session, after_seq),
                )
                .fetchall()
            )
        for seq, t_ms, kind, payload in rows:
            try:
                data = json.loads(payload)
            except ValueError as exc:
                raise JournalError(
                    f"session {session!r} seq {seq}: corrupt payload: {exc}"
                ) from None
            yield Entry(session, seq, t_ms, kind, data)

    def session(self, session: str) -> SessionInfo | None:
        with self._lock:
            row = (
                self._conn()
                .execute(
                    "SELECT id, opened_ms, closed_ms, status FROM sessions WHERE id=?", (session,)
                )
                .fetchone()
            )
        return SessionInfo(*row) if row else None

    def sessions(self, status: str | None = None, limit: int = 100) -> list[SessionInfo]:
        """Most recent first."""
        q = "SELECT id, opened_ms, closed_ms, status FROM sessions"
        args: tuple = ()
        if status is not None:
            q += " WHERE status=?"
            args = (status,)
        q += " ORDER BY opened_ms DESC, rowid DESC LIMIT ?"
        with self._lock:
            rows = self._conn().execute(q, (*args, int(limit))).fetchall()
        return [SessionInfo(*r) for r in rows]

    def unfinished(self) -> SessionInfo | None:
        """The most recent session that was opened and never checked out or cancelled."""
        found = self.sessions("open", limit=1)
        return found[0] if found else None

    def receipt(self, session: str | None = None) -> dict | None:
        """A closed session's stored receipt (the latest closed one when ``session`` is None)."""
        with self._lock:
            if session is None:
                row = (
                    self._conn()
                    .execute(
                        "SELECT receipt FROM sessions WHERE status != 'open' "
                        "ORDER BY closed_ms DESC, rowid DESC LIMIT 1"
                    )
                    .fetchone()
                )
            else:
                row = (
                    self._conn()
                    .execute("SELECT receipt FROM sessions WHERE id=?", (session,))
                    .fetchone()
                )
        if row is None or row[0] is None:
            return None
        return json.loads(row[0])

    def store_sources(self, digest: str) -> tuple[bytes, bytes] | None:
        """The store files a session was opened with (see ``open_session(store=...)``)."""
        with self._lock:
            row = (
                self._conn()
                .execute("SELECT store_toml, catalog_toml FROM stores WHERE digest=?", (digest,))
                .fetchone()
            )
        return (bytes(row[0]), bytes(row[1])) if row else None

    def prune(self, closed_before_ms: int) -> int:
        """Delete sessions closed before ``closed_before_ms`` (rows and receipt); open sessions
        are never touched. Returns how many sessions went. The file shrinks at the next
        checkpoint/VACUUM; the space is reused meanwhile."""
        with self._lock:
            db = self._conn()
            try:
                db.execute("BEGIN IMMEDIATE")
                ids = [
                    r[0]
                    for r in db.execute(
                        "SELECT id FROM sessions WHERE status != 'open' AND closed_ms < ?",
                        (int(closed_before_ms),),
                    )
                ]
                for sid in ids:
                    db.execute("DELETE FROM exit_codes WHERE session=?", (sid,))
                    db.execute("DELETE FROM events WHERE session=?", (sid,))
                    db.execute("DELETE FROM sessions WHERE id=?", (sid,))
                db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback(db)
                raise JournalError(f"{self.path}: {exc}") from exc
            for sid in ids:
                self._status.pop(sid, None)
                self._last_seq.pop(sid, None)
            return len(ids)

    # -- exit codes -----------------------------------------------------------------------------

    def record_exit_code(
        self, session: str, t_ms: int, code: str, decision: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Keep the exit code issued for a checked-out session and its spot-check decision
        (``cart.basket.issuer``). The first one stays: returns what is stored."""
        try:
            text = json.dumps(decision, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise JournalError(f"exit code decision is not JSON-able: {exc}") from None
        with self._lock:
            db = self._conn()
            row = db.execute("SELECT status FROM sessions WHERE id=?", (session,)).fetchone()
            if row is None or row[0] != "checked_out":
                raise JournalError(f"session {session!r} is not checked out")
            try:
                db.execute(
                    "INSERT OR IGNORE INTO exit_codes VALUES (?, ?, ?, ?)",
                    (session, int(t_ms), code, text),
                )
            except sqlite3.DatabaseError as exc:
                raise JournalError(f"{self.path}: {exc}") from exc
        found = self.exit_code(session)
        assert found is not None
        return found

    def exit_code(self, session: str) -> tuple[str, dict[str, Any]] | None:
        """The exit code issued for ``session`` and its decision, if one was issued."""
        with self._lock:
            row = (
                self._conn()
                .execute("SELECT code, decision FROM exit_codes WHERE session=?", (session,))
                .fetchone()
            )
        return None if row is None else (row[0], json.loads(row[1]))

    def count(self, session: str) -> int:
        with self._lock:
            return (
                self._conn()
                .execute("SELECT COUNT(*) FROM events WHERE session=?", (session,))
                .fetchone()[0]
            )
