"""What the journal reads back (entries, sessions, the checks of a verification) and how a
row is encoded for it and decoded from it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cart.basket.chain import Mark
from cart.basket.journal.errors import JournalDamaged, JournalError


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


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _store_digest(store_toml: bytes, catalog_toml: bytes) -> str:
    """The digest a store's two files are known by (``cart.store.loading.load_store_bytes``)."""
    return hashlib.sha256(bytes(store_toml) + b"\0" + bytes(catalog_toml)).hexdigest()
