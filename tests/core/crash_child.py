"""Child process of the crash test: applies a seeded stream of basket events to a journal,
printing "ACK n" after each committed batch, until it is killed.

    python crash_child.py JOURNAL SEED
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cart.basket.journal import Journal
from cart.basket.session import CartSession
from cart.sim.eventgen import event_stream
from cart.store.loading import load_store

T0 = 1_767_225_600_000


def batch_size(index: int) -> int:
    """Batches of 1, 2 and 3 events, fixed by position so a restart cuts the same batches."""
    return 1 + index % 3


def boundaries(limit: int) -> set[int]:
    out, i = {0}, 0
    while i < limit:
        i += batch_size(i)
        out.add(i)
    return out


def main() -> int:
    path, seed = sys.argv[1], int(sys.argv[2])
    store = load_store()
    journal = Journal(path, synchronous="FULL")
    cart = CartSession.recover(journal, store)
    if cart is None:
        cart = CartSession.start(journal, store, T0, session_id="crash")
    done = cart.basket.seq - 1  # stream events already applied ("open" is seq 1)
    print(f"START {done}", flush=True)
    stream = event_stream(store, seed, T0)
    events = [next(stream) for _ in range(done)]
    i = done
    while True:
        n = batch_size(i)
        batch = [next(stream) for _ in range(n)]
        events.extend(batch)
        cart.apply(*batch, extra=[(batch[-1].t_ms, "fusion.batch", {"first": i, "n": n})])
        i += n
        print(f"ACK {i}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
