"""Opening a journal file: the writer lock, the high-water mark, WAL mode, the schema, and the
verification of all of it; :class:`Journal` is all the parts together."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from cart.basket.chain import Chain, HighWaterMark, JournalLocked, Mark, WriterLock
from cart.basket.journal.errors import JournalDamaged, JournalError, storage_error
from cart.basket.journal.outbox import OutboxLimits
from cart.basket.journal.records import JournalCheck, _text
from cart.basket.journal.retention import JournalRetention
from cart.basket.journal.schema import SYNC_MODES, WAL_SIZE_LIMIT
from cart.common.files import narrow, private_file


class Journal(JournalRetention):
    """An append-only, self-verifying event journal in one SQLite file (or ``":memory:"``).

    One writer (the cart process, enforced by a lock file). Thread-safe: calls are serialised by
    a lock. Use as a context manager or call :meth:`close` (idempotent). ``key``: the cart's
    journal key (HMAC chain), else SHA-256. ``readonly``: verify and read only. ``outbox``:
    also write the store link's records, each in the transaction of the rows it comes from
    (``cart.basket.journal.outbox``).
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        synchronous: str = "FULL",
        key: bytes | None = None,
        readonly: bool = False,
        outbox: OutboxLimits | None = None,
    ) -> None:
        sync = synchronous.upper()
        if sync not in SYNC_MODES:
            raise ValueError(f"synchronous must be one of {', '.join(SYNC_MODES)}")
        self.path = str(path)
        self.synchronous = sync
        self.readonly = readonly
        self.outbox_limits = outbox
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
