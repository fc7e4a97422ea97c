"""What every part of the journal shares: its fields, the connection, the chain of a session,
and closing."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Self

from cart.basket.chain import Chain, HighWaterMark, Mark, WriterLock
from cart.basket.journal.errors import JournalError, storage_error
from cart.basket.journal.outbox import OutboxLimits
from cart.basket.journal.records import JournalCheck


class JournalBase:
    """The fields every part reads (set by ``Journal.__init__``), the connection, closing."""

    path: str
    synchronous: str
    readonly: bool
    chain: Chain
    check: JournalCheck | None
    _lock: threading.RLock
    _last_seq: dict[str, int]
    _last_h: dict[str, bytes | None]
    _status: dict[str, str]
    _db: sqlite3.Connection | None
    _writer: WriterLock | None
    _mark: HighWaterMark | None
    _dbfd: int
    _identity: tuple[int, int] | None
    _lost: str
    _head: Mark
    _readonly_mark: bool
    outbox_limits: OutboxLimits | None  # the outbox is written (cart.basket.journal.outbox)

    # -- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                try:
                    self._db.close()
                finally:
                    self._db = None
            if self._dbfd >= 0:
                os.close(self._dbfd)
                self._dbfd = -1
            for res in (self._mark, self._writer):
                if res is not None:
                    res.close()
            self._mark = self._writer = None

    @property
    def closed(self) -> bool:
        return self._db is None

    @property
    def lost(self) -> str:
        """Why nothing more is committed ("" while all is well)."""
        return self._lost

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalError("the journal is closed")
        return self._db

    def _read(self, sql: str, args: tuple):
        try:
            return self._conn().execute(sql, args)
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise JournalError(storage_error(self.path, exc)) from exc

    @staticmethod
    def _rollback(db) -> None:
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass

    def _chain_of(self, session: str) -> str | None:
        row = self._conn().execute("SELECT chain FROM sessions WHERE id=?", (session,)).fetchone()
        return None if row is None else row[0]

    def chain_for(self, session: str) -> Chain:
        mode = self._chain_of(session)
        return Chain(None) if mode == "sha256" else self.chain

    def _exit_mac(self, db, session: str, t_ms: int, code: str, decision: str) -> bytes | None:
        """An exit code's MAC, bound to its session's seal (None for an unchained session)."""
        row = db.execute("SELECT chain, seal FROM sessions WHERE id=?", (session,)).fetchone()
        if row is None or row[0] is None or row[1] is None:
            return None
        chain = Chain(None) if row[0] == "sha256" else self.chain
        body = json.dumps([t_ms, code, decision], ensure_ascii=False).encode()
        return chain.mac(b"exit\0" + bytes(row[1]) + body)
