"""Staff credentials (cart.store.staff): staff.toml loaded with the store but never journaled,
weak hashes refused at load, `cart staff add` (0600), a production `cart run` refusing the demo
staff secrets, and the journal and log files created owner-only."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys

import pytest

from cart.basket.journal import Journal
from cart.cli import main
from cart.fusion import actions as A
from cart.fusion.session import FusionSession
from cart.store.loading import DEMO_STORE, CatalogError, load_store, load_store_bytes
from cart.store.secrets import hash_pin, pbkdf2_hash
from cart.store.staff import STAFF_FILE, StaffMember, add_staff, production_problems, write_staff

T0 = 1_767_225_600_000


@pytest.fixture
def folder(tmp_path):
    """A copy of the demo store without its staff file."""
    f = tmp_path / "store"
    f.mkdir()
    for name in ("store.toml", "catalog.toml"):
        shutil.copy(DEMO_STORE / name, f / name)
    return f


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _add(folder, sid, pin, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(pin + "\n"))
    return main(["staff", "add", sid, "--store", str(folder), "--pin-stdin", "--name", sid])


def test_staff_add_writes_an_owner_only_file_the_store_loads(folder, monkeypatch, capsys):
    assert _add(folder, "s1", "1357", monkeypatch=monkeypatch) == 0
    assert _add(folder, "s2", "97531", monkeypatch=monkeypatch) == 0
    assert "1357" not in capsys.readouterr().out
    path = folder / STAFF_FILE
    assert _mode(path) == 0o600
    assert "1357" not in path.read_text() and "$argon2id$" in path.read_text()
    store = load_store(folder)
    assert [m.id for m in store.staff] == ["s1", "s2"]
    assert store.verify_staff_pin("1357", "s1") and not store.verify_staff_pin("1357", "s2")
    # a new PIN replaces the old one
    assert _add(folder, "s1", "2222", monkeypatch=monkeypatch) == 0
    store = load_store(folder)
    assert store.verify_staff_pin("2222", "s1") and not store.verify_staff_pin("1357", "s1")
    # refused, nothing written: not digits, the demo PIN, two different PINs typed
    before = path.read_bytes()
    assert _add(folder, "s3", "12ab", monkeypatch=monkeypatch) == 1
    assert _add(folder, "s3", "2468", monkeypatch=monkeypatch) == 1
    typed = iter(["4444", "4445"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert main(["staff", "add", "s3", "--store", str(folder)]) == 1
    assert "differ" in capsys.readouterr().err and path.read_bytes() == before
    assert main(["staff", "list", "--store", str(folder)]) == 0
    assert capsys.readouterr().out.split() == ["s1", "s1", "s2", "s2"]


def test_weak_or_malformed_staff_hashes_are_load_errors(folder):
    from argon2 import Type
    from argon2.low_level import hash_secret

    weak = hash_secret(
        b"1357",
        b"saltsaltsalt",
        time_cost=1,
        memory_cost=4096,
        parallelism=1,
        hash_len=32,
        type=Type.ID,
    ).decode()
    (folder / STAFF_FILE).write_text(f'[[staff]]\nid = "s1"\nhash = "{weak}"\n')
    with pytest.raises(CatalogError) as err:
        load_store(folder)
    assert any(
        p.file == STAFF_FILE and p.field == "hash" and "too weak" in p.message
        for p in err.value.problems
    )
    (folder / STAFF_FILE).write_text('[[staff]]\nid = "S 1"\nhash = "1357"\ncolour = 1\n')
    with pytest.raises(CatalogError) as err:
        load_store(folder)
    fields = {p.field for p in err.value.problems}
    assert {"id", "hash", "colour"} <= fields
    # a legacy shared PIN in store.toml: PBKDF2 below 200 000 iterations is refused from the
    # folder; a journal's copy of an old store.toml still loads (an old session must replay)
    (folder / STAFF_FILE).unlink()
    text = (folder / "store.toml").read_text()
    old = pbkdf2_hash("1357", b"\1" * 16, 100_000)
    legacy = f'loyalty_program = "Demo Club"\nstaff_pin_hash = "{old}"'
    (folder / "store.toml").write_text(text.replace('loyalty_program = "Demo Club"', legacy))
    with pytest.raises(CatalogError, match="too weak"):
        load_store(folder)
    copy = load_store_bytes(
        (folder / "store.toml").read_bytes(), (folder / "catalog.toml").read_bytes()
    )
    assert copy.verify_staff_pin("1357")


def test_the_staff_hash_never_reaches_the_journal(folder, tmp_path):
    add_staff(folder, "s1", "135792468013", "Anna")
    store = load_store(folder)
    (member,) = store.staff
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        fs = FusionSession.start(j, store, T0)
        fs.handle(A.StaffLogin(T0 + 1, "s1", "0000"), mono_ms=1)
        fs.handle(A.StaffLogin(T0 + 2, "s1", "135792468013"), mono_ms=2)
        assert fs.state().staff == "s1"
        fs.handle(A.StaffLogout(T0 + 3), mono_ms=3)
        fs.handle(A.Checkout(T0 + 4), mono_ms=4)
        assert j.store_sources(store.digest) is not None  # the store files are pinned...
        data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("j.sqlite"))
    salt_b64, digest_b64 = member.hash.rsplit("$", 2)[1:]
    for secret in (member.hash, salt_b64, digest_b64, "$argon2", "135792468013"):
        assert secret.encode() not in data  # ...but not the staff file, nor any PIN
    assert b"login_ok" in data  # the login itself is audited


@pytest.mark.slow
def test_a_production_start_refuses_demo_staff_secrets(folder, tmp_path, capsys):
    demo = load_store()
    assert any("demo store's staff file" in p for p in production_problems(demo))
    # a store of its own whose staff member kept the demo PIN
    write_staff(folder, [StaffMember("s1", "Anna", hash_pin("2468"))])
    problems = production_problems(load_store(folder))
    assert problems and "demo PIN 2468" in problems[0]
    add_staff(folder, "s1", "1357")
    assert production_problems(load_store(folder)) == []
    # `cart run` with a profile without demo = true: a sentence, the configuration-error exit
    # status (systemd does not restart it), no traceback
    from cart.app.watchdog import EXIT_CONFIG

    profile = tmp_path / "cart.toml"
    profile.write_text(f'[store]\npath = "{DEMO_STORE}"\njournal = ":memory:"\n')
    log = tmp_path / "cart.log"  # `cart run` routes stderr into its log
    out = subprocess.run(
        [sys.executable, "-m", "cart", "run", "--profile", str(profile), "--log", str(log)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == EXIT_CONFIG, out.stderr
    said = log.read_text() + out.stderr
    assert "production cart" in said and "demo store's staff file" in said
    assert "Traceback" not in said
    from cart.app.hardware import check_production, load_profile

    profile.write_text(f'[store]\npath = "{DEMO_STORE}"\ndemo = true\n')
    check_production(profile, load_profile(profile), demo)  # a demo profile may


def test_journal_files_are_created_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "j.sqlite"
        with Journal(path) as j:
            FusionSession.start(j, load_store(), T0)
            names = sorted(p.name for p in tmp_path.iterdir())
            assert names == [
                "j.sqlite",
                "j.sqlite-shm",
                "j.sqlite-wal",
                "j.sqlite.head",  # the high-water mark
                "j.sqlite.lock",  # the writer lock
            ]
            assert {_mode(tmp_path / n) for n in names} == {0o600}
        # a journal made world-readable by an older version is narrowed when opened
        os.chmod(path, 0o644)
        with Journal(path):
            assert _mode(path) == 0o600
            assert _mode(str(path) + "-wal") == 0o600
    finally:
        os.umask(old)


def test_private_file_creates_and_narrows(tmp_path):
    from cart.common.files import private_file

    old = os.umask(0)
    try:
        log = private_file(tmp_path / "demo.log")
        assert _mode(log) == 0o600
        log.chmod(0o666)
        private_file(log)
        assert _mode(log) == 0o600
    finally:
        os.umask(old)
