"""The journal's outbox: records exist exactly when their rows do, survive a restart, leave on
the store's acknowledgement, and past the disk bound only telemetry is dropped (counted)."""

from __future__ import annotations

import json

import pytest

from cart.basket.journal import Journal, JournalError
from cart.basket.journal.outbox import Outbox, OutboxLimits
from cart.sim.link_fleet import play_trips
from cart.store.loading import load_store


@pytest.fixture(scope="module")
def trip():
    return next(t for t in play_trips(load_store(), range(3)) if t.status == "checked_out")


def write(j: Journal, trip, sid: str) -> None:
    rows = list(trip.rows)
    j.open_session(sid, rows[0][0], rows[:1])
    j.append(sid, rows[1:-1])
    j.close_session(sid, rows[-1][0], rows[-1:], receipt={**trip.receipt, "session": sid})


def test_records_come_with_their_rows_and_survive_a_restart(tmp_path, trip):
    path = tmp_path / "j.sqlite"
    with Journal(path, outbox=OutboxLimits()) as j:
        write(j, trip, "s1")
        j.record_exit_code("s1", 5, "CX1:TEST", {"band": "low", "spot_check": False})
        j.record_exit_code("s1", 6, "CX1:OTHER", {"band": "high", "spot_check": True})
        with pytest.raises(JournalError):
            j.close_session("s1", 7, receipt={"x": 1})  # already closed: no second receipt
        ids = [p.id for p in Outbox(j).pending()]
    assert ids[:2] == ["s1.receipt", "s1.telemetry"] and ids[-1] == "s1.audit"
    assert len(ids) == len(set(ids))
    with Journal(path, outbox=OutboxLimits()) as j:  # a reboot: all still pending
        ob = Outbox(j)
        pend = ob.pending()
        assert [p.id for p in pend] == ids
        audit = json.loads(pend[-1].payload)
        assert audit["body"]["exit_code"] == "CX1:TEST"  # the first code stays, once
        assert json.loads(pend[0].payload)["body"]["totals"] == trip.receipt["totals"]
        assert ob.ack(["s1.receipt", "s1.receipt", "nope"]) == 1
        s = ob.stats()
        assert s["pending"] == len(ids) - 1 and s["acked"] == 1 and s["written"] == len(ids)
        assert s["bytes"] == sum(len(p.payload.encode()) for p in ob.pending())


def test_without_the_outbox_nothing_is_written(tmp_path, trip):
    with Journal(tmp_path / "j.sqlite") as j:
        write(j, trip, "s1")
        assert Outbox(j).pending() == []


def test_past_the_bound_telemetry_is_dropped_and_counted_receipts_kept(tmp_path, trip):
    with Journal(tmp_path / "j.sqlite", outbox=OutboxLimits(max_bytes=1)) as j:
        for k in range(3):
            write(j, trip, f"s{k}")
        ob = Outbox(j)
        kinds = [p.kind for p in ob.pending()]
        assert kinds.count("receipt") == 3 and "telemetry" not in kinds
        assert ob.stats()["dropped"] == 3
