"""A shopping session: the basket fold bound to its journal.

``CartSession.apply(*events, extra=...)`` validates the basket events against the basket,
appends them (and any namespaced rows of other subsystems) to the journal in ONE transaction,
and only then applies them and returns the new snapshot. If validation or the journal fails,
nothing changes and the error is raised: a change is never shown unless it is journaled.

``CartSession.recover(journal, store)`` rebuilds the unfinished session exactly, by replaying
its rows through the same fold. Only rows that verified are replayed (``cart.basket.journal``):
an unfinished session with a fault is set aside and its verified prefix goes on as a new
session; the fault waits in the journal for a staff question (``Journal.pending_faults``, which
``cart.fusion.session`` raises). A session recorded before the chain is replayed as recorded,
with a staff question too.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from cart.basket.fold import (
    Basket,
    BasketError,
    BasketEvent,
    CancelSession,
    CheckOut,
    OpenSession,
    is_basket_kind,
)
from cart.basket.journal import Entry, Journal, JournalError
from cart.store.model import Store

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
        self._lock = threading.RLock()  # apply() may be called from the UI and fusion threads

    @property
    def id(self) -> str:
        return self.basket.session

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        journal: Journal,
        store: Store,
        t_ms: int,
        *,
        session_id: str | None = None,
        cart: str = "",
        extra: Iterable[Row] = (),
    ) -> CartSession:
        """Open a session. ``extra``: namespaced rows of other subsystems (what they need to know
        about the session from its start) journaled in the same transaction as the open."""
        sid = session_id or uuid.uuid4().hex[:16]
        basket = Basket(store, sid)
        ev = OpenSession(t_ms=t_ms, store=store.config.id, catalog_digest=store.digest, cart=cart)
        basket.check(ev)
        rows = list(extra)
        for _, kind, _ in rows:
            if is_basket_kind(kind):
                raise BasketError(f'extra rows must be namespaced ("area.kind"), got {kind!r}')
        sources = (store.digest, *store.sources) if store.sources[1] else None
        journal.open_session(sid, t_ms, [ev, *rows], store=sources)
        basket.apply(ev)
        return cls(journal, store, basket)

    @classmethod
    def recover(
        cls,
        journal: Journal,
        store: Store,
        session_id: str | None = None,
        *,
        allow_catalog_change: bool = False,
        on_row: Callable[[Entry], None] | None = None,
    ) -> CartSession | None:
        """Rebuild the unfinished session (or ``session_id``), or None if there is none.

        ``on_row`` sees every row in order, namespaced ones included, so other subsystems can
        rebuild their own state in the same pass.
        """
        if session_id is None:
            info = journal.unfinished()
            if info is None:
                return None
            session_id = info.id
            if journal.damaged(session_id) is not None:
                # never shown as it is: what verified goes on in a new session; the faults wait
                # in the journal for the staff question (``Journal.pending_faults``)
                session_id = journal.set_aside(session_id)
                if session_id is None:
                    return None
            elif journal.unchained(session_id):
                journal.note(
                    f"session {session_id!r} was recorded before the journal was chained: it "
                    "is shown as recorded, without proof"
                )
        basket = replay(
            journal, store, session_id, allow_catalog_change=allow_catalog_change, on_row=on_row
        )
        return cls(journal, basket.store, basket)

    @classmethod
    def resume_or_start(cls, journal: Journal, store: Store, t_ms: int, **kw) -> CartSession:
        s = cls.recover(journal, store)
        return s if s is not None else cls.start(journal, store, t_ms, **kw)

    # -- changes --------------------------------------------------------------------------------

    def apply(self, *events: BasketEvent, extra: Iterable[Row] = (), snapshot: bool = True):
        """Validate, journal (one transaction, committed), apply; return the snapshot.

        ``extra``: namespaced rows (``(t_ms, "fusion.x", {...})``) journaled with the events.
        ``snapshot=False``: return None, and price the basket only when a snapshot is next
        asked for (pricing is the one cost of a change that grows with the basket: a flood of
        scans is priced once per screen snapshot, not once per scan). Subscribers still get
        the snapshot after every change.
        Raises BasketError (nothing journaled) or JournalError (nothing applied).
        """
        with self._lock:
            self._apply_locked(events, list(extra))
            snap = self.basket.snapshot() if snapshot or self._listeners else None
        for fn in list(self._listeners):
            fn(snap)
        return snap

    def _apply_locked(self, events: tuple[BasketEvent, ...], extra: list[Row]) -> None:
        for _, kind, _ in extra:
            if is_basket_kind(kind):
                raise BasketError(f'extra rows must be namespaced ("area.kind"), got {kind!r}')
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
            from cart.basket.receipt import build_receipt

            receipt = build_receipt(trial.snapshot(), self.store)
            status = "checked_out" if isinstance(closing, CheckOut) else "cancelled"
            self.journal.close_session(self.id, closing.t_ms, rows, status=status, receipt=receipt)
        elif rows:
            self.journal.append(self.id, rows)
        if trial is self.basket:
            for ev in events:
                self.basket._apply(ev)
        else:
            self.basket = trial

    def record(self, *rows: Row) -> list[int]:
        """Journal namespaced rows of another subsystem (no basket change)."""
        for _, kind, _ in rows:
            if is_basket_kind(kind):
                raise BasketError(f"record() takes namespaced kinds only, got {kind!r}")
        with self._lock:
            return self.journal.append(self.id, rows)

    def snapshot(self):
        """The current snapshot (safe to call from another thread than the one applying)."""
        with self._lock:
            return self.basket.snapshot()

    def subscribe(self, fn: Callable) -> Callable[[], None]:
        """Call ``fn(snapshot)`` after every applied change; returns an unsubscribe function."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    @property
    def closed(self) -> bool:
        return self.basket.state != "open"


def replay(
    journal: Journal,
    store: Store,
    session_id: str,
    *,
    allow_catalog_change: bool = False,
    on_row: Callable[[Entry], None] | None = None,
) -> Basket:
    """Fold a journaled session into a Basket (namespaced rows go to ``on_row`` only).

    The session is replayed with the store it was opened with: ``store`` when its digest
    matches, else the copy the journal kept. Only when there is no copy does it use ``store``,
    and then only with ``allow_catalog_change=True`` (prices may differ); otherwise
    RecoveryError. The returned basket's ``store`` is the one used.
    """
    if journal.session(session_id) is None:
        raise JournalError(f"no session {session_id!r}")
    basket: Basket | None = None
    for entry in journal.events(session_id):
        if on_row is not None:
            on_row(entry)
        if basket is None:
            if entry.kind != OpenSession.KIND:
                raise RecoveryError(f"session {session_id!r} does not start with 'open'")
            basket = Basket(
                _pinned_store(
                    journal,
                    store,
                    session_id,
                    entry.payload.get("catalog_digest", ""),
                    allow_catalog_change,
                ),
                session_id,
            )
        try:
            basket.apply_row(entry.t_ms, entry.kind, entry.payload)
        except BasketError as exc:
            raise RecoveryError(f"session {session_id!r} seq {entry.seq}: {exc}") from exc
    if basket is None:
        raise RecoveryError(f"session {session_id!r} has no rows")
    return basket


def _pinned_store(
    journal: Journal, store: Store, session_id: str, digest: str, allow_catalog_change: bool
) -> Store:
    if digest == store.digest:
        return store
    sources = journal.store_sources(digest) if isinstance(digest, str) else None
    if sources is not None:
        from cart.store.loading import CatalogError, load_store_bytes

        try:
            return load_store_bytes(*sources, path=f"{journal.path}#{digest[:12]}")
        except CatalogError as exc:
            if not allow_catalog_change:
                raise RecoveryError(
                    f"session {session_id!r}: its journaled store no longer validates: {exc}"
                ) from exc
    if allow_catalog_change:
        return store
    raise RecoveryError(
        f"session {session_id!r} was priced with another catalogue "
        f"({str(digest)[:12]} != {store.digest[:12]}) and the journal has no copy of it; "
        "pass allow_catalog_change"
    )
