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

from cart.basket.journal.errors import JournalDamaged, JournalError, storage_error
from cart.basket.journal.opening import Journal
from cart.basket.journal.records import Entry, JournalCheck, Row, SessionCheck, SessionInfo
from cart.basket.journal.schema import (
    DEFAULT_JOURNAL,
    SCHEMA_VERSION,
    SYNC_MODES,
    WAL_SIZE_LIMIT,
    default_journal_path,
)

__all__ = [
    "DEFAULT_JOURNAL",
    "SCHEMA_VERSION",
    "SYNC_MODES",
    "WAL_SIZE_LIMIT",
    "Entry",
    "Journal",
    "JournalCheck",
    "JournalDamaged",
    "JournalError",
    "Row",
    "SessionCheck",
    "SessionInfo",
    "default_journal_path",
    "storage_error",
]
