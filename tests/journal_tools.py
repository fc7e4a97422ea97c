"""Test helpers for journals edited behind the journal's back."""

from __future__ import annotations

import json
import os
import sqlite3

from cart.basket.chain import Chain, HighWaterMark, Mark


def sql(path, statement: str, *args) -> int:
    """Run one statement on a journal file with plain SQLite (as an editor would)."""
    db = sqlite3.connect(path)
    with db:
        n = db.execute(statement, args).rowcount
    db.close()
    return n


def rechain(path, key: bytes | None = None) -> None:
    """Recompute every chain hash, seal, the head and the high-water mark of a journal file, as
    if the journal had written what it now holds (a journal of other software, consistent in
    itself). Only someone with the key can do this for a keyed journal."""
    chain = Chain(key)
    db = sqlite3.connect(path)
    head = Mark(0, "", 0, "")
    n = 0
    with db:
        sessions = db.execute(
            "SELECT id, opened_ms, closed_ms, status, receipt FROM sessions ORDER BY rowid"
        ).fetchall()
        for sid, opened, closed, status, receipt in sessions:
            prev = chain.genesis(sid, opened)
            rows = db.execute(
                "SELECT seq, t_ms, kind, payload FROM events WHERE session=? ORDER BY seq", (sid,)
            ).fetchall()
            for seq, t_ms, kind, payload in rows:
                n += 1
                h = chain.row(prev, sid, seq, n, t_ms, kind, payload)
                db.execute("UPDATE events SET c=?, h=? WHERE session=? AND seq=?", (n, h, sid, seq))
                prev, head = h, Mark(n, sid, seq, h.hex())
            seal = None if status == "open" else chain.seal(prev, status, closed, receipt)
            db.execute("UPDATE sessions SET chain=?, seal=? WHERE id=?", (chain.mode, seal, sid))
        db.execute(
            "UPDATE meta SET value=? WHERE key='head'",
            (json.dumps([head.commit, head.session, head.seq, head.h]),),
        )
        db.execute("DELETE FROM faults")
    db.close()
    mark = HighWaterMark(os.fspath(path) + ".head", chain, sync=False)
    mark.write(head, both=True)
    mark.close()
