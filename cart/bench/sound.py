"""``cart bench sound``: from a device event to the cue's samples handed to the player.

The real runtime, engine and journal (``:memory:``) on the demo store, with the sound cues
attached and the real ``AplayPlayer``: each scan of a product posted to the runtime bills a line,
whose snapshot sounds ``accepted``; the time is from ``post`` until the cue's PCM is in the pipe
of the ``aplay`` waiting for it. ``--command``: the player (default ``aplay``; without
one on the machine, ``cat`` stands in, and the figure leaves out what ALSA adds: opening the
device and its first period reaching the DAC).
"""

from __future__ import annotations

import shutil
import statistics
import threading
import time


def run(events: int = 60, command: str | None = None, device: str = "default") -> dict:
    from cart.app.sound import AplayPlayer, SoundCues, SoundSettings
    from cart.app.stack import build_runtime
    from cart.common.clock import ManualClock
    from cart.common.events import Scan
    from cart.store.loading import load_store

    found = command or shutil.which("aplay")
    stand_in = found is None
    command = found or shutil.which("cat") or "cat"

    store = load_store()
    clock = ManualClock()
    runtime = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL")
    settings = SoundSettings(device=device)
    player = AplayPlayer(settings, command=command)
    done = threading.Event()
    done_at = [0.0]

    def written(_cue) -> None:
        done_at[0] = time.perf_counter()
        done.set()

    player.written = written
    runtime.add_source(player)
    runtime.attach(SoundCues(player))
    codes = [g for p in store.catalog.products if not p.by_weight for g in p.gtins[:1]][:20]
    ms: list[float] = []
    with runtime:
        for i in range(events):
            done.clear()
            clock.advance(800)
            gtin = codes[i % len(codes)].lstrip("0").rjust(13, "0")
            t0 = time.perf_counter()
            runtime.post(Scan(clock.now_ms(), gtin, "]E0", "scanner:hand"))
            if not done.wait(2.0):
                break
            ms.append((done_at[0] - t0) * 1000)
            time.sleep(0.25)  # the cue plays out (under 200 ms)
    ms.sort()

    def pct(q: float) -> float:
        return round(ms[min(len(ms) - 1, int(q * len(ms)))], 2) if ms else float("nan")

    return {
        "bench": "sound",
        "events": len(ms),
        "player": command,
        "stand_in": stand_in,
        "event_to_cue_ms_median": round(statistics.median(ms), 2) if ms else None,
        "event_to_cue_ms_p95": pct(0.95),
        "event_to_cue_ms_max": round(ms[-1], 2) if ms else None,
        "broken": player.broken,
    }
