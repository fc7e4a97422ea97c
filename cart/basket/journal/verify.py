"""Verifying a journal: every session's chain and seal, the head and the high-water mark; the
faults found, kept until staff are asked."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable

from cart.basket.chain import Chain, Mark
from cart.basket.journal.errors import JournalError, storage_error
from cart.basket.journal.records import JournalCheck, SessionCheck, _store_digest
from cart.basket.journal.schema import JournalSchema


class JournalVerify(JournalSchema):
    """The verification at open (``check``) and again on demand; faults and staff questions."""

    def _verify(self, mark: Mark | None, bad_slots: int) -> JournalCheck:
        """Verify every session's chain and seal, the head and the high-water mark."""
        db = self._conn()
        mode = db.execute("SELECT value FROM meta WHERE key='chain'").fetchone()
        check = JournalCheck(self.path, mode[0] if mode else "", self._head, mark)
        unchained_upto = self._meta_int(db, "unchained_upto") or 0
        self._max_c: dict[str, int] = {}
        keyed_after = self._meta_int(db, "keyed_after")
        max_c = 0
        for rowid, sid, opened, closed, status, receipt, chain, seal in db.execute(
            "SELECT rowid, id, opened_ms, closed_ms, status, receipt, chain, seal FROM sessions "
            "ORDER BY rowid"
        ).fetchall():
            sc = self._verify_session(
                db, rowid, sid, opened, closed, status, receipt, chain, seal, unchained_upto
            )
            if chain == "sha256" and keyed_after is not None and rowid > keyed_after:
                sc.faults.append(
                    f"session {sid!r}: chained without the cart's key after the journal had one"
                )
                sc.keep = 0
            check.sessions[sid] = sc
            max_c = max(max_c, self._max_c.get(sid, 0))
        orphans = db.execute(
            "SELECT DISTINCT session FROM events WHERE session NOT IN (SELECT id FROM sessions)"
        ).fetchall()
        for (sid,) in orphans:
            check.faults.append(f"rows of session {sid!r}, which the journal has no record of")
        for sid, t_ms, code, decision, mac in db.execute(
            "SELECT session, t_ms, code, decision, mac FROM exit_codes"
        ).fetchall():
            known = check.sessions.get(sid)
            if known is None or known.unchained or known.faults:
                continue
            want = self._exit_mac(db, sid, t_ms, code, decision)
            if want is None or mac != want:
                known.faults.append(f"session {sid!r}: its exit code does not verify")
        for digest, store_toml, catalog_toml in db.execute(
            "SELECT digest, store_toml, catalog_toml FROM stores"
        ).fetchall():
            if _store_digest(store_toml, catalog_toml) != digest:
                check.faults.append(f"the journal's copy of store files {str(digest)[:12]} changed")
        self._check_head(db, check, max_c)
        self._check_mark(check, mark, bad_slots)
        return check

    def _verify_session(
        self, db, rowid, sid, opened, closed, status, receipt, chain, seal, unchained_upto
    ) -> SessionCheck:
        sc = SessionCheck(str(sid), str(status), chain=chain or "")
        rows = db.execute(
            "SELECT seq, c, t_ms, kind, payload, h FROM events WHERE session=? ORDER BY seq",
            (sid,),
        ).fetchall()
        sc.rows = len(rows)
        self._max_c[sid] = max((r[1] for r in rows if isinstance(r[1], int)), default=0)
        if chain is None:
            if rowid > unchained_upto:
                sc.faults.append(f"session {sid!r} has no chain (written after schema 2)")
                return sc
            sc.unchained = True
            verifier = None
        elif chain == "sha256":
            verifier = Chain(None)
        elif chain == self.chain.mode:
            verifier = self.chain
        else:
            sc.faults.append(
                f"session {sid!r} is chained with cart key {str(chain)[5:]} and this cart has "
                f"{self._key_words()}: it cannot be verified"
            )
            return sc
        prev = verifier.genesis(sid, opened) if verifier is not None else b""
        last_c = 0
        for i, (seq, c, t_ms, kind, payload, h) in enumerate(rows):
            fault = self._row_fault(verifier, prev, sid, i + 1, seq, c, t_ms, kind, payload, h)
            if fault is None and isinstance(c, int) and c < last_c:
                fault = f"commit {c} after commit {last_c}: rows out of order"
            if fault is not None:
                sc.faults.append(f"session {sid!r} seq {seq} ({str(kind)[:40]}): {fault}")
                # show whole commits only: drop the rest of the commit the bad row may belong to
                same = rows[i - 1][1] == c if i else True
                sc.keep = sum(1 for r in rows[:i] if r[1] != rows[i - 1][1]) if same else i
                return sc
            prev, last_c = (h if verifier is not None else prev), (c or last_c)
            sc.verified = sc.keep = i + 1
        if verifier is None:
            return sc
        if status == "open" and seal is not None:
            sc.faults.append(f"session {sid!r} is marked open but sealed as closed")
            sc.keep = 0
        elif status != "open":
            want = verifier.seal(prev, status, closed, receipt)
            if seal != want:
                found = "no seal" if seal is None else f"seal {bytes(seal).hex()[:16]}"
                sc.faults.append(
                    f"session {sid!r}: its close ({status}, receipt) does not verify: "
                    f"expected seal {want.hex()[:16]}, found {found}"
                )
        return sc

    @staticmethod
    def _row_fault(verifier, prev, sid, want_seq, seq, c, t_ms, kind, payload, h) -> str | None:
        if seq != want_seq:
            return f"seq {want_seq} was expected: {seq - want_seq} row(s) missing before it"
        try:
            if not isinstance(json.loads(payload), dict):
                return "its payload is not a JSON object"
        except (TypeError, ValueError):
            return "its payload is not JSON"
        if verifier is None:
            return None if h is None else "a chain hash in a session recorded before the chain"
        if not isinstance(c, int) or not isinstance(h, bytes):
            return "it has no chain hash"
        want = verifier.row(prev, sid, seq, c, t_ms, kind, payload)
        if want != h:
            return (
                f"chain mismatch: expected {want.hex()[:16]}, found {h.hex()[:16]}"
                " (the row or one before it was changed)"
            )
        return None

    def _check_head(self, db, check: JournalCheck, max_c: int) -> None:
        head = self._head
        if head.commit < 0:
            check.faults.append("the journal's head record is damaged")
            return
        if max_c > head.commit:
            check.faults.append(f"rows of commit {max_c}, after the journal's head {head.commit}")
        if head.session:
            row = db.execute(
                "SELECT c, h FROM events WHERE session=? AND seq=?", (head.session, head.seq)
            ).fetchone()
            if row is None or row[0] != head.commit or bytes(row[1] or b"").hex() != head.h:
                check.faults.append(
                    f"the journal's head ({head.describe()}) does not match its rows"
                )

    def _check_mark(self, check: JournalCheck, mark: Mark | None, bad_slots: int) -> None:
        if self._mark is None and not self._readonly_mark:
            return
        head = self._head
        name = os.path.basename(self.path) + ".head"
        if bad_slots == 2 or (mark is None and bad_slots):
            check.faults.append(f"the high-water mark {name} does not verify")
        if mark is None:
            if head.commit > 0 and not bad_slots:
                check.faults.append(
                    f"the high-water mark {name} is missing, and the journal is at "
                    f"{head.describe()}"
                )
            return
        if head.commit < mark.commit:
            check.faults.append(
                f"{mark.describe()} was acknowledged, but the journal ends at "
                f"{head.describe()}: the last {mark.commit - head.commit} commit(s) are lost"
            )
        elif head.commit == mark.commit and head.h != mark.h:
            check.faults.append(
                f"the last commit ({head.describe()}) is not the one acknowledged "
                f"({mark.describe()})"
            )
        elif head.commit > mark.commit + 1:
            check.faults.append(
                f"the high-water mark ({mark.describe()}) is older than the journal "
                f"({head.describe()}): it was replaced, or the journal was"
            )

    def _after_check(self, mark: Mark | None) -> None:
        """Keep the faults found (until a staff question is raised for them) and set the mark
        to the journal's head (once the faults are kept, the old mark has said what it had)."""
        check = self.check
        assert check is not None
        db = self._conn()
        faults = check.all_faults()
        if faults:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT OR IGNORE INTO faults (text) VALUES (?)", [(f,) for f in faults]
                )
                db.execute("COMMIT")
            except BaseException:
                self._rollback(db)
                raise
        if self._mark is not None and mark != self._head:
            self._mark.write(self._head, both=True)

    def verify(self) -> JournalCheck:
        """Verify the journal again, now (``check`` is the verification made at open)."""
        with self._lock:
            mark, bad = self._mark.read() if self._mark is not None else (None, 0)
            return self._verify(mark, bad)

    def pending_faults(self) -> list[tuple[int, str]]:
        """Faults found that no staff question has been raised for yet: (id, sentence)."""
        with self._lock:
            return self._read(
                "SELECT id, text FROM faults WHERE raised_in IS NULL ORDER BY id", ()
            ).fetchall()

    def note(self, text: str) -> None:
        """Keep a fault found outside the journal's own check (until staff are asked)."""
        if self.readonly:
            return
        with self._lock:
            try:
                self._conn().execute("INSERT OR IGNORE INTO faults (text) VALUES (?)", (text,))
            except sqlite3.DatabaseError as exc:
                raise JournalError(storage_error(self.path, exc)) from exc

    def mark_raised(self, ids: Iterable[int], session: str) -> None:
        """Staff have been asked about these faults (in ``session``)."""
        ids = list(ids)
        if not ids or self.readonly:
            return
        with self._lock:
            db = self._conn()
            try:
                db.executemany(
                    "UPDATE faults SET raised_in=? WHERE id=?", [(session, i) for i in ids]
                )
            except sqlite3.DatabaseError as exc:
                raise JournalError(storage_error(self.path, exc)) from exc

    def damaged(self, session: str) -> SessionCheck | None:
        """The check of ``session`` when it has faults, else None."""
        sc = self.check.sessions.get(session) if self.check is not None else None
        return sc if sc is not None and sc.faults else None

    def unchained(self, session: str) -> bool:
        """``session`` was recorded before the chain (schema 1): readable, not provable."""
        sc = self.check.sessions.get(session) if self.check is not None else None
        return sc is not None and sc.unchained
