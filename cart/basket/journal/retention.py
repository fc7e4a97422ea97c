"""What the journal keeps: a damaged session set aside (its verified prefix continued in a new
session), and closed sessions pruned."""

from __future__ import annotations

import hashlib
import json

from cart.basket.chain import Mark
from cart.basket.journal.errors import JournalError
from cart.basket.journal.records import _encode
from cart.basket.journal.writer import JournalWriter


class JournalRetention(JournalWriter):
    """Setting a damaged session aside; pruning closed sessions."""

    def set_aside(self, session: str) -> str | None:
        """Close a damaged session (cancelled; its rows are kept as they are, for the store) and
        copy its verified prefix (``damaged(session).keep`` rows, whole commits) into a new
        session, followed by a ``journal.continued`` row. Returns the new session's id, or None
        when nothing of it verified (then the cart starts afresh)."""
        sc = self.damaged(session)
        if sc is None:
            raise JournalError(f"session {session!r} is not damaged")
        new = hashlib.sha256(f"{session}\0continued".encode()).hexdigest()[:16]
        with self._lock:
            info = self.session(session)
            assert info is not None
            rows = self._read(
                "SELECT t_ms, kind, payload FROM events WHERE session=? AND seq<=? ORDER BY seq",
                (session, sc.keep),
            ).fetchall()
            t_end = max([info.opened_ms, *(r[0] for r in rows)])
            note = {"from": session, "rows": len(rows), "of": sc.rows, "fault": sc.faults[0]}
            encoded = [(t, k, p) for t, k, p in rows]
            encoded.append(_encode((t_end, "journal.continued", note)))
            out: list = []

            def body(db, n: int) -> Mark | None:
                db.execute(
                    "UPDATE sessions SET status='cancelled', closed_ms=? WHERE id=?",
                    (t_end, session),
                )
                if not rows:
                    return None
                db.execute(
                    "INSERT INTO sessions (id, opened_ms, status, chain) VALUES (?, ?, 'open', ?)",
                    (new, info.opened_ms, self.chain.mode),
                )
                prev = self.chain.genesis(new, info.opened_ms)
                seqs, last_h = self._insert(db, new, 0, prev, encoded, n)
                out.extend((len(seqs), last_h))
                return Mark(n, new, len(seqs), (last_h or b"").hex())

            self._commit(body)
            self._status[session] = "cancelled"
            if not rows:
                return None
            self._status[new] = "open"
            self._last_seq[new], self._last_h[new] = out
            return new

    def prune(self, closed_before_ms: int) -> int:
        """Delete sessions closed before ``closed_before_ms`` (rows, receipt, exit code); open
        sessions are never touched. Returns how many sessions went. When the session of the
        journal's head (the last commit) goes, the prune is a commit of its own (the head and
        the high-water mark then name no row). The file shrinks at the next checkpoint/VACUUM;
        the space is reused meanwhile."""
        ids: list[str] = []

        def body(db, n: int) -> Mark | None:
            ids.extend(
                r[0]
                for r in db.execute(
                    "SELECT id FROM sessions WHERE status != 'open' AND closed_ms < ?",
                    (int(closed_before_ms),),
                )
            )
            for sid in ids:
                db.execute("DELETE FROM exit_codes WHERE session=?", (sid,))
                db.execute("DELETE FROM events WHERE session=?", (sid,))
                db.execute("DELETE FROM sessions WHERE id=?", (sid,))
            if self._head.session not in ids:
                return None
            h = self.chain.mac(b"prune\0" + json.dumps([n, self._head.h, ids]).encode())
            return Mark(n, "", 0, h.hex())

        with self._lock:
            self._commit(body)
            for sid in ids:
                self._status.pop(sid, None)
                self._last_seq.pop(sid, None)
                self._last_h.pop(sid, None)
                if self.check is not None:
                    self.check.sessions.pop(sid, None)
            return len(ids)
