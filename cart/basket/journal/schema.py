"""The journal's tables, its settings, and creating or upgrading the schema of a file."""

from __future__ import annotations

import json
import os

from cart.basket.chain import Mark
from cart.basket.journal.base import JournalBase
from cart.basket.journal.errors import JournalError
from cart.basket.journal.outbox import SCHEMA as OUTBOX_SCHEMA

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


class JournalSchema(JournalBase):
    """Creating, upgrading and reading the schema and the meta rows."""

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
            for stmt in (_SCHEMA + OUTBOX_SCHEMA).split(";"):
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
