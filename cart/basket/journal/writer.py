"""Writing a journal: one transaction per commit, chained rows, the head and the high-water
mark; opening, appending to and closing sessions; exit codes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from cart.basket.chain import Mark, same_file
from cart.basket.journal import outbox as ob
from cart.basket.journal.errors import JournalDamaged, JournalError, storage_error
from cart.basket.journal.reader import JournalReader
from cart.basket.journal.records import _encode


class JournalWriter(JournalReader):
    """The writing calls (one writer: the lock file is taken at open)."""

    def _still_ours(self) -> None:
        """Before a commit: the path (and the lock file) are still the files opened."""
        if self._lost:
            raise JournalError(self._lost)
        if self._identity is None:
            return
        writer = self._writer
        if not same_file(self.path, self._identity) or (
            writer is not None and not same_file(writer.path, writer.identity)
        ):
            self._lost = (
                f"the journal {self.path} was deleted or replaced while the cart ran: "
                "nothing more is saved; the basket on screen is the last one saved; "
                "call staff and restart the cart"
            )
            raise JournalError(self._lost)

    def _commit(self, body: Callable[[sqlite3.Connection, int], Mark | None]) -> None:
        """One transaction: ``body(db, commit_no)`` writes and returns the new head (or None);
        the head is updated, the files checked, COMMIT, then the high-water mark."""
        if self.readonly:
            raise JournalError(f"{self.path}: opened read-only")
        db = self._conn()
        self._still_ours()
        head = None
        try:
            db.execute("BEGIN IMMEDIATE")
            head = body(db, self._head.commit + 1)
            if head is not None:
                db.execute(
                    "UPDATE meta SET value=? WHERE key='head'",
                    (json.dumps([head.commit, head.session, head.seq, head.h]),),
                )
            self._still_ours()
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback(db)
            self._last_seq.clear()
            self._last_h.clear()
            raise JournalError(storage_error(self.path, exc)) from exc
        except BaseException:
            self._rollback(db)
            raise
        if head is not None:
            self._head = head
            if self._mark is not None:
                try:
                    self._mark.write(head)
                except OSError as exc:
                    self._lost = (
                        f"{storage_error(self._mark.path, exc)}: the high-water mark cannot be "
                        "written, nothing more is saved; call staff and restart the cart"
                    )
                    raise JournalError(self._lost) from exc

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
        out: list = []

        def body(db, n: int) -> Mark | None:
            try:
                db.execute(
                    "INSERT INTO sessions (id, opened_ms, status, chain) VALUES (?, ?, 'open', ?)",
                    (session, int(t_ms), self.chain.mode),
                )
            except sqlite3.IntegrityError:
                raise JournalError(f"session {session!r} already exists") from None
            prev = self.chain.genesis(session, int(t_ms))
            seqs, last_h = self._insert(db, session, 0, prev, encoded, n)
            self._outbox_rows(db, session, seqs, encoded)
            if store is not None:
                db.execute(
                    "INSERT OR IGNORE INTO stores VALUES (?, ?, ?)",
                    (store[0], bytes(store[1]), bytes(store[2])),
                )
            out.extend((seqs, last_h))
            return Mark(n, session, len(seqs), (last_h or b"").hex()) if seqs else None

        with self._lock:
            self._commit(body)
            self._last_seq[session] = len(encoded)
            self._last_h[session] = out[1]
            self._status[session] = "open"
            return out[0]

    def append(self, session: str, rows: Iterable[Any]) -> list[int]:
        """Append rows (``(t_ms, kind, payload)`` tuples or basket events) in one transaction.

        Returns their sequence numbers once committed (durable per ``synchronous``).
        """
        encoded = [_encode(r) for r in rows]
        if not encoded:
            return []
        with self._lock:
            last, prev = self._open_seq(session)
            out: list = []

            def body(db, n: int) -> Mark:
                seqs, last_h = self._insert(db, session, last, prev, encoded, n)
                self._outbox_rows(db, session, seqs, encoded)
                out.extend((seqs, last_h))
                return Mark(n, session, seqs[-1], (last_h or b"").hex())

            self._commit(body)
            self._last_seq[session] = last + len(encoded)
            self._last_h[session] = out[1]
            return out[0]

    def close_session(
        self,
        session: str,
        t_ms: int,
        rows: Iterable[Any] = (),
        *,
        status: str = "checked_out",
        receipt: dict | None = None,
    ) -> list[int]:
        """Append the final rows, mark the session closed and store its receipt, sealed, in one
        transaction."""
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
            last, prev = self._open_seq(session)
            out: list = []

            def body(db, n: int) -> Mark | None:
                seqs, last_h = self._insert(db, session, last, prev, encoded, n)
                seal = None
                if last_h is not None:
                    seal = self.chain_for(session).seal(last_h, status, int(t_ms), receipt_text)
                elif self._chain_of(session) is not None:
                    raise JournalError(f"session {session!r} is chained but has no chain head")
                db.execute(
                    "UPDATE sessions SET status=?, closed_ms=?, receipt=?, seal=? WHERE id=?",
                    (status, int(t_ms), receipt_text, seal, session),
                )
                self._outbox_rows(db, session, seqs, encoded)
                if self.outbox_limits is not None:
                    recs = ob.close_records(db, session, status, int(t_ms), receipt)
                    ob.insert(db, recs, self.outbox_limits)
                out.append(seqs)
                end = seqs[-1] if seqs else last
                return Mark(n, session, end, (last_h or b"").hex()) if seqs else None

            self._commit(body)
            # a closed session is never appended to again: what the writer kept of it goes
            # (a cart closes thousands; its status is read back if ever asked)
            self._last_seq.pop(session, None)
            self._last_h.pop(session, None)
            self._status.pop(session, None)
            return out[0]

    def _outbox_rows(self, db, session: str, seqs: list[int], encoded) -> None:
        """The staff actions among rows just written, into the outbox (same transaction)."""
        if self.outbox_limits is not None and seqs:
            ob.insert(db, ob.staff_records(session, seqs, encoded), self.outbox_limits)

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Rows of a read (for the parts beside the journal: the outbox)."""
        with self._lock:
            return self._read(sql, args).fetchall()

    def transact(self, fn: Callable[[sqlite3.Connection], Any]) -> None:
        """``fn(db)`` in one transaction of its own (no basket row: the head is unchanged)."""
        with self._lock:
            self._commit(lambda db, n: (fn(db), None)[1])

    def _insert(
        self, db, session: str, last: int, prev: bytes | None, encoded, commit: int
    ) -> tuple[list[int], bytes | None]:
        seqs = list(range(last + 1, last + 1 + len(encoded)))
        chain = None if prev is None else self.chain_for(session)
        rows = []
        for s, (t, k, p) in zip(seqs, encoded, strict=True):
            h = (
                None
                if chain is None or prev is None
                else chain.row(prev, session, s, commit, t, k, p)
            )
            rows.append((session, s, t, k, p, commit, h))
            prev = h
        db.executemany(
            "INSERT INTO events (session, seq, t_ms, kind, payload, c, h) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return seqs, prev

    def _open_seq(self, session: str) -> tuple[int, bytes | None]:
        """(last seq, last h; None for a session recorded before the chain) of an open
        session."""
        status = self._status.get(session)
        if status is None or session not in self._last_seq:
            row = self._read(
                "SELECT status, opened_ms, chain FROM sessions WHERE id=?", (session,)
            ).fetchone()
            if row is None:
                raise JournalError(f"no session {session!r}")
            status, opened, chain = row
            self._status[session] = status
            if self.damaged(session) is not None:
                raise JournalDamaged(f"session {session!r}: the record is damaged")
            last = self._read(
                "SELECT seq, h FROM events WHERE session=? ORDER BY seq DESC LIMIT 1", (session,)
            ).fetchone()
            self._last_seq[session] = last[0] if last else 0
            if chain is None:
                self._last_h[session] = None
            elif last is None:
                self._last_h[session] = self.chain_for(session).genesis(session, opened)
            else:
                self._last_h[session] = bytes(last[1])
        if status != "open":
            raise JournalError(f"session {session!r} is {status.replace('_', ' ')}")
        return self._last_seq[session], self._last_h[session]

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
            row = self._read("SELECT status FROM sessions WHERE id=?", (session,)).fetchone()
            if row is None or row[0] != "checked_out":
                raise JournalError(f"session {session!r} is not checked out")

            def body(db, n: int) -> None:
                mac = self._exit_mac(db, session, int(t_ms), code, text)
                cur = db.execute(
                    "INSERT OR IGNORE INTO exit_codes VALUES (?, ?, ?, ?, ?)",
                    (session, int(t_ms), code, text, mac),
                )
                if cur.rowcount and self.outbox_limits is not None:
                    rec = ob.audit_record(session, int(t_ms), code, decision)
                    ob.insert(db, [rec], self.outbox_limits)

            self._commit(body)
        found = self.exit_code(session)
        assert found is not None
        return found
