"""Putting the cart together: store, journal, engine and runtime (and, for the demo and the
benchmark, simulated devices behind the real drivers)."""

from __future__ import annotations

import logging
from pathlib import Path

from cart.common.clock import Clock, SystemClock
from cart.app.runtime import Runtime

log = logging.getLogger(__name__)


def fusion_available() -> bool:
    try:
        import cart.fusion.session  # noqa: F401
    except ImportError:
        return False
    return True


def open_engine(store, journal, t_ms: int, *, fusion: bool | None = None, vision: bool = False):
    """The engine for ``store`` on ``journal``: the unfinished session if there is one (the
    basket exactly as journaled), else a new one. Fusion when available unless ``fusion=False``;
    ``vision``: a camera with the classifier sends verdicts (else fusion does without them)."""
    from cart.basket.session import CartSession
    from cart.app.engine import CoreEngine, FusionEngine

    use_fusion = fusion_available() if fusion is None else fusion
    if use_fusion:
        engine = FusionEngine.recover(journal, store, vision=vision)
        if engine is None:
            engine = FusionEngine.start(journal, store, t_ms, vision=vision)
        return engine
    return CoreEngine(CartSession.resume_or_start(journal, store, t_ms), store)


def build_runtime(
    store=None,
    journal_path: str | Path | None = None,
    *,
    clock: Clock | None = None,
    fusion: bool | None = None,
    synchronous: str = "FULL",
    idle_gc: bool = True,
    vision: bool = False,
) -> Runtime:
    """A runtime over a store (default: the demo store) and its journal (default: the cart's)."""
    from cart.store.loading import load_store
    from cart.basket.journal import Journal, default_journal_path

    store = store or load_store()
    clock = clock or SystemClock()
    path = str(journal_path or default_journal_path())
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(path, synchronous=synchronous)
    engine = open_engine(store, journal, clock.now_ms(), fusion=fusion, vision=vision)
    close_engine = engine.close

    def close() -> None:
        close_engine()
        journal.close()

    engine.close = close
    return Runtime(
        engine, clock=clock, store=store.config.name, money=store.config.money, idle_gc=idle_gc
    )


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
