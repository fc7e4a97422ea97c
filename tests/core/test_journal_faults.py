"""The journal under damaged storage, a second writer and a file pulled from under it: every
fault is detected and named, never a different basket shown silently.

A real journal is made by the engine (fusion, core basket, a keyed chain, a signed exit code):
one trip paid, one open with lines. Each test damages a copy and restarts on it. An outcome is

- ``refused``: the journal does not open (SQLite cannot read it consistently, or it is empty
  while the high-water mark says commits were acknowledged): a sentence, no traceback;
- ``fault``: it opens, the faults are named, and the restarted cart shows only what verified
  with a staff question saying the record is damaged;
- ``none``: everything reads back exactly as written (the byte was one nobody reads);
- ``SILENT``: it opens with no fault and reads back differently. Never.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest

from cart.app.stack import journal_key, open_engine
from cart.basket.journal import Journal, JournalError
from cart.common import keys
from cart.common.events import Scan, WeightSettled
from cart.fusion.session import DAMAGED_MESSAGE
from cart.store.loading import load_store

MILK_A = "7310000100147"  # 1580 g
JUICE = "7310000100017"  # 1060 g
T0 = 1_767_258_000_000
KEY = keys.generate("cart-faults")
JKEY = journal_key(KEY)


@pytest.fixture(scope="module")
def store():
    return load_store()


class Trip:
    def __init__(self, engine, t):
        self.engine, self.t, self.g = engine, t, 0.0

    def item(self, code, grams):
        self.t += 2000
        self.engine.handle_event(Scan(self.t, code, "]E0", "scanner:hand"), self.t)
        self.t += 1500
        self.g += grams
        self.engine.handle_event(WeightSettled(self.t, self.g, grams, 400, 0.5), self.t)


def _engine(store, path, t=T0):
    j = Journal(path, synchronous="NORMAL", key=JKEY)
    e = open_engine(store, j, t)
    e.exit_signer = KEY
    e.show_receipt()
    return j, e


def _make(store, folder) -> str:
    """The journal: trip 1 paid (receipt, signed exit code), trip 2 open with two lines."""
    from cart.app import actions

    path = os.path.join(folder, "journal.sqlite")
    j, e = _engine(store, path)
    trip = Trip(e, T0)
    trip.item(MILK_A, 1580.0)
    trip.item(JUICE, 1060.0)
    e.handle_action(actions.Pay(), trip.t + 1000)
    assert e.view().receipt is not None
    trip.t += 5000
    e.handle_event(WeightSettled(trip.t, 0.0, -trip.g, 400, 0.5), trip.t)
    e.handle_action(actions.NewTrip(), trip.t + 100)
    second = Trip(e, trip.t + 1000)
    second.item(JUICE, 1060.0)
    second.item(MILK_A, 1580.0)
    assert len(e.view().lines) == 2 and not e.view().alerts
    j.close()
    return path


def _copy(src: str, folder: str) -> str:
    os.makedirs(folder, exist_ok=True)
    dst = os.path.join(folder, "journal.sqlite")
    for suffix in ("", "-wal", ".head"):
        if os.path.exists(src + suffix):
            shutil.copyfile(src + suffix, dst + suffix)
    return dst


def _read_all(j: Journal) -> list:
    """Everything the journal says: every session's rows, receipt and exit code."""
    out = []
    for info in sorted(j.sessions(limit=1000), key=lambda s: s.id):
        out.append((info, list(j.events(info.id)), j.receipt(info.id), j.exit_code(info.id)))
    return out


def outcome(store, path, truth) -> tuple[str, str]:
    try:
        j = Journal(path, synchronous="NORMAL", key=JKEY)
    except JournalError as exc:
        return "refused", str(exc)
    try:
        faults = j.check.all_faults()
        if faults:
            e = open_engine(store, j, T0 + 10**7)
            alerts = [a for a in e.view().alerts if a.kind == "recovery_check"]
            assert alerts and alerts[0].message == DAMAGED_MESSAGE, faults
            assert alerts[0].staff_only
            return "fault", faults[0]
        return ("none", "") if _read_all(j) == truth else ("SILENT", "")
    except JournalError as exc:  # a fault found while reading: named too
        return "fault", str(exc)
    finally:
        j.close()


@pytest.fixture(scope="module")
def made(store, tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("made"))
    path = _make(store, folder)
    with Journal(path, key=JKEY, readonly=True) as j:
        assert j.check.ok, j.check.all_faults()
        truth = _read_all(j)
    assert not os.path.exists(path + "-wal") or os.path.getsize(path + "-wal") == 0
    return path, truth


def test_the_journal_made_verifies_and_restarts_on_the_open_trip(store, made, tmp_path):
    path, truth = made
    copy = _copy(path, str(tmp_path / "c"))
    assert outcome(store, copy, truth) == ("none", "")
    j, e = _engine(store, copy, T0 + 10**7)
    assert len(e.view().lines) == 2 and not e.view().alerts and e.view().receipt is None
    j.close()


def flip_sweep(store, path, truth, folder, n, seed=7) -> Counter:
    size = os.path.getsize(path)
    rng = random.Random(seed)
    counts: Counter = Counter()
    for i in range(n):
        off = rng.randrange(size)
        copy = _copy(path, os.path.join(folder, str(i)))
        with open(copy, "r+b") as f:
            f.seek(off)
            b = f.read(1)[0]
            f.seek(off)
            f.write(bytes([b ^ rng.randrange(1, 256)]))
        what, why = outcome(store, copy, truth)
        assert what != "SILENT", f"byte {off} flipped: read back differently, no fault"
        assert what == "none" or why, (off, what)
        counts[what] += 1
        shutil.rmtree(os.path.dirname(copy))
    return counts


@pytest.mark.slow
def test_byte_flips_anywhere_are_detected_or_change_nothing(store, made, tmp_path):
    path, truth = made
    counts = flip_sweep(store, path, truth, str(tmp_path), 150)
    assert counts["SILENT"] == 0
    assert counts["fault"] > 0 and counts["refused"] > 0, counts


def _file_edit(path: str, old: bytes, new: bytes) -> None:
    with open(path, "rb") as f:
        data = f.read()
    assert data.count(old) >= 1, old
    with open(path, "wb") as f:
        f.write(data.replace(old, new, 1))


def test_a_price_digit_flipped_in_a_stored_payload_or_receipt_is_a_chain_fault(
    store, made, tmp_path
):
    path, truth = made
    with Journal(path, key=JKEY, readonly=True) as j:
        paid = next(s for s in j.sessions() if s.status == "checked_out")
        total = j.receipt(paid.id)["totals"]["total"]
    digits = str(total).encode()
    other = bytes([digits[0] ^ 1]) + digits[1:]  # one digit changed: still valid JSON
    for needle, repl in ((b'"total":' + digits, b'"total":' + other), (b'"qty":1', b'"qty":3')):
        copy = _copy(path, str(tmp_path / needle.decode()[:6].strip('"')))
        _file_edit(copy, needle, repl)
        what, why = outcome(store, copy, truth)
        assert what == "fault", (needle, what)
        assert "does not verify" in why or "chain mismatch" in why, why


def _sql(path, statement, *args):
    db = sqlite3.connect(path)
    with db:
        n = db.execute(statement, args).rowcount
    db.close()
    return n


@pytest.mark.parametrize("which", ["middle", "last"])
def test_a_deleted_row_is_named(store, made, tmp_path, which):
    path, truth = made
    copy = _copy(path, str(tmp_path / which))
    with Journal(copy, key=JKEY, readonly=True) as j:
        sid = j.unfinished().id
        n = j.count(sid)
    seq = 3 if which == "middle" else n
    assert _sql(copy, "DELETE FROM events WHERE session=? AND seq=?", sid, seq) == 1
    what, why = outcome(store, copy, truth)
    assert what == "fault", why
    if which == "middle":
        assert f"seq {seq + 1} " in why and "seq 3 was expected" in why
    else:
        assert "does not match its rows" in why or "lost" in why


def test_a_price_edited_and_rechained_without_the_key_is_refused_as_unkeyed(store, made, tmp_path):
    from tests.journal_tools import rechain

    path, truth = made
    copy = _copy(path, str(tmp_path / "e"))
    _sql(copy, "UPDATE events SET payload=json_set(payload, '$.qty', 3) WHERE kind='add_line'")
    rechain(copy)  # what anyone with the file but not the key can do
    what, why = outcome(store, copy, truth)
    assert what == "fault", (what, why)
    with Journal(copy, key=JKEY, readonly=True) as j:
        faults = j.check.all_faults()
    assert any("without the cart's key" in f for f in faults), faults


@pytest.mark.parametrize("size", ["0", "1", "half"])
def test_a_truncated_database_never_opens_as_an_empty_basket(store, made, tmp_path, size):
    path, truth = made
    copy = _copy(path, str(tmp_path / size))
    n = {"0": 0, "1": 1, "half": os.path.getsize(copy) // 2}[size]
    os.truncate(copy, n)
    what, why = outcome(store, copy, truth)
    assert what == "refused", (what, why)
    if size == "0":
        assert "was acknowledged" in why and "commit" in why, why
    # the damaged file is left as it was, for the store
    assert os.path.getsize(copy) == n


def _with_wal(store, folder) -> tuple[str, int]:
    """A journal copied while the cart ran (its last commits only in the WAL), as a power
    cut leaves it; and the WAL's size."""
    path = os.path.join(folder, "live.sqlite")
    j, e = _engine(store, path)
    j._conn().execute("PRAGMA wal_autocheckpoint=0")
    trip = Trip(e, T0)
    trip.item(MILK_A, 1580.0)
    trip.item(JUICE, 1060.0)
    snap = _copy(path, os.path.join(folder, "snap"))
    j.close()
    return snap, os.path.getsize(snap + "-wal")


@pytest.mark.parametrize("damage", ["cut", "flip"])
def test_a_wal_cut_or_flipped_loses_its_tail_and_says_so(store, tmp_path, damage):
    snap, wal = _with_wal(store, str(tmp_path))
    assert wal > 4096
    with Journal(snap, key=JKEY, readonly=True) as j:
        lines_before = j.count(j.unfinished().id)
    if damage == "cut":
        os.truncate(snap + "-wal", wal - 3000)  # the last frames gone
    else:
        with open(snap + "-wal", "r+b") as f:
            f.seek(wal - 2000)
            b = f.read(1)[0]
            f.seek(wal - 2000)
            f.write(bytes([b ^ 0x40]))
    j = Journal(snap, synchronous="NORMAL", key=JKEY)
    faults = j.check.all_faults()
    assert any("was acknowledged" in f and "lost" in f for f in faults), faults
    e = open_engine(store, j, T0 + 10**7)
    (alert,) = [a for a in e.view().alerts if a.kind == "recovery_check"]
    assert alert.message == DAMAGED_MESSAGE
    # the rows that are there (fewer than written), and the staff question's two rows
    assert j.count(e.session.id) - 2 < lines_before
    j.close()
    # asked once: the next restart does not ask again
    j = Journal(snap, synchronous="NORMAL", key=JKEY)
    e = open_engine(store, j, T0 + 2 * 10**7)
    assert len([a for a in e.view().alerts if a.kind == "recovery_check"]) == 1
    assert j.pending_faults() == []
    j.close()


def test_a_second_cart_process_on_the_journal_exits_naming_the_holder(store, tmp_path):
    path = str(tmp_path / "j.sqlite")
    with Journal(path) as j:
        j.open_session("a", T0, [(T0, "open", {})])
        code = (
            "import sys\nfrom cart.basket.journal import Journal, JournalError\n"
            f"try:\n    Journal({path!r})\nexcept JournalError as e:\n"
            "    print(e); sys.exit(3)\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 3, proc.stderr
        assert f"pid {os.getpid()}" in proc.stdout and "another cart process" in proc.stdout
        assert "Traceback" not in proc.stdout + proc.stderr
        # a reader may look meanwhile
        with Journal(path, readonly=True) as r:
            assert r.unfinished().id == "a"
    with Journal(path) as j:  # released with the first
        assert j.unfinished().id == "a"


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_the_file_deleted_or_replaced_while_running_stops_acknowledging(store, tmp_path, how):
    path = str(tmp_path / "j.sqlite")
    j, e = _engine(store, path)
    trip = Trip(e, T0)
    trip.item(MILK_A, 1580.0)
    assert len(e.view().lines) == 1
    if how == "deleted":
        os.unlink(path)
    else:
        other = str(tmp_path / "other.sqlite")
        Journal(other).close()
        os.replace(other, path)
    trip.item(JUICE, 1060.0)
    view = e.view()
    assert len(view.lines) == 1  # the juice is not shown: it could not be saved
    assert "deleted or replaced" in view.message and view.message.startswith("Not saved")
    with pytest.raises(JournalError, match="deleted or replaced"):
        j.append(e.session.id, [(trip.t, "x.y", {})])
    j.close()


def test_a_restart_during_check_out_shows_the_receipt_and_code_until_a_new_trip(store, tmp_path):
    from cart.app import actions

    path = str(tmp_path / "j.sqlite")
    j, e = _engine(store, path)
    trip = Trip(e, T0)
    trip.item(MILK_A, 1580.0)
    e.handle_action(actions.Pay(), trip.t + 1000)
    shown = e.view().receipt
    assert shown is not None and shown.exit_code.startswith("CX")
    j.close()
    j, e = _engine(store, path, trip.t + 60_000)  # restarted before the shopper left
    assert e.view().receipt == shown
    j.close()
    j, e = _engine(store, path, trip.t + 70_000)
    e.handle_action(actions.NewTrip(), trip.t + 70_001)  # the shopper leaves
    assert e.view().receipt is None
    j.close()
    j, e = _engine(store, path, trip.t + 80_000)
    assert e.view().receipt is None and not e.view().lines
    j.close()


def test_an_idle_scale_journals_nothing_and_the_replay_is_the_same(store, tmp_path):
    from cart.fusion.session import FusionSession

    path = str(tmp_path / "j.sqlite")
    j, e = _engine(store, path)
    trip = Trip(e, T0)
    trip.item(MILK_A, 1580.0)
    sid, rows = e.session.id, j.count(e.session.id)
    for k in range(200):  # the scale re-settling at the same weight, now and then
        t = trip.t + 10_000 * (k + 1)
        e.handle_event(WeightSettled(t, 1580.0, 0.0, 300, 0.6), t)
        e.advance(t + 500)
    assert j.count(sid) == rows
    live = e.fs.state()
    j.close()
    j = Journal(path, key=JKEY)
    fs = FusionSession.recover(j, store)
    assert fs.state().lines == live.lines and fs.state().flags == live.flags
    j.close()


def test_an_unchained_schema_1_journal_opens_shown_and_flagged_once(store, tmp_path):
    path = str(tmp_path / "old.sqlite")
    with Journal(path) as j:  # make a journal, then turn it back into schema 1
        sid = open_engine(store, j, T0).session.id
    db = sqlite3.connect(path)
    with db:
        for table, column in (
            ("events", "c"),
            ("events", "h"),
            ("sessions", "chain"),
            ("sessions", "seal"),
            ("exit_codes", "mac"),
        ):
            db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.execute("DROP TABLE faults")
        db.execute("UPDATE meta SET value='1' WHERE key='schema'")
        db.execute("DELETE FROM meta WHERE key IN ('head', 'chain')")
    db.close()
    os.unlink(path + ".head")
    with Journal(path) as j:
        assert j.unchained(sid) and j.check.ok
        e = open_engine(store, j, T0 + 1000)
        assert e.session.id == sid
        assert [a.kind for a in e.view().alerts] == ["recovery_check"]
    with Journal(path) as j:
        e = open_engine(store, j, T0 + 2000)
        assert len(e.view().alerts) == 1


def test_a_keyed_journal_does_not_open_without_its_key(store, made, tmp_path):
    path, _ = made
    copy = _copy(path, str(tmp_path / "k"))
    with pytest.raises(JournalError, match="chained with cart key"):
        Journal(copy)
    with Journal(copy, readonly=True) as j:  # a reader says what it cannot verify
        assert any("cannot be verified" in f for f in j.check.all_faults())


def test_cart_journal_check_reports_what_verifies_and_what_not(store, tmp_path, capsys):
    from cart.cli import main

    key = keys.init_keys(tmp_path / "keys", "cart-check")
    path = str(tmp_path / "j.sqlite")
    with Journal(path, key=journal_key(key)) as j:
        open_engine(store, j, T0)
    assert main(["journal", "check", path, "--keys", str(tmp_path / "keys")]) == 0
    assert "1 verify, 0 damaged" in capsys.readouterr().out
    assert main(["journal", "check", path]) == 1  # keyed, and no key given: cannot verify
    assert "cannot be verified" in capsys.readouterr().out
    _sql(path, "UPDATE events SET payload=json_set(payload, '$.cart', 'x') WHERE seq=1")
    assert main(["journal", "check", path, "--keys", str(tmp_path / "keys"), "--json"]) == 1
    import json

    report = json.loads(capsys.readouterr().out)
    (sc,) = report["sessions"]
    assert sc["result"] == "DAMAGED" and sc["verified"] == 0 and "seq 1 (open)" in sc["faults"][0]
    assert "chain mismatch: expected" in sc["faults"][0]
    assert main(["journal", "check", str(tmp_path / "missing.sqlite")]) == 1
    os.truncate(path, 0)
    assert main(["journal", "check", path]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_store_journal_settings_and_a_deep_catalogue_are_sentences(tmp_path):
    from cart.app.hardware import ProfileError, build
    from cart.store.loading import DEMO_STORE, CatalogError, load_store

    folder = tmp_path / "store"
    shutil.copytree(DEMO_STORE, folder)
    with open(folder / "store.toml", "a") as f:
        f.write("\n[journal]\nkeep_days = 0\n")
    with pytest.raises(CatalogError) as info:
        load_store(folder)
    assert any(p.entry == "journal" and p.field == "keep_days" for p in info.value.problems)
    (folder / "store.toml").write_text((DEMO_STORE / "store.toml").read_text())
    (folder / "catalog.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(CatalogError) as info:
        load_store(folder)
    (problem,) = info.value.problems
    assert "nested too deeply" in problem.message and "\n" not in str(info.value).split(":\n")[1]
    # the profile's [store] journal is where the journal goes; an unknown key names the file
    journal = tmp_path / "var" / "cart.sqlite"
    p = tmp_path / "p.toml"
    p.write_text(f'[store]\npath = "{DEMO_STORE}"\njournal = "{journal}"\n')
    build(p, vision=False).close()
    assert journal.exists()
    p.write_text(f'[store]\npath = "{DEMO_STORE}"\njournal = "{journal}"\ncolour = 1\n')
    with pytest.raises(ProfileError, match="p.toml.*store.*colour"):
        build(p, vision=False)
