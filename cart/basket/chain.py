"""What makes the journal prove itself: the row chain, the high-water mark and the writer lock.

**The chain.** Every journal row carries ``h``, a hash over its content and its predecessor's
``h``; a session's first row chains from a genesis hash over the session id and its opening
time, and a closed session carries ``seal``, a hash over its last ``h``, its status, closing
time and receipt. ``h = MAC(prev || [session, seq, commit, t_ms, kind, payload])`` where
``payload`` is the exact stored JSON text and ``commit`` the journal-wide commit number of the
transaction that wrote the row.

- Without a key (``Chain(None)``): ``MAC`` is plain SHA-256 (domain-separated). It protects
  against everything an SD card, a power cut or a careless copy does: a flipped bit or byte, a
  row lost or duplicated, a truncated file, rows of one session spliced into another. Anyone who
  has the file can recompute it, so it does not protect against a deliberate edit.
- With a per-cart key (``Chain(key)``; the key is derived from the cart's signing key,
  ``cart.common.keys.CartKey.derive``, and never stored in the journal): ``MAC`` is HMAC-SHA256.
  Then a row changed on purpose (a price lowered with an SQLite editor, a row deleted) cannot be
  given a matching hash without the cart's key either. The journal records the key's id (a hash
  of it, not the key) so a journal chained with another key says so instead of failing row by
  row.

**The high-water mark** (``HighWaterMark``, the file ``JOURNAL.head`` beside the journal): after
every commit the journal writes the commit's number, session, seq and ``h`` into one of two
fixed 256-byte slots (alternating, each with its own MAC) and fsyncs it, before the commit is
acknowledged. It survives what the database does not: a WAL truncated or lost (the last commits
gone), the database truncated to 0 bytes, or an older copy of the database put back. A torn write
of one slot leaves the other (one commit older, which the journal accepts: a process killed
between its commit and the mark). Deleting both the mark and the database's tail together is
not detected (nothing on the card remembers them).

**The writer lock** (``WriterLock``, ``JOURNAL.lock``): ``fcntl.flock`` exclusive and
non-blocking, held for the journal's life; the holder writes its pid and start time into it so
a second cart process names it when it exits.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

HASH_BYTES = 32
SLOT = 256
_DOMAIN = b"cart-journal-chain-v2\0"


class Chain:
    """The row MAC: HMAC-SHA256 with ``key``, else SHA-256 (see the module docstring)."""

    def __init__(self, key: bytes | None = None) -> None:
        if key is not None and (not isinstance(key, bytes) or len(key) < 16):
            raise ValueError("a journal key is at least 16 bytes")
        self.key = key
        self.mode = self.mode_of(key)

    @staticmethod
    def mode_of(key: bytes | None) -> str:
        """``"sha256"``, or ``"hmac:<key id>"`` (16 hex digits of a hash of the key)."""
        if key is None:
            return "sha256"
        return "hmac:" + hashlib.sha256(b"cart-journal-key-id\0" + key).hexdigest()[:16]

    def mac(self, data: bytes) -> bytes:
        if self.key is None:
            return hashlib.sha256(_DOMAIN + data).digest()
        return hmac.new(self.key, _DOMAIN + data, hashlib.sha256).digest()

    def genesis(self, session: str, opened_ms: int) -> bytes:
        return self.mac(b"open\0" + json.dumps([session, int(opened_ms)]).encode())

    def row(
        self, prev: bytes, session: str, seq: int, commit: int, t_ms: int, kind: str, payload: str
    ) -> bytes:
        body = json.dumps([session, seq, commit, t_ms, kind, payload], ensure_ascii=False)
        return self.mac(b"row\0" + bytes(prev) + body.encode())

    def seal(self, last: bytes, status: str, closed_ms: int | None, receipt: str | None) -> bytes:
        body = json.dumps([status, closed_ms, receipt], ensure_ascii=False)
        return self.mac(b"seal\0" + bytes(last) + body.encode())


# ---- the high-water mark ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mark:
    """The last acknowledged commit: its number, the session and seq of its last row, its ``h``
    (hex)."""

    commit: int
    session: str
    seq: int
    h: str

    def describe(self) -> str:
        where = f"session {self.session!r} seq {self.seq}" if self.session else "no row"
        return f"commit {self.commit} ({where})"


class HighWaterMark:
    """Two alternating MAC'd slots in ``path`` (see the module docstring)."""

    def __init__(self, path: str, chain: Chain, *, sync: bool, readonly: bool = False) -> None:
        self.path = path
        self.chain = chain
        self.sync = sync
        self.existed = os.path.exists(path)
        flags = (os.O_RDONLY if readonly else os.O_RDWR | os.O_CREAT) | getattr(os, "O_CLOEXEC", 0)
        self.fd = os.open(path, flags, 0o600)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _encode(self, m: Mark) -> bytes:
        body = json.dumps([m.commit, m.session, m.seq, m.h]).encode()
        tag = self.chain.mac(b"mark\0" + body).hex()[:32]
        line = b"CJH2 " + tag.encode() + b" " + body
        if len(line) > SLOT - 1:
            raise ValueError("high-water mark does not fit its slot")
        return line.ljust(SLOT - 1, b" ") + b"\n"

    def _decode(self, raw: bytes) -> Mark | None:
        if len(raw) != SLOT or not raw.startswith(b"CJH2 "):
            return None
        try:
            tag, body = raw[5:].rstrip(b" \n").split(b" ", 1)
            if not hmac.compare_digest(tag, self.chain.mac(b"mark\0" + body).hex()[:32].encode()):
                return None
            commit, session, seq, h = json.loads(body)
            return Mark(int(commit), str(session), int(seq), str(h))
        except (ValueError, TypeError):
            return None

    def read(self) -> tuple[Mark | None, int]:
        """(the newest valid slot or None, how many slots had bytes but did not verify)."""
        data = os.pread(self.fd, 2 * SLOT, 0)
        marks, bad = [], 0
        for i in range(2):
            raw = data[i * SLOT : (i + 1) * SLOT]
            if not raw.strip(b"\0"):
                continue
            m = self._decode(raw)
            if m is None:
                bad += 1
            else:
                marks.append(m)
        return (max(marks, key=lambda m: m.commit) if marks else None), bad

    def write(self, m: Mark, *, both: bool = False) -> None:
        data = self._encode(m)
        slots = (0, 1) if both else (m.commit % 2,)
        for s in slots:
            if os.pwrite(self.fd, data, s * SLOT) != SLOT:
                raise OSError("short write")
        if self.sync:
            os.fsync(self.fd)


# ---- the writer lock -------------------------------------------------------------------------


class JournalLocked(RuntimeError):
    """Another process holds the journal (the message names it)."""


class WriterLock:
    """An exclusive ``flock`` on ``path`` for the holder's life, naming the holder inside."""

    def __init__(self, path: str, journal: str) -> None:
        self.path = path
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self.fd = os.open(path, flags, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self.fd, 400, 0).decode("utf-8", "replace").strip()
            os.close(self.fd)
            self.fd = -1
            raise JournalLocked(
                f"{journal} is in use by another cart process"
                f" ({holder or 'it has not said who it is yet'}); one journal has one writer"
            ) from None
        started = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"pid {os.getpid()}, started {started}\n".encode(), 0)
        st = os.fstat(self.fd)
        self.identity = (st.st_dev, st.st_ino)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the flock
            self.fd = -1


def same_file(path: str, identity: tuple[int, int]) -> bool:
    """``path`` is still the file whose (st_dev, st_ino) is ``identity``."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == identity
