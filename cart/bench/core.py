"""``cart bench core``: basket events/s through the journal against the same fold in memory."""

from __future__ import annotations


def run(events: int, seed: int) -> dict:
    """Events/s through the fold in memory and through the journal; prints a line per figure
    and returns the result (the caller prints it as the JSON line)."""
    import itertools
    import os
    import tempfile
    import time

    from cart.basket.fold import Basket, OpenSession
    from cart.basket.journal import Journal
    from cart.basket.session import CartSession
    from cart.sim.eventgen import event_stream
    from cart.store.loading import load_store

    store = load_store()
    n = max(100, events)
    t0 = 1_767_225_600_000
    events = list(itertools.islice(event_stream(store, seed, t0), n))

    def fold_in_memory() -> float:
        b = Basket(store, "bench")
        b.apply(OpenSession(t0, store=store.config.id, catalog_digest=store.digest))
        start = time.perf_counter()
        for ev in events:
            b.apply(ev)
            b.snapshot()
        return n / (time.perf_counter() - start)

    def journaled(path: str, sync: str, batch: int = 1) -> float:
        with Journal(path, synchronous=sync) as j:
            cs = CartSession.start(j, store, t0, session_id="bench")
            start = time.perf_counter()
            for i in range(0, n, batch):
                cs.apply(*events[i : i + batch])
            return n / (time.perf_counter() - start)

    def snapshot_cost(lines: int = 200) -> float:
        b = Basket(store, "big")
        b.apply(OpenSession(t0, store=store.config.id, catalog_digest=store.digest))
        from cart.basket.fold import AddLine, SetQuantity

        each = [p for p in store.catalog.products if not p.by_weight]
        for i in range(lines):
            b.apply(AddLine(t0, line=f"L{i}", product=each[i % len(each)].id, qty=1))
        b.snapshot()
        reps = 200
        start = time.perf_counter()
        for i in range(reps):
            b.apply(SetQuantity(t0, line=f"L{i % lines}", qty=1 + (i % 3)))
            b.snapshot()
        return (time.perf_counter() - start) / reps * 1e6

    mem = fold_in_memory()
    print(f"fold in memory (apply + snapshot): {mem:,.0f} events/s")
    jmem = journaled(":memory:", "OFF")
    print(f"journal ':memory:':                {jmem:,.0f} events/s")
    with tempfile.TemporaryDirectory(prefix="cart-bench-") as tmp:
        normal = journaled(os.path.join(tmp, "n.sqlite"), "NORMAL")
        print(f"journal WAL synchronous=NORMAL:    {normal:,.0f} events/s")
        full = journaled(os.path.join(tmp, "f.sqlite"), "FULL")
        print(f"journal WAL synchronous=FULL:      {full:,.0f} events/s (one commit per event)")
        full10 = journaled(os.path.join(tmp, "b.sqlite"), "FULL", batch=10)
        print(f"journal WAL FULL, 10 per commit:   {full10:,.0f} events/s")
    snap_us = snapshot_cost()
    print(f"change + snapshot of a 200-line basket: {snap_us:,.0f} µs")
    result = {
        "bench": "core",
        "events": n,
        "seed": seed,
        "memory_events_per_s": round(mem),
        "journal_memory_events_per_s": round(jmem),
        "journal_normal_events_per_s": round(normal),
        "journal_full_events_per_s": round(full),
        "journal_full_batch10_events_per_s": round(full10),
        "ratio_full_vs_memory": round(full / mem, 4),
        "ratio_normal_vs_memory": round(normal / mem, 4),
        "snapshot_200_lines_us": round(snap_us, 1),
    }
    return result
