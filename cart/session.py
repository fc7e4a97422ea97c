"""A shopping session: the basket fold bound to its journal.

``CartSession.apply(*events, extra=...)`` validates the basket events against the basket,
appends them (and any namespaced rows of other subsystems) to the journal in ONE transaction,
and only then applies them and returns the new snapshot. If validation or the journal fails,
nothing changes and the error is raised: a change is never shown unless it is journaled.

``CartSession.recover(journal, store)`` rebuilds the unfinished session exactly, by replaying
its rows through the same fold.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from cart.basket import (
    Basket,
    BasketError,
    BasketEvent,
    CancelSession,
    CheckOut,
    OpenSession,
    is_basket_kind,
)
from cart.catalog import Store
from cart.journal import Entry, Journal, JournalError

Row = tuple[int, str, dict[str, Any]]


class RecoveryError(RuntimeError):
    """A journaled session that cannot be rebuilt with this store."""


class CartSession:
    """One trip. Create with :meth:`start`, :meth:`recover` or :meth:`resume_or_start`."""

    def __init__(self, journal: Journal, store: Store, basket: Basket) -> None:
        self.journal = journal
        self.store = store
        self.basket = basket
        self._listeners: list[Callable] = []

    @property
    def id(self) -> str:
        return self.basket.session

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def start(cls, journal: Journal, store: Store, t_ms: int, *, session_id: str | None = None,
              cart: str = "") -> CartSession:
        sid = session_id or uuid.uuid4().hex[:16]
        basket = Basket(store, sid)
        ev = OpenSession(t_ms=t_ms, store=store.config.id, catalog_digest=store.digest, cart=cart)
        basket.check(ev)
        journal.open_session(sid, t_ms, [ev])
        basket.apply(ev)
        return cls(journal, store, basket)

    @classmethod
    def recover(cls, journal: Journal, store: Store, session_id: str | None = None, *,
                allow_catalog_change: bool = False,
                on_row: Callable[[Entry], None] | None = None) -> CartSession | None:
        """Rebuild the unfinished session (or ``session_id``), or None if there is none.

        ``on_row`` sees every row in order, namespaced ones included, so other subsystems can
        rebuild their own state in the same pass.
        """
        if session_id is None:
            info = journal.unfinished()
            if info is None:
                return None
            session_id = info.id
        basket = replay(journal, store, session_id, allow_catalog_change=allow_catalog_change,
                        on_row=on_row)
        return cls(journal, store, basket)

    @classmethod
    def resume_or_start(cls, journal: Journal, store: Store, t_ms: int, **kw) -> CartSession:
        s = cls.recover(journal, store)
        return s if s is not None else cls.start(journal, store, t_ms, **kw)

    # -- changes --------------------------------------------------------------------------------

    def apply(self, *events: BasketEvent, extra: Iterable[Row] = ()):
        """Validate, journal (one transaction, committed), apply; return the snapshot.

        ``extra``: namespaced rows (``(t_ms, "fusion.x", {...})``) journaled with the events.
        Raises BasketError (nothing journaled) or JournalError (nothing applied).
        """
        extra = list(extra)
        for t, kind, _ in extra:
            if is_basket_kind(kind):
                raise BasketError(f"extra rows must be namespaced (\"area.kind\"), got {kind!r}")
        trial = self.basket.copy() if len(events) > 1 else self.basket
        for ev in events:
            trial.check(ev)
            if trial is not self.basket:
                trial._apply(ev)
        rows: list[Any] = [*events, *extra]
        closing = next((e for e in events if isinstance(e, (CheckOut, CancelSession))), None)
        if closing is not None:
            if events[-1] is not closing:
                raise BasketError("check-out/cancel must be the last event of a batch")
            if trial is self.basket:
                trial = self.basket.copy()
                trial._apply(closing)
            from cart.receipt import build_receipt

            receipt = build_receipt(trial.snapshot(), self.store)
            status = "checked_out" if isinstance(closing, CheckOut) else "cancelled"
            self.journal.close_session(self.id, closing.t_ms, rows, status=status,
                                       receipt=receipt)
        elif rows:
            self.journal.append(self.id, rows)
        if trial is self.basket:
            for ev in events:
                self.basket._apply(ev)
        else:
            self.basket = trial
        snap = self.basket.snapshot()
        for fn in list(self._listeners):
            fn(snap)
        return snap

    def record(self, *rows: Row) -> list[int]:
        """Journal namespaced rows of another subsystem (no basket change)."""
        for _, kind, _ in rows:
            if is_basket_kind(kind):
                raise BasketError(f"record() takes namespaced kinds only, got {kind!r}")
        return self.journal.append(self.id, rows)

    def snapshot(self):
        return self.basket.snapshot()

    def subscribe(self, fn: Callable) -> Callable[[], None]:
        """Call ``fn(snapshot)`` after every applied change; returns an unsubscribe function."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    @property
    def closed(self) -> bool:
        return self.basket.state != "open"


def replay(journal: Journal, store: Store, session_id: str, *,
           allow_catalog_change: bool = False,
           on_row: Callable[[Entry], None] | None = None) -> Basket:
    """Fold a journaled session into a Basket (namespaced rows go to ``on_row`` only)."""
    if journal.session(session_id) is None:
        raise JournalError(f"no session {session_id!r}")
    basket = Basket(store, session_id)
    first = True
    for entry in journal.events(session_id):
        if on_row is not None:
            on_row(entry)
        if first:
            first = False
            if entry.kind != OpenSession.KIND:
                raise RecoveryError(f"session {session_id!r} does not start with 'open'")
            digest = entry.payload.get("catalog_digest", "")
            if digest != store.digest and not allow_catalog_change:
                raise RecoveryError(
                    f"session {session_id!r} was priced with another catalogue "
                    f"({digest[:12]} != {store.digest[:12]}); pass allow_catalog_change")
        try:
            basket.apply_row(entry.t_ms, entry.kind, entry.payload)
        except BasketError as exc:
            raise RecoveryError(f"session {session_id!r} seq {entry.seq}: {exc}") from exc
    return basket
