"""Kill a process that is applying basket events with SIGKILL, many times, at random moments:
every acknowledged event is in the recovered basket, and nothing else is (no half batch, no
event the stream did not produce)."""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cart.basket.fold import Basket, OpenSession
from cart.basket.journal import Journal
from cart.basket.session import CartSession
from cart.sim.eventgen import event_stream
from tests.core.crash_child import T0, batch_size, boundaries

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 25
SEED = 20260101


def _read_line(proc, what: str) -> str:
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.poll() is not None else ""
        pytest.fail(f"child ended before {what}: rc={proc.poll()} {err[-2000:]}")
    return line.strip()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_acknowledged(store, tmp_path):
    path = tmp_path / "crash.sqlite"
    rng = random.Random(7)
    stream = list(itertools.islice(event_stream(store, SEED, T0), 4000))
    cuts = boundaries(len(stream))
    recovered = 0
    for k in range(KILLS):
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(path), str(SEED)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            start = _read_line(proc, "START")
            assert start == f"START {recovered}", start
            acked = recovered
            target = recovered + rng.randint(1, 30)
            while acked < target:
                line = _read_line(proc, f"ACK {target}")
                assert line.startswith("ACK "), line
                acked = int(line.split()[1])
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            # whatever else it printed before dying was acknowledged too
            for line in proc.stdout.read().splitlines():
                acked = max(acked, int(line.split()[1]))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL, f"kill {k}: rc={proc.returncode}"

        with Journal(path) as j:
            cart = CartSession.recover(j, store)
            got = cart.basket.seq - 1
            # every acknowledged event is there; at most the one batch in flight is extra
            assert acked <= got <= acked + batch_size(acked), (k, acked, got)
            assert got in cuts, f"kill {k}: a batch was cut in half at {got}"
            fusion_rows = [e for e in j.events("crash") if e.kind == "fusion.batch"]
            assert sum(e.payload["n"] for e in fusion_rows) == got
        shadow = Basket(store, "crash")
        shadow.apply(OpenSession(T0, store=store.config.id, catalog_digest=store.digest))
        for ev in stream[:got]:
            shadow.apply(ev)
        assert cart.snapshot() == shadow.snapshot(), f"kill {k}: recovered basket differs"
        recovered = got
    assert recovered > KILLS  # the trip moved on across restarts
