"""``cart bench journal``: what the journal costs on the card, idle and per trip.

Idle: the real engine (fusion, core basket, a journal file) fed for ``hours`` of simulated time
by a simulated scale standing empty (the real driver core on the modelled load cells, every
sample computed: the noise makes it re-settle at the same weight now and then) and a tick each
second, as the runtime gives one. Per trip: shopping trips of the shopper model
(``cart.sim.trips``) played through fusion onto one journal file. Bytes are the database file's
growth after a full checkpoint (the WAL folded in and cut back), so they are what stays on the
card; ``wal_max_bytes`` is the largest the WAL file grew to meanwhile (it is cut back to
``WAL_SIZE_LIMIT`` after each checkpoint).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile


def _settled_size(path: str) -> int:
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return os.path.getsize(path)


def _rows(path: str) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        db.close()


class _EmptyScale:
    """The simulated scale with nothing on it, every sample computed (never fast-forwarded)."""

    def __new__(cls, seed: int):
        from cart.sim.scale import SimScale

        class Scale(SimScale):
            def _can_skip(self) -> bool:
                return False

        return Scale(seed=seed)


def idle(hours: float = 1.0, seed: int = 1, folder: str | None = None) -> dict:
    from cart.app.stack import open_engine
    from cart.basket.journal import Journal
    from cart.common.events import WeightSettled
    from cart.store.loading import load_store

    store = load_store()
    scale = _EmptyScale(seed)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = os.path.join(tmp, "journal.sqlite")
        journal = Journal(path, synchronous="NORMAL")
        t0 = scale.clock.now_ms()
        engine = open_engine(store, journal, t0)
        start, rows0 = _settled_size(path), _rows(path)
        settled = wal_max = 0
        end = t0 + int(hours * 3_600_000)
        t = t0
        while t < end:
            t = min(end, t + 1000)
            for ev in scale.run_until(t):
                settled += isinstance(ev, WeightSettled)
                engine.handle_event(ev, ev.t_ms)
            engine.advance(t)
            if t % 60_000 < 1000:
                wal_max = max(wal_max, os.path.getsize(path + "-wal"))
        journal.close()
        grown, rows = _settled_size(path) - start, _rows(path) - rows0
    return {
        "idle_hours": hours,
        "idle_settled_readings": settled,
        "idle_rows": rows,
        "idle_bytes_per_hour": round(grown / hours),
        "idle_rows_per_hour": round(rows / hours, 1),
        "wal_max_bytes": wal_max,
    }


def trips(n: int = 20, seed: int = 1, profile: str = "typical", folder: str | None = None) -> dict:
    from cart.basket.journal import Journal
    from cart.fusion.session import FusionSession
    from cart.sim import trips as sim_trips
    from cart.sim.shopper import PROFILES, ShopperModel
    from cart.store.loading import load_store

    store = load_store()
    runner = sim_trips.TripRunner(store, PROFILES[profile])
    model = ShopperModel(list(runner.products.products()), PROFILES[profile])
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = os.path.join(tmp, "journal.sqlite")
        journal = Journal(path, synchronous="NORMAL")
        start, paid = _settled_size(path), 0
        for i in range(n):
            play = sim_trips._Play(runner, model.trip(seed * 1_000_003 + i))
            play.journal.close()  # the same trip, journaled on the file instead
            play.journal = journal
            play.fs = FusionSession.start(
                journal, store, sim_trips.T0 + i, config=runner.config, products=runner.products
            )
            result = play.run()
            paid += bool(getattr(result, "checked_out", False))
        journal.close()
        grown, rows = _settled_size(path) - start, _rows(path)
    return {
        "trips": n,
        "trips_paid": paid,
        "trip_rows": round(rows / n, 1),
        "trip_bytes": round(grown / n),
    }


def run(hours: float = 1.0, n_trips: int = 20, seed: int = 1) -> dict:
    return {"bench": "journal", "seed": seed, **idle(hours, seed), **trips(n_trips, seed)}
