"""ScaleCore without I/O: retries and backoff, handshake checks, bytes that never raise."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cart.common.clock import ManualClock
from cart.common.events import DeviceStatus, WeightMoving, WeightSettled
from cart.sim.scale import SimScale
from drivers.scale import protocol as sp
from drivers.scale.config import ScaleConfig
from drivers.scale.core import ScaleCore


def test_commands_retry_with_doubling_backoff_then_fail():
    clock = ManualClock(0)
    core = ScaleCore(ScaleConfig(command_timeout_ms=100, command_retries=3), clock)
    core.begin()
    sent = []
    events = []
    for t in range(0, 3000, 10):
        clock.set(t)
        out, ev = core.outgoing()
        events += ev
        if out:
            sent.append(t)
    assert sent == [0, 100, 300, 700]  # 100, 200, 400 ms waits
    assert core.state == "failed" and core.counters()["commands_failed"] == 1
    assert any(
        isinstance(e, DeviceStatus) and e.state == "error" and "no answer" in e.detail
        for e in events
    )


def test_handshake_rejects_a_bridge_that_does_not_match_the_profile():
    clock = ManualClock(0)
    core = ScaleCore(ScaleConfig(channels=4), clock)
    r = core.begin()
    core.outgoing()
    reply = sp.encode_identify(r.seq, sp.Identify(1, (1, 0, 0), 2, 80, 128, 24, 1, "other"))
    ev = core.feed(reply)
    assert core.state == "failed"
    assert any(isinstance(e, DeviceStatus) and "2 channels" in e.detail for e in ev)


def test_late_duplicate_ack_is_ignored_and_sequence_gaps_are_counted():
    clock = ManualClock(0)
    core = ScaleCore(ScaleConfig(), clock)
    r = core.begin()
    core.outgoing()
    core.feed(sp.encode_identify(r.seq, sp.Identify(1, (1, 0, 0), 4, 80, 128, 24, 1, "b")))
    start = core._handshake
    core.outgoing()
    ev = core.feed(sp.encode_ack(start.seq, sp.MsgId.START) * 2)
    assert core.state == "streaming"
    assert next(e.state for e in ev if isinstance(e, DeviceStatus)) == "connected"
    seqs = [65532, 65533, 65535, 1, 2, 5]  # lost: 65534; 0 (across the wrap); 3, 4
    data = b"".join(sp.encode_sample(s, 0, [0, 0, 0, 0]) for s in seqs)
    core.feed(data, 1000)
    c = core.counters()
    assert c["gaps"] == 3 and c["samples_lost"] == 4
    assert c["samples"] == len(seqs)


@settings(max_examples=60)
@given(st.lists(st.binary(max_size=80), max_size=12))
def test_core_never_raises_on_bytes_while_streaming(chunks):
    s = SimScale(seed=1, block_ms=200)
    t = s.clock.now_ms()
    for i, c in enumerate(chunks):
        s.core.feed(c, t + i)
    s.run_until(t + 2000)  # and it still streams afterwards
    assert s.core.state in ("streaming", "identify", "start")


def test_uncalibrated_scale_gives_no_weights():
    s = SimScale(seed=2, calibrate="none")
    s.place("a", 500.0)
    ev = s.run_until(s.clock.now_ms() + 4000)
    assert not [e for e in ev if isinstance(e, (WeightSettled, WeightMoving))]
    assert s.core.pipeline.last_counts is not None  # raw counts stay observable


def test_stalled_adc_is_reported():
    s = SimScale(seed=3)
    s.run_until(s.clock.now_ms() + 1000)
    s.bridge.stall_adc(2, 500)
    ev = s.run_until(s.clock.now_ms() + 1000)
    assert any(isinstance(e, DeviceStatus) and "channel 2 ADC not ready" in e.detail for e in ev)
    assert s.core.counters()["adc_not_ready"] == 1


def test_fast_pushes_keep_the_basket_and_cost_few_samples():
    full = SimScale(seed=8)
    fast = SimScale(seed=8, pushes="fast")
    for s in (full, fast):
        s.place("a", 1200.0, x=0.4, y=0.6)
        s.run_until(s.clock.now_ms() + 4000)
        n = len(s.events)
        for _ in range(3):
            s.run_until(s.push(15_000) + 4000)
        changes = [e for e in s.events[n:] if isinstance(e, WeightSettled) and e.delta_g]
        assert changes == []
        assert any(isinstance(e, WeightMoving) for e in s.events[n:])
        assert isinstance(s.events[-1], WeightSettled) or any(
            isinstance(e, WeightSettled) for e in s.events[n:]
        )
    assert fast.core.counters()["samples"] < full.core.counters()["samples"] / 3
    assert np.isclose(fast.total_items_g(), 1200.0)
