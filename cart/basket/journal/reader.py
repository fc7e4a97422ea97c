"""Reading a journal back: rows, sessions, receipts, store copies, exit codes (a session that
did not verify is refused)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cart.basket.journal.errors import JournalDamaged
from cart.basket.journal.records import Entry, SessionInfo, _json, _store_digest
from cart.basket.journal.verify import JournalVerify


class JournalReader(JournalVerify):
    """The reading calls."""

    def events(self, session: str, after_seq: int = 0) -> Iterator[Entry]:
        """The session's rows in order (a list is built under the lock, then yielded). A
        session that did not verify is refused (:meth:`set_aside` keeps what verified)."""
        sc = self.damaged(session)
        if sc is not None:
            raise JournalDamaged(f"the record is damaged: {sc.faults[0]}")
        with self._lock:
            rows = self._read(
                "SELECT seq, t_ms, kind, payload FROM events WHERE session=? AND seq>? "
                "ORDER BY seq",
                (session, after_seq),
            ).fetchall()
        for seq, t_ms, kind, payload in rows:
            data = _json(payload, f"session {session!r} seq {seq}: its payload")
            yield Entry(session, seq, t_ms, kind, data)

    def session(self, session: str) -> SessionInfo | None:
        with self._lock:
            row = self._read(
                "SELECT id, opened_ms, closed_ms, status FROM sessions WHERE id=?", (session,)
            ).fetchone()
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
            rows = self._read(q, (*args, int(limit))).fetchall()
        return [SessionInfo(*r) for r in rows]

    def unfinished(self) -> SessionInfo | None:
        """The most recent session that was opened and never checked out or cancelled."""
        found = self.sessions("open", limit=1)
        return found[0] if found else None

    def latest(self) -> SessionInfo | None:
        """The session written last (by the order sessions were created)."""
        with self._lock:
            row = self._read(
                "SELECT id, opened_ms, closed_ms, status FROM sessions ORDER BY rowid DESC LIMIT 1",
                (),
            ).fetchone()
        return SessionInfo(*row) if row else None

    def receipt(self, session: str | None = None) -> dict | None:
        """A closed session's stored receipt (the latest closed one when ``session`` is None).
        A session that did not verify is refused."""
        with self._lock:
            if session is None:
                row = self._read(
                    "SELECT receipt, id FROM sessions WHERE status != 'open' "
                    "ORDER BY closed_ms DESC, rowid DESC LIMIT 1",
                    (),
                ).fetchone()
            else:
                row = self._read(
                    "SELECT receipt, id FROM sessions WHERE id=?", (session,)
                ).fetchone()
        if row is None or row[0] is None:
            return None
        sc = self.damaged(row[1])
        if sc is not None:
            raise JournalDamaged(f"the record is damaged: {sc.faults[0]}")
        return _json(row[0], f"session {row[1]!r}: its receipt")

    def store_sources(self, digest: str) -> tuple[bytes, bytes] | None:
        """The store files a session was opened with (see ``open_session(store=...)``); None
        when there is no copy, or the copy no longer matches its digest (a fault)."""
        with self._lock:
            row = self._read(
                "SELECT store_toml, catalog_toml FROM stores WHERE digest=?", (digest,)
            ).fetchone()
        if row is None or _store_digest(row[0], row[1]) != digest:
            return None
        return (bytes(row[0]), bytes(row[1]))

    def exit_code(self, session: str) -> tuple[str, dict[str, Any]] | None:
        """The exit code issued for ``session`` and its decision, if one was issued."""
        with self._lock:
            row = self._read(
                "SELECT code, decision FROM exit_codes WHERE session=?", (session,)
            ).fetchone()
        if row is None:
            return None
        return row[0], _json(row[1], f"session {session!r}: its exit code decision")

    def count(self, session: str) -> int:
        with self._lock:
            return self._read("SELECT COUNT(*) FROM events WHERE session=?", (session,)).fetchone()[
                0
            ]
