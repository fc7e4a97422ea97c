"""A host that stalls (the scale's thread held up by a busy CPU) reads a burst of samples
late. The samples carry their sequence numbers, so the driver times them and judges
stability on the samples themselves: the settles are the same as read on time."""

from __future__ import annotations

from cart.common.events import WeightMoving, WeightSettled
from cart.sim.scale import SimScale


def _bag_bytes(seed: int):
    """The bytes a simulated bridge sent while a 559 g bag of produce was placed, with when
    each read arrived (the steady 40 ms reads of the demo world), and the rig's start."""
    s = SimScale(seed=seed, profile="clean")
    reads = []
    feed = s.core.feed

    def record(data, now_ms=None):
        reads.append((data, now_ms))
        return feed(data, now_ms)

    s.core.feed = record
    t0 = s.clock.now_ms()
    s.run_until(t0 + 1000)
    s.place("bag", 559.0, x=0.4, y=0.6, bag=True)
    for t in range(t0 + 1040, t0 + 8000, 40):
        s.run_until(t)
    return reads, t0


def _replay(seed: int, reads, stall: tuple[int, int] | None) -> list:
    """The same bytes into a fresh driver core (same handshake and calibration); reads that
    arrive inside ``stall`` are held and arrive together at its end."""
    core = SimScale(seed=seed, profile="clean").core
    events, held = [], b""
    for data, now in reads:
        if stall is not None and stall[0] <= now < stall[1]:
            held += data
            continue
        events += core.feed(held + data, now)
        held = b""
    return [e for e in events if isinstance(e, (WeightMoving, WeightSettled))]


def test_a_stalled_host_settles_a_bag_where_a_prompt_one_does():
    seed = 2  # this bag settles in two steps: most of it, then the rest slumps
    reads, t0 = _bag_bytes(seed)
    prompt = _replay(seed, reads, None)
    stalled = _replay(seed, reads, (t0 + 1500, t0 + 3500))  # 2 s held up mid-placement
    settled = [e for e in prompt if isinstance(e, WeightSettled) and e.delta_g]
    assert [round(e.grams) for e in settled] == [475, 559]  # two steps, read on time
    late = [e for e in stalled if isinstance(e, WeightSettled) and e.delta_g]
    # the same settles: the same weights, at the samples' own times (to the 1 ms that the
    # time anchor may lean after a burst), not at the time the burst arrived
    assert [(e.grams, e.delta_g) for e in late] == [(e.grams, e.delta_g) for e in settled]
    assert all(abs(a.t_ms - b.t_ms) <= 2 for a, b in zip(late, settled, strict=True))
    assert all(e.t_ms < t0 + 3500 for e in late)
    assert len(stalled) == len(prompt)
