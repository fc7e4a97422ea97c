"""Fusion's staff gate: lock-out delays that grow, per staff id and shared by unknown ids, and
that survive a restart; staff mode timed on the monotonic clock (a wall-clock step neither
extends nor shortens it) and ended by a restart; replays decide the same."""

from __future__ import annotations

import dataclasses

import pytest

from cart.basket.journal import Journal
from cart.common.events import Scan
from cart.fusion import actions as A
from cart.fusion.session import FusionSession
from cart.fusion.staff import LOCKOUT_DELAYS_MS, StaffGate
from cart.store.secrets import hash_pin
from cart.store.staff import StaffMember

T0 = 1_767_225_600_000
LAGER = "7310000200052"  # age-restricted: an alert only staff resolve
HOUR = 3_600_000


@pytest.fixture(scope="module")
def named_store(store):
    staff = (
        StaffMember("s1", "Anna", hash_pin("1357", b"s1-salt-s1-salt!")),
        StaffMember("s2", "Bo", hash_pin("8642", b"s2-salt-s2-salt!")),
    )
    return dataclasses.replace(store, staff=staff)


def _lock_length(gate: StaffGate, t: int, staff_id: str) -> int:
    """How long the lock that began at ``t`` lasts (probing ``locked``, no PIN checked)."""
    lo, hi = 0, 10 * HOUR
    assert gate.locked(t, staff_id)
    while lo < hi:  # the first time it is no longer locked
        mid = (lo + hi) // 2
        if gate.locked(t + mid, staff_id):
            lo = mid + 1
        else:
            hi = mid
    return lo


def test_lockout_delays_grow_and_are_capped_and_a_right_pin_resets_them(named_store):
    gate = StaffGate(named_store.staff_pins())
    t = 0
    assert [gate.login(t + i, "s1", "0000") for i in range(2)] == ["wrong", "wrong"]
    assert not gate.locked(t + 2, "s1")
    seen = []
    t = 10
    for _ in range(len(LOCKOUT_DELAYS_MS) + 2):
        assert gate.login(t, "s1", "0000") == "wrong"
        d = _lock_length(gate, t, "s1")
        seen.append(d)
        assert gate.login(t + d - 1, "s1", "1357") == "locked"  # the right PIN, still locked
        t += d
    assert seen == [30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 900_000, 900_000]
    assert gate.login(t, "s1", "1357") == "ok"
    assert [gate.login(t + i, "s1", "0000") for i in (1, 2)] == ["wrong", "wrong"]
    assert not gate.locked(t + 3, "s1")  # the count started again


def test_lockout_is_per_staff_id_and_shared_by_unknown_ids(named_store):
    gate = StaffGate(named_store.staff_pins())
    for i, who in enumerate(("nobody", "ghost", "x9")):  # three different unknown ids
        assert gate.login(i, who, "1357") == "wrong"
    assert gate.locked(5, "anyone-else") and gate.login(6, "s1", "1357") == "ok"
    for i in range(3):
        gate.login(10 + i, "s2", "0000")
    assert gate.locked(20, "s2") and not gate.locked(20, "s1")
    # with a PIN shared by all ("*", the demo store), every id is one count
    shared = StaffGate({"*": hash_pin("2468", b"\0" * 16)})
    for i, who in enumerate(("a", "b", "c")):
        shared.login(i, who, "0000")
    assert shared.locked(5, "d")


def _row_logins(journal, sid):
    return [r for r in journal.events(sid) if r.kind.startswith("fusion.staff.login_")]


def test_lockout_survives_a_restart_and_a_restart_never_shortens_it(tmp_path, named_store):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        fs = FusionSession.start(j, named_store, T0)
        for i in range(3):
            fs.handle(A.StaffLogin(T0 + i, "s1", "0000"), mono_ms=1000 + i)
        out = fs.handle(A.StaffLogin(T0 + 31_000, "s1", "0000"), mono_ms=31_002)  # after 30 s
        assert any(getattr(e, "kind", "") == "fusion.staff.login_wrong" for e in out)
        sid = fs.cart.id
        logins = [r.payload for r in j.events(sid) if r.payload.get("type", "").endswith("Login")]
        assert len(logins) == 4 and all(p.get("pin") == "" for p in logins)  # outcomes only
    # the cart restarts (a new boot: the monotonic clock starts low again)
    with Journal(path) as j:
        fs = FusionSession.recover(j, named_store)
        assert fs.staff.locks["s1"].failures == 4  # rebuilt from the journaled outcomes
        m = 50
        assert fs.handle(A.StaffLogin(T0 + 40_000, "s1", "1357"), mono_ms=m) != []
        assert fs.staff.locked(0, "s1")
        fs.handle(A.StaffLogin(T0 + 40_001, "s1", "1357"), mono_ms=m + 59_999)
        assert fs.state().staff is None  # the 4th wrong PIN's 60 s, counted again from here
        fs.handle(A.StaffLogin(T0 + 40_002, "s1", "1357"), mono_ms=m + 60_000)
        assert fs.state().staff == "s1"
        kinds = [r.kind.rsplit("_", 1)[1] for r in _row_logins(j, sid)]
        assert kinds == ["wrong"] * 4 + ["locked", "locked", "ok"]


def _age_alert(fs, t, mono):
    fs.handle(Scan(t, LAGER, "]E0", "scanner:t"), mono_ms=mono)
    return next(f for f in fs.state().flags if f.kind == "age_check")


def _resolved(fs, flag_id) -> bool:
    return all(f.id != flag_id for f in fs.state().flags)


@pytest.mark.parametrize("monotonic", [True, False])
def test_a_wall_clock_step_back_does_not_extend_staff_mode(store, monotonic):
    fs = FusionSession.start(Journal(":memory:"), store, T0)
    stamp = (lambda m: m) if monotonic else (lambda m: None)
    age = _age_alert(fs, T0 + 1000, stamp(1000))
    fs.handle(A.StaffLogin(T0 + 2000, "anna", "2468"), mono_ms=stamp(2000))
    assert fs.state().staff == "anna"
    # the wall clock is stepped back one hour; 130 s pass (staff mode lasts 120 s idle)
    t = T0 + 2000 - HOUR + 130_000
    fs.handle(A.StaffResolve(t, age.id, "approve"), mono_ms=stamp(132_000))
    if monotonic:
        assert not _resolved(fs, age.id) and fs.state().staff is None
    else:  # the inputs' own t_ms (what the cart did before): staff mode was still on
        assert _resolved(fs, age.id)


def test_a_wall_clock_step_forward_does_not_end_staff_mode(store):
    fs = FusionSession.start(Journal(":memory:"), store, T0)
    age = _age_alert(fs, T0 + 1000, 1000)
    fs.handle(A.StaffLogin(T0 + 2000, "anna", "2468"), mono_ms=2000)
    fs.handle(A.StaffResolve(T0 + 2000 + HOUR, age.id, "approve"), mono_ms=12_000)
    assert _resolved(fs, age.id) and fs.state().staff == "anna"


def test_staff_mode_ends_at_a_restart_and_the_replay_agrees(tmp_path, store):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        fs = FusionSession.start(j, store, T0)
        age = _age_alert(fs, T0 + 1000, 5_000_000)
        fs.handle(A.StaffLogin(T0 + 2000, "anna", "2468"), mono_ms=5_001_000)
        assert fs.state().staff == "anna"
    with Journal(path) as j:  # restarted 10 s later, a new boot (its monotonic clock is low)
        fs = FusionSession.recover(j, store)
        assert fs.state().staff is None
        fs.handle(A.StaffResolve(T0 + 12_000, age.id, "approve"), mono_ms=900)
        assert not _resolved(fs, age.id)  # nobody is logged in after a restart
    with Journal(path) as j:  # the next restart replays the same: the resolve refused again
        fs = FusionSession.recover(j, store)
        assert fs.disagreements() == [] and not _resolved(fs, age.id)
        assert all(f.kind != "recovery_check" for f in fs.state().flags)
        fs.handle(A.StaffLogin(T0 + 13_000, "anna", "2468"), mono_ms=1000)
        fs.handle(A.StaffResolve(T0 + 13_001, age.id, "approve"), mono_ms=1001)
        assert _resolved(fs, age.id)
