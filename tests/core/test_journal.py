"""The SQLite journal: rows, transactions, sessions, durability settings, bad input."""

from __future__ import annotations

import sqlite3

import pytest

from cart.basket.fold import AddLine
from cart.basket.journal import Journal, JournalError
from tests.core.conftest import T0


def test_rows_sessions_and_order(tmp_path):
    with Journal(tmp_path / "j.sqlite") as j:
        assert j.open_session("a", T0, [(T0, "open", {})]) == [1]
        assert j.append(
            "a", [(T0 + 1, "fusion.x", {"k": "ä"}), AddLine(T0 + 2, line="L1", product="p")]
        ) == [2, 3]
        assert j.append("a", []) == []
        rows = list(j.events("a"))
        assert [(e.seq, e.t_ms, e.kind) for e in rows] == [
            (1, T0, "open"),
            (2, T0 + 1, "fusion.x"),
            (3, T0 + 2, "add_line"),
        ]
        assert rows[1].payload == {"k": "ä"} and rows[2].payload["line"] == "L1"
        assert [e.seq for e in j.events("a", after_seq=2)] == [3]
        assert j.unfinished().id == "a" and j.session("a").status == "open"
        with pytest.raises(JournalError, match="already exists"):
            j.open_session("a", T0)
        with pytest.raises(JournalError, match="no session"):
            j.append("zzz", [(T0, "x.y", {})])


def test_wal_and_synchronous_settings(tmp_path):
    for sync, code in (("FULL", 2), ("NORMAL", 1)):
        with Journal(tmp_path / f"{sync}.sqlite", synchronous=sync) as j:
            assert j._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert j._db.execute("PRAGMA synchronous").fetchone()[0] == code
    with pytest.raises(ValueError):
        Journal(":memory:", synchronous="SOMETIMES")


def test_bad_rows_write_nothing(tmp_path):
    with Journal(tmp_path / "j.sqlite") as j:
        j.open_session("a", T0)
        for bad in (
            [(T0, "x.y", {"f": float("nan")})],
            [(T0, "x.y", {"o": object()})],
            [(-1, "x.y", {})],
            [(T0, "", {})],
            [(T0, "x.y", [])],
            ["nonsense"],
            [(T0, "ok.row", {}), (T0, "x.y", {"bad": {1}})],
        ):
            with pytest.raises(JournalError):
                j.append("a", bad)
        assert j.count("a") == 0
        j.append("a", [(T0, "ok.row", {})])
        assert [e.seq for e in j.events("a")] == [1]


def test_a_failing_transaction_rolls_back_whole(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.open_session("a", T0)
        j.append("a", [(T0, "x.one", {})])
        # another writer sneaks a row in with the next seq: our batch must fail as a whole
        other = sqlite3.connect(path)
        other.execute("INSERT INTO events VALUES ('a', 3, 0, 'x.sneak', '{}', NULL, NULL)")
        other.commit()
        other.close()
        with pytest.raises(JournalError):
            j.append("a", [(T0, "x.two", {}), (T0, "x.three", {})])
        assert [e.kind for e in j.events("a")] == ["x.one", "x.sneak"]


def test_close_is_idempotent_and_final(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    j.close()
    j.close()
    assert j.closed
    with pytest.raises(JournalError, match="closed"):
        j.append("a", [(T0, "x.y", {})])


def test_memory_journal_and_receipts():
    with Journal(":memory:") as j:
        j.open_session("a", T0)
        j.close_session("a", T0 + 9, [(T0 + 9, "check_out", {})], receipt={"total": 5})
        assert j.receipt("a") == {"total": 5} and j.receipt() == {"total": 5}
        assert j.session("a").closed_ms == T0 + 9 and j.unfinished() is None
        assert j.sessions()[0].status == "checked_out"
        with pytest.raises(JournalError, match="JSON"):
            j.open_session("b", T0)
            j.close_session("b", T0, receipt={"x": {1}})
        with pytest.raises(JournalError, match="status"):
            j.close_session("b", T0, status="lost")


def test_not_a_journal(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalError):
        Journal(junk)
    newer = tmp_path / "newer.sqlite"
    with Journal(newer) as j:
        j._db.execute("UPDATE meta SET value='99' WHERE key='schema'")
    with pytest.raises(JournalError, match="schema 99"):
        Journal(newer)


def test_the_journal_reopens_where_it_left_off(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.open_session("a", T0, [(T0, "open", {})])
        j.append("a", [(T0, "x.y", {})])
    with Journal(path) as j:
        assert j.append("a", [(T0, "x.z", {})]) == [3]


def test_prune_removes_only_old_closed_sessions():
    with Journal(":memory:") as j:
        for sid, closed in (("old", T0), ("new", T0 + 100)):
            j.open_session(sid, T0, [(T0, "open", {})])
            j.close_session(sid, closed, receipt={"s": sid})
        j.open_session("live", T0 - 50, [(T0, "open", {})])
        assert j.prune(T0 + 1) == 1
        assert j.session("old") is None and j.count("old") == 0 and j.receipt("old") is None
        assert j.receipt("new") == {"s": "new"} and j.unfinished().id == "live"
        assert j.prune(T0 + 10**9) == 1 and j.session("live") is not None
