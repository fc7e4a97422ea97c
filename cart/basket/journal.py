"""The journal: every basket change (and any subsystem's own events) in SQLite, committed before
it is acknowledged, and able to prove that what it reads back is what it wrote.

Rows are ``(session, seq, t_ms, kind, payload JSON)`` plus their chain hash ``h`` and the number
``c`` of the commit that wrote them. ``seq`` counts from 1 within a session with no gaps. Basket
kinds have no dot (``add_line``); other subsystems use their namespace (``fusion.*``,
``staff.*``) and may write their rows in the same transaction as basket rows.

Proof (``cart.basket.chain``): every row is chained to its predecessor (SHA-256, or HMAC-SHA256
with the cart's journal key), a closed session is sealed over its last row, status and receipt,
and after every commit a high-water mark beside the journal (``JOURNAL.head``) records the last
acknowledged commit. Opening a journal verifies all of it (:class:`JournalCheck`, ``check``):
whatever does not verify is a *fault*, a sentence naming the session, seq and what was expected
and found. Faults are kept in the ``faults`` table until a staff question has been raised for
them (``pending_faults`` / ``mark_raised``); a session with a fault is never read back as it is
(``events`` refuses it): :meth:`Journal.set_aside` copies its verified prefix into a new session
and closes the damaged one. A database SQLite cannot read, or one that is empty while the mark
says commits were acknowledged, does not open (:class:`JournalError`, a sentence).

One writer: opening a journal file takes an exclusive lock on ``JOURNAL.lock`` for the journal's
life (a second process gets a :class:`JournalError` naming the holder); every commit first checks
that the path still is the file that was opened (not deleted or replaced), else nothing more is
committed. ``Journal(path, readonly=True)`` reads (and verifies) without locking or writing.

Schema 1 journals (before the chain) open and are upgraded; their rows stay unchained and verify
as "recorded before the chain": readable, reported by ``cart journal check``, and an unfinished
session among them is shown with a staff question (``cart.basket.session``).

Durability (see docs/CORE.md): WAL mode. With ``synchronous="FULL"`` (the default) every commit
fsyncs the WAL, and then the high-water mark, before :meth:`Journal.append` returns, so an
acknowledged event survives a killed process *and* a power cut. ``"NORMAL"`` survives a killed
process (the committed frames are in the WAL file, in the kernel's page cache) but the last
commits may be lost on a power cut; it is for benchmarks and simulators. ``":memory:"`` keeps
everything in RAM for the trip simulator (chained, without mark or lock).

A checked-out session may also have its exit code (``exit_codes``: the signed code shown at
check-out and the journaled spot-check decision that travels inside it; ``cart.basket.issuer``).
It is signed with the cart's Ed25519 key, which is its proof.

Time is never read here: every row carries the ``t_ms`` its producer took from the injected
clock (the lock file names its holder's start time, for people).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

from cart.basket.chain import Chain, HighWaterMark, JournalLocked, Mark, WriterLock, same_file
from cart.common.files import narrow, private_file

SCHEMA_VERSION = 2
DEFAULT_JOURNAL = "var/journal.sqlite"  # relative to the working directory; CART_JOURNAL overrides
SYNC_MODES = ("FULL", "NORMAL", "EXTRA", "OFF")
WAL_SIZE_LIMIT = 1 << 20  # bytes the WAL file is cut back to after a checkpoint

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    opened_ms INTEGER NOT NULL,
    closed_ms INTEGER,
    status TEXT NOT NULL CHECK (status IN ('open', 'checked_out', 'cancelled')),
    receipt TEXT,
    chain TEXT,
    seal BLOB
);
CREATE TABLE IF NOT EXISTS events (
    session TEXT NOT NULL REFERENCES sessions(id),
    seq INTEGER NOT NULL,
    t_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    c INTEGER,
    h BLOB,
    PRIMARY KEY (session, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_status ON sessions(status, opened_ms);
CREATE TABLE IF NOT EXISTS stores (
    digest TEXT PRIMARY KEY,
    store_toml BLOB NOT NULL,
    catalog_toml BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS exit_codes (
    session TEXT PRIMARY KEY REFERENCES sessions(id),
    t_ms INTEGER NOT NULL,
    code TEXT NOT NULL,
    decision TEXT NOT NULL,
    mac BLOB
);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE,
    raised_in TEXT
);
"""
# schema 1 -> 2: the chain columns (rows before it stay unchained) and the faults table
_MIGRATE_1 = (
    ("sessions", "chain", "TEXT"),
    ("sessions", "seal", "BLOB"),
    ("events", "c", "INTEGER"),
    ("events", "h", "BLOB"),
    ("exit_codes", "mac", "BLOB"),
)


def default_journal_path() -> str:
    """``$CART_JOURNAL`` if set, else ``var/journal.sqlite`` (the cart's working directory)."""
    return os.environ.get("CART_JOURNAL") or DEFAULT_JOURNAL


class JournalError(RuntimeError):
    """The journal cannot do what was asked (closed, unknown session, bad row, disk error)."""


class JournalDamaged(JournalError):
    """What the journal holds is not what it acknowledged (the message says what and where)."""


def storage_error(path: str, exc: BaseException) -> str:
    """An SQLite or OS error as a sentence naming the file."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "malformed" in low or "corrupt" in low or isinstance(exc, UnicodeDecodeError):
        why = f"the file is damaged (SQLite: {text})"
    elif "not a database" in low:
        why = f"it is not a journal: the file is not an SQLite database (SQLite: {text})"
    elif "disk is full" in low or "disk full" in low or getattr(exc, "errno", None) == 28:
        why = f"the disk is full (SQLite: {text})"
    elif "readonly" in low or "read-only" in low:
        why = f"the file cannot be written (SQLite: {text})"
    elif "unable to open" in low:
        why = f"the file cannot be opened (SQLite: {text})"
    elif "disk i/o" in low or isinstance(exc, OSError):
        why = f"the storage failed (I/O error: {text})"
    else:
        why = f"SQLite: {text}"
    return f"{path}: {why}"


@dataclass(frozen=True, slots=True)
class Entry:
    session: str
    seq: int
    t_ms: int
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    opened_ms: int
    closed_ms: int | None
    status: str  # open | checked_out | cancelled


@dataclass(slots=True)
class SessionCheck:
    """What verified of one session: ``verified`` rows (in order, from seq 1), ``keep`` of them
    ending on a whole commit (what may be shown), the ``faults`` (sentences), ``unchained``
    when it was recorded before the chain (schema 1)."""

    id: str
    status: str
    rows: int = 0
    verified: int = 0
    keep: int = 0
    chain: str = ""
    unchained: bool = False
    faults: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.faults


@dataclass(slots=True)
class JournalCheck:
    """The verification of a whole journal: per session, and the journal's own faults (head,
    high-water mark, store copies, rows of no session)."""

    path: str
    chain: str
    head: Mark
    mark: Mark | None
    sessions: dict[str, SessionCheck] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)

    def all_faults(self) -> list[str]:
        return [*self.faults, *(f for s in self.sessions.values() for f in s.faults)]

    @property
    def ok(self) -> bool:
        return not self.all_faults()


Row = tuple[int, str, dict[str, Any]]  # (t_ms, kind, payload)


def _encode(row: Any) -> tuple[int, str, str]:
    if hasattr(row, "row") and callable(row.row):
        row = row.row()
    try:
        t_ms, kind, payload = row
    except (TypeError, ValueError):
        raise JournalError(f"a row is (t_ms, kind, payload), got {row!r}") from None
    if not isinstance(t_ms, int) or isinstance(t_ms, bool) or t_ms < 0:
        raise JournalError(f"t_ms must be a non-negative integer, got {t_ms!r}")
    if not isinstance(kind, str) or not kind or len(kind) > 64 or not kind.isprintable():
        raise JournalError(f"kind must be a short printable string, got {kind!r}")
    if not isinstance(payload, dict):
        raise JournalError(f"{kind}: payload must be a dict, got {type(payload).__name__}")
    try:
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"{kind}: payload is not JSON-able: {exc}") from None
    return t_ms, kind, text


def _json(text: str | None, what: str) -> Any:
    try:
        return None if text is None else json.loads(text)
    except (TypeError, ValueError) as exc:
        raise JournalDamaged(f"{what} is not JSON: {exc}") from None


class Journal:
    """An append-only, self-verifying event journal in one SQLite file (or ``":memory:"``).

    One writer (the cart process, enforced by a lock file). Thread-safe: calls are serialised by
    a lock. Use as a context manager or call :meth:`close` (idempotent). ``key``: the cart's
    journal key (HMAC chain), else SHA-256. ``readonly``: verify and read only.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        synchronous: str = "FULL",
        key: bytes | None = None,
        readonly: bool = False,
    ) -> None:
        sync = synchronous.upper()
        if sync not in SYNC_MODES:
            raise ValueError(f"synchronous must be one of {', '.join(SYNC_MODES)}")
        self.path = str(path)
        self.synchronous = sync
        self.readonly = readonly
        self.chain = Chain(key)
        self._lock = threading.RLock()
        self._last_seq: dict[str, int] = {}
        self._last_h: dict[str, bytes | None] = {}
        self._status: dict[str, str] = {}
        self._db: sqlite3.Connection | None = None
        self._writer: WriterLock | None = None
        self._mark: HighWaterMark | None = None
        self._dbfd = -1
        self._identity: tuple[int, int] | None = None
        self._lost = ""  # why nothing more is committed (the file went from under us)
        self._head = Mark(0, "", 0, "")
        self._readonly_mark = False  # readonly, on disk: a missing mark is a fault too
        self.check: JournalCheck | None = None
        on_disk = self.path != ":memory:"
        try:
            if on_disk and not readonly:
                try:
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise JournalError(f"{self.path}: cannot create its folder: {exc}") from exc
                private_file(self.path)  # owner-only: SQLite gives -wal and -shm the db's mode
                for suffix in ("-wal", "-shm"):
                    narrow(self.path + suffix)
                self._writer = WriterLock(self.path + ".lock", self.path)
                self._mark = HighWaterMark(
                    self.path + ".head", self.chain, sync=sync in ("FULL", "EXTRA")
                )
            if on_disk and readonly and not os.path.exists(self.path):
                raise JournalError(f"{self.path}: no such journal")
            if on_disk and readonly:
                self._readonly_mark = True
                if os.path.exists(self.path + ".head"):
                    self._mark = HighWaterMark(
                        self.path + ".head", self.chain, sync=False, readonly=True
                    )
            self._open_db(on_disk)
        except JournalLocked as exc:
            self.close()
            raise JournalError(str(exc)) from None
        except OSError as exc:
            self.close()
            raise JournalError(storage_error(self.path, exc)) from exc
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            self.close()
            raise JournalError(storage_error(self.path, exc)) from exc
        except JournalError:
            self.close()
            raise

    def _open_db(self, on_disk: bool) -> None:
        size = os.path.getsize(self.path) if on_disk and os.path.exists(self.path) else None
        mark, bad_slots = self._mark.read() if self._mark is not None else (None, 0)
        if self.readonly and on_disk:
            uri = f"file:{quote(os.path.abspath(self.path))}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=5.0
            )
        db = self._db
        db.text_factory = _text  # bytes that are not UTF-8 read as U+FFFD: their hash fails
        has_meta = (
            db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
            is not None
        )
        if not has_meta and mark is not None and mark.commit > 0:
            raise JournalDamaged(
                f"{self.path}: the record is damaged: the file is empty or not this journal "
                f"({size} bytes), but {mark.describe()} was acknowledged; nothing was changed: "
                f"check it with `cart journal check {self.path}`, keep it for the store, and "
                "move it (with its .head file) aside to start afresh"
            )
        if has_meta:
            bad = [r[0] for r in db.execute("PRAGMA integrity_check(5)").fetchall()]
            if bad != ["ok"]:
                raise JournalDamaged(
                    f"{self.path}: the record is damaged: SQLite finds the file inconsistent "
                    f"({'; '.join(map(str, bad))}); nothing was changed: check it with "
                    f"`cart journal check {self.path}` and keep it for the store"
                )
        if on_disk and not self.readonly:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"{self.path}: cannot use WAL mode (got {mode})")
            db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        if not self.readonly:
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.execute("PRAGMA foreign_keys=ON")
            self._create_or_migrate(db, has_meta)
        elif not has_meta:
            raise JournalError(f"{self.path}: not a journal (no journal tables)")
        else:
            self._schema_version(db)
        self._head = self._read_head(db)
        self.check = self._verify(mark, bad_slots)
        if not self.readonly:
            self._after_check(mark)
        if on_disk and not self.readonly:
            self._dbfd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            st = os.fstat(self._dbfd)
            self._identity = (st.st_dev, st.st_ino)

    def _schema_version(self, db) -> int:
        ver = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if ver is None:
            return 0
        if ver[0] not in ("1", str(SCHEMA_VERSION)):
            raise JournalError(
                f"{self.path}: journal schema {ver[0]}, this software reads {SCHEMA_VERSION}"
            )
        return int(ver[0])

    def _create_or_migrate(self, db, has_meta: bool) -> None:
        ver = self._schema_version(db) if has_meta else 0
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, column, kind in _MIGRATE_1 if ver else ():
                have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            if ver == 1:
                top = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM sessions").fetchone()[0]
                db.execute("INSERT OR REPLACE INTO meta VALUES ('unchained_upto', ?)", (str(top),))
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    db.execute(stmt)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('head', ?)", (json.dumps([0, "", 0, ""]),)
            )
            chain = db.execute("SELECT value FROM meta WHERE key='chain'").fetchone()
            if chain is None:
                db.execute("INSERT INTO meta VALUES ('chain', ?)", (self.chain.mode,))
                if self.chain.key is not None:  # keyed from the start: no session may be unkeyed
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('keyed_after', '0')")
            elif chain[0] != self.chain.mode and chain[0] != "sha256":
                raise JournalError(
                    f"{self.path}: this journal is chained with cart key {chain[0][5:]}, and "
                    f"this cart has {self._key_words()}: restore the cart's key folder, or "
                    f"check the journal (`cart journal check {self.path}`) and move it aside"
                )
            elif chain[0] != self.chain.mode:
                # a key from now on: later sessions must be keyed (no quiet downgrade)
                top = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM sessions").fetchone()[0]
                db.execute("UPDATE meta SET value=? WHERE key='chain'", (self.chain.mode,))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('keyed_after', ?)", (str(top),))
            db.execute("COMMIT")
        except BaseException:
            self._rollback(db)
            raise

    def _key_words(self) -> str:
        return "no key" if self.chain.key is None else f"key {self.chain.mode[5:]}"

    def _meta_int(self, db, key: str) -> int | None:
        row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        try:
            return None if row is None else int(row[0])
        except ValueError:
            return -1

    def _read_head(self, db) -> Mark:
        row = db.execute("SELECT value FROM meta WHERE key='head'").fetchone()
        if row is None:
            return Mark(0, "", 0, "")
        try:
            n, session, seq, h = json.loads(row[0])
            return Mark(int(n), str(session), int(seq), str(h))
        except (ValueError, TypeError):
            return Mark(-1, "", 0, "")

    # -- verification ---------------------------------------------------------------------------

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

    # -- writing --------------------------------------------------------------------------------

    def _still_ours(self) -> None:
        """Before a commit: the path (and the lock file) are still the files opened."""
        if self._lost:
            raise JournalError(self._lost)
        if self._identity is None:
            return
        writer = self._writer
        if not same_file(self.path, self._identity) or (
            writer is not None and not same_file(writer.path, writer.identity)
        ):
            self._lost = (
                f"the journal {self.path} was deleted or replaced while the cart ran: "
                "nothing more is saved; the basket on screen is the last one saved; "
                "call staff and restart the cart"
            )
            raise JournalError(self._lost)

    def _commit(self, body: Callable[[sqlite3.Connection, int], Mark | None]) -> None:
        """One transaction: ``body(db, commit_no)`` writes and returns the new head (or None);
        the head is updated, the files checked, COMMIT, then the high-water mark."""
        if self.readonly:
            raise JournalError(f"{self.path}: opened read-only")
        db = self._conn()
        self._still_ours()
        head = None
        try:
            db.execute("BEGIN IMMEDIATE")
            head = body(db, self._head.commit + 1)
            if head is not None:
                db.execute(
                    "UPDATE meta SET value=? WHERE key='head'",
                    (json.dumps([head.commit, head.session, head.seq, head.h]),),
                )
            self._still_ours()
            db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback(db)
            self._last_seq.clear()
            self._last_h.clear()
            raise JournalError(storage_error(self.path, exc)) from exc
        except BaseException:
            self._rollback(db)
            raise
        if head is not None:
            self._head = head
            if self._mark is not None:
                try:
                    self._mark.write(head)
                except OSError as exc:
                    self._lost = (
                        f"{storage_error(self._mark.path, exc)}: the high-water mark cannot be "
                        "written, nothing more is saved; call staff and restart the cart"
                    )
                    raise JournalError(self._lost) from exc

    def open_session(
        self,
        session: str,
        t_ms: int,
        rows: Iterable[Any] = (),
        *,
        store: tuple[str, bytes, bytes] | None = None,
    ) -> list[int]:
        """Create a session and append its first rows, in one transaction.

        ``store``: ``(digest, store.toml bytes, catalog.toml bytes)`` of the store the session
        is priced with, kept once per digest so the session can always be replayed exactly.
        """
        if not isinstance(session, str) or not session or len(session) > 64:
            raise JournalError(f"session id must be a short non-empty string, got {session!r}")
        encoded = [_encode(r) for r in rows]
        out: list = []

        def body(db, n: int) -> Mark | None:
            try:
                db.execute(
                    "INSERT INTO sessions (id, opened_ms, status, chain) VALUES (?, ?, 'open', ?)",
                    (session, int(t_ms), self.chain.mode),
                )
            except sqlite3.IntegrityError:
                raise JournalError(f"session {session!r} already exists") from None
            prev = self.chain.genesis(session, int(t_ms))
            seqs, last_h = self._insert(db, session, 0, prev, encoded, n)
            if store is not None:
                db.execute(
                    "INSERT OR IGNORE INTO stores VALUES (?, ?, ?)",
                    (store[0], bytes(store[1]), bytes(store[2])),
                )
            out.extend((seqs, last_h))
            return Mark(n, session, len(seqs), (last_h or b"").hex()) if seqs else None

        with self._lock:
            self._commit(body)
            self._last_seq[session] = len(encoded)
            self._last_h[session] = out[1]
            self._status[session] = "open"
            return out[0]

    def append(self, session: str, rows: Iterable[Any]) -> list[int]:
        """Append rows (``(t_ms, kind, payload)`` tuples or basket events) in one transaction.

        Returns their sequence numbers once committed (durable per ``synchronous``).
        """
        encoded = [_encode(r) for r in rows]
        if not encoded:
            return []
        with self._lock:
            last, prev = self._open_seq(session)
            out: list = []

            def body(db, n: int) -> Mark:
                seqs, last_h = self._insert(db, session, last, prev, encoded, n)
                out.extend((seqs, last_h))
                return Mark(n, session, seqs[-1], (last_h or b"").hex())

            self._commit(body)
            self._last_seq[session] = last + len(encoded)
            self._last_h[session] = out[1]
            return out[0]

    def close_session(
        self,
        session: str,
        t_ms: int,
        rows: Iterable[Any] = (),
        *,
        status: str = "checked_out",
        receipt: dict | None = None,
    ) -> list[int]:
        """Append the final rows, mark the session closed and store its receipt, sealed, in one
        transaction."""
        if status not in ("checked_out", "cancelled"):
            raise JournalError(f"status must be checked_out or cancelled, got {status!r}")
        encoded = [_encode(r) for r in rows]
        try:
            receipt_text = (
                None
                if receipt is None
                else json.dumps(receipt, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            )
        except (TypeError, ValueError) as exc:
            raise JournalError(f"receipt is not JSON-able: {exc}") from None
        with self._lock:
            last, prev = self._open_seq(session)
            out: list = []

            def body(db, n: int) -> Mark | None:
                seqs, last_h = self._insert(db, session, last, prev, encoded, n)
                seal = None
                if last_h is not None:
                    seal = self.chain_for(session).seal(last_h, status, int(t_ms), receipt_text)
                elif self._chain_of(session) is not None:
                    raise JournalError(f"session {session!r} is chained but has no chain head")
                db.execute(
                    "UPDATE sessions SET status=?, closed_ms=?, receipt=?, seal=? WHERE id=?",
                    (status, int(t_ms), receipt_text, seal, session),
                )
                out.append(seqs)
                end = seqs[-1] if seqs else last
                return Mark(n, session, end, (last_h or b"").hex()) if seqs else None

            self._commit(body)
            self._last_seq[session] = last + len(encoded)
            self._status[session] = status
            return out[0]

    def _chain_of(self, session: str) -> str | None:
        row = self._conn().execute("SELECT chain FROM sessions WHERE id=?", (session,)).fetchone()
        return None if row is None else row[0]

    def chain_for(self, session: str) -> Chain:
        mode = self._chain_of(session)
        return Chain(None) if mode == "sha256" else self.chain

    def _insert(
        self, db, session: str, last: int, prev: bytes | None, encoded, commit: int
    ) -> tuple[list[int], bytes | None]:
        seqs = list(range(last + 1, last + 1 + len(encoded)))
        chain = None if prev is None else self.chain_for(session)
        rows = []
        for s, (t, k, p) in zip(seqs, encoded, strict=True):
            h = (
                None
                if chain is None or prev is None
                else chain.row(prev, session, s, commit, t, k, p)
            )
            rows.append((session, s, t, k, p, commit, h))
            prev = h
        db.executemany(
            "INSERT INTO events (session, seq, t_ms, kind, payload, c, h) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return seqs, prev

    @staticmethod
    def _rollback(db) -> None:
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass

    def _open_seq(self, session: str) -> tuple[int, bytes | None]:
        """(last seq, last h; None for a session recorded before the chain) of an open
        session."""
        status = self._status.get(session)
        if status is None or session not in self._last_seq:
            row = self._read(
                "SELECT status, opened_ms, chain FROM sessions WHERE id=?", (session,)
            ).fetchone()
            if row is None:
                raise JournalError(f"no session {session!r}")
            status, opened, chain = row
            self._status[session] = status
            if self.damaged(session) is not None:
                raise JournalDamaged(f"session {session!r}: the record is damaged")
            last = self._read(
                "SELECT seq, h FROM events WHERE session=? ORDER BY seq DESC LIMIT 1", (session,)
            ).fetchone()
            self._last_seq[session] = last[0] if last else 0
            if chain is None:
                self._last_h[session] = None
            elif last is None:
                self._last_h[session] = self.chain_for(session).genesis(session, opened)
            else:
                self._last_h[session] = bytes(last[1])
        if status != "open":
            raise JournalError(f"session {session!r} is {status.replace('_', ' ')}")
        return self._last_seq[session], self._last_h[session]

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

    # -- reading --------------------------------------------------------------------------------

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

    # -- exit codes -----------------------------------------------------------------------------

    def record_exit_code(
        self, session: str, t_ms: int, code: str, decision: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """Keep the exit code issued for a checked-out session and its spot-check decision
        (``cart.basket.issuer``). The first one stays: returns what is stored."""
        try:
            text = json.dumps(decision, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise JournalError(f"exit code decision is not JSON-able: {exc}") from None
        with self._lock:
            row = self._read("SELECT status FROM sessions WHERE id=?", (session,)).fetchone()
            if row is None or row[0] != "checked_out":
                raise JournalError(f"session {session!r} is not checked out")

            def body(db, n: int) -> None:
                mac = self._exit_mac(db, session, int(t_ms), code, text)
                db.execute(
                    "INSERT OR IGNORE INTO exit_codes VALUES (?, ?, ?, ?, ?)",
                    (session, int(t_ms), code, text, mac),
                )

            self._commit(body)
        found = self.exit_code(session)
        assert found is not None
        return found

    def _exit_mac(self, db, session: str, t_ms: int, code: str, decision: str) -> bytes | None:
        """An exit code's MAC, bound to its session's seal (None for an unchained session)."""
        row = db.execute("SELECT chain, seal FROM sessions WHERE id=?", (session,)).fetchone()
        if row is None or row[0] is None or row[1] is None:
            return None
        chain = Chain(None) if row[0] == "sha256" else self.chain
        body = json.dumps([t_ms, code, decision], ensure_ascii=False).encode()
        return chain.mac(b"exit\0" + bytes(row[1]) + body)

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


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _store_digest(store_toml: bytes, catalog_toml: bytes) -> str:
    """The digest a store's two files are known by (``cart.store.loading.load_store_bytes``)."""
    return hashlib.sha256(bytes(store_toml) + b"\0" + bytes(catalog_toml)).hexdigest()
