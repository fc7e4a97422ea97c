"""Putting the cart together: store, journal, engine and runtime (and, for the demo and the
benchmark, simulated devices behind the real drivers)."""

from __future__ import annotations

import logging
from pathlib import Path

from cart.app.runtime import Runtime
from cart.common.clock import Clock, MonotonicClock, SystemClock

log = logging.getLogger(__name__)


def open_engine(store, journal, t_ms: int, *, vision: bool = False, paid: bool = True):
    """The engine for ``store`` on ``journal``: the unfinished session if there is one (the
    basket exactly as journaled, as far as it verifies), else the last trip when it was paid and
    the shopper has not left (``paid``: its receipt and exit code shown again), else a new one.
    ``vision``: a camera with the classifier sends verdicts (else fusion does without them).
    A journal that cannot be replayed raises ``JournalError`` (a sentence)."""
    from cart.app.engine import FusionEngine
    from cart.basket.journal import JournalError
    from cart.basket.session import RecoveryError

    try:
        engine = FusionEngine.recover(journal, store, vision=vision)
        if engine is None and paid:
            engine = FusionEngine.recover_paid(journal, store, vision=vision)
        if engine is None:
            engine = FusionEngine.start(journal, store, t_ms, vision=vision)
    except RecoveryError as exc:
        raise JournalError(f"{journal.path}: the trip cannot be replayed: {exc}") from exc
    engine.prune(t_ms)
    return engine


def journal_key(exit_signer):
    """The journal's chain key from the cart's key (HMAC-SHA256), or None (SHA-256) without
    one, or with an ephemeral demo key (a journal it chained could not be read after a
    restart)."""
    if exit_signer is None or getattr(exit_signer, "ephemeral", False):
        return None
    return exit_signer.derive("journal")


def exit_key(folder=None, *, demo: bool = False):
    """The cart's key for signing exit codes (``cart.common.keys``), from ``folder`` (default:
    ``$CART_KEYS`` or ``var/keys``).

    No key there: for the demo (``demo``), a new ephemeral key, said in the log; for the cart,
    None, logged and printed as an error: its exit codes are then unsigned and every gate
    refuses them. A key file others may read is refused (``KeyFileError``), except by the demo,
    which then also uses an ephemeral key."""
    import sys

    from cart.common.keys import KeyFileError, KeysMissing, generate, keys_dir, load_key

    folder = keys_dir(folder)
    try:
        return load_key(folder)
    except KeysMissing as exc:
        if not demo:
            msg = (
                f"no cart key ({exc}): exit codes are NOT signed and every exit gate will "
                f"refuse them; run `cart keys init --dir {folder}` and register the key "
                "with the store"
            )
            log.error(msg)
            print(f"warning: {msg}", file=sys.stderr)
            return None
        problem = str(exc)
    except KeyFileError as exc:
        if not demo:
            raise
        problem = str(exc)
    key = generate("demo-cart", ephemeral=True)
    log.warning(
        "demo: %s; exit codes are signed with an ephemeral demo key, cart %s, public "
        'key %s (add "%s" = "%s" under [carts] to verify them)',
        problem,
        key.cart_id,
        key.public_hex,
        key.cart_id,
        key.public_hex,
    )
    return key


def build_runtime(
    store=None,
    journal_path: str | Path | None = None,
    *,
    clock: Clock | None = None,
    synchronous: str = "FULL",
    idle_gc: bool = True,
    vision: bool = False,
    exit_signer=None,
    mono: Clock | None = None,
    paid: bool = True,
    outbox=None,
) -> Runtime:
    """A runtime over a store (default: the demo store) and its journal (default: the cart's).
    ``exit_signer``: the cart's key (:func:`exit_key`); without one, exit codes are unsigned,
    and the journal is chained with SHA-256 instead of the key's HMAC (:func:`journal_key`).
    ``mono``: the monotonic clock stamped on every input for staff-mode timeouts and lock-outs
    (default: ``clock`` itself when it is monotonic, as a ``ManualClock`` is, else
    ``MonotonicClock``). ``paid``: a paid trip the shopper has not left shows its receipt again
    (see :func:`open_engine`). ``outbox``: the store link's ``OutboxLimits`` (the journal then
    keeps what the store is owed). The journal stays locked for the runtime's life (one
    writer)."""
    from cart.basket.journal import Journal, default_journal_path
    from cart.store.loading import load_store

    store = store or load_store()
    clock = clock or SystemClock()
    path = str(journal_path or default_journal_path())
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(path, synchronous=synchronous, key=journal_key(exit_signer), outbox=outbox)
    try:
        engine = open_engine(store, journal, clock.now_ms(), vision=vision, paid=paid)
    except BaseException:
        journal.close()
        raise
    engine.exit_signer = exit_signer
    engine.mono = mono or (clock if getattr(clock, "monotonic", False) else MonotonicClock())
    engine.show_receipt()
    close_engine = engine.close

    def close() -> None:
        close_engine()
        journal.close()

    engine.close = close
    runtime = Runtime(
        engine, clock=clock, store=store.config.name, money=store.config.money, idle_gc=idle_gc
    )
    # a store whose staff each have their own PIN: the screen asks who is logging in first
    runtime.staff_named = bool(store.staff_pins()) and "*" not in store.staff_pins()
    return runtime


def fresh_trip(store, journal_path: str | Path, t_ms: int) -> None:
    """Close any unfinished trip in the journal (cancelled by staff "demo"), so the next start
    opens a new one. For the demo, whose simulated basket always starts empty."""
    from cart.basket.fold import CancelSession
    from cart.basket.journal import Journal
    from cart.basket.session import CartSession

    path = str(journal_path)
    if path == ":memory:":
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with Journal(path) as journal:
        session = CartSession.recover(journal, store, allow_catalog_change=True)
        if session is not None:
            t = max(t_ms, session.snapshot().t_ms)
            session.apply(CancelSession(t, by="staff", staff_id="demo", reason="demo restarted"))
