"""The scale link's faults through the real bytes: replayed and backwards sample sequence
numbers, reserved flag bits, wrong channel counts, replies of the wrong kind in the handshake,
and ``ScaleCore.feed`` never raising (property tests; the coverage-guided run is
tests/scale/fuzz_core.py).
The property tests run 300 to 400 examples each; SCALE_PROPERTY_EXAMPLES=N runs N each.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cart.sim.scale as sim_scale
from cart.common.clock import ManualClock
from cart.common.events import DeviceStatus
from cart.sim.scale import SimBridge, SimScale
from cart.ui.widgets import ERROR_WORDS
from drivers.scale import protocol as sp
from drivers.scale.config import ScaleConfig
from drivers.scale.core import ScaleCore

P = 12.5  # ms per sample at 80 SPS
IDENT = sp.Identify(1, (1, 0, 0), 4, 80, 128, 24, 1, "bridge")
MANY = int(os.environ.get("SCALE_PROPERTY_EXAMPLES", "0"))
NEW_COUNTERS = ("seq_replay_errors", "seq_backward_errors", "reply_kind_errors")


def streaming_core(t0: int = 0) -> tuple[ScaleCore, list]:
    """A core that hand-shook with a bridge through the codec; returns it and a list that
    collects (t, counts) of every sample the pipeline gets."""
    clock = ManualClock(t0)
    core = ScaleCore(ScaleConfig(), clock)
    r = core.begin()
    core.outgoing()
    core.feed(sp.encode_identify(r.seq, IDENT))
    start = core._handshake
    core.outgoing()
    core.feed(sp.encode_ack(start.seq, sp.MsgId.START))
    assert core.state == "streaming"
    seen: list = []
    core.pipeline.taps.append(
        lambda t, c, g, f: seen.extend(zip(t.tolist(), c.tolist(), strict=True))
    )
    return core, seen


def sample(seq: int, value: int = 0) -> bytes:
    return sp.encode_sample(seq % 65536, 0, [value, value + 1, value + 2, value + 3])


def sample_payload(seq: int, flags: int, counts) -> bytes:
    """A CRC-valid SAMPLE frame with any flags (the encoder refuses reserved bits)."""
    p = (seq % 65536).to_bytes(2, "big") + bytes((flags,))
    p += b"".join((c & 0xFFFFFF).to_bytes(3, "big") for c in counts)
    return sp.encode_frame(0, sp.MsgId.SAMPLE, p)


def errors(events) -> list[str]:
    return [e.detail for e in events if isinstance(e, DeviceStatus) and e.state == "error"]


# -- sequence numbers -------------------------------------------------------------------------


def test_a_replayed_sample_is_counted_dropped_and_changes_nothing_else():
    clean, seen_clean = streaming_core()
    core, seen = streaming_core()
    for i in range(40):
        now = int(i * P) + 3
        clean.feed(sample(1000 + i, i), now)
        ev = core.feed(sample(1000 + i, i), now)
        if i in (10, 20):
            ev = core.feed(sample(1000 + i, i), now + 1)  # the same frame again
            assert any("replayed" in d for d in errors(ev))
        if i == 30:
            ev = core.feed(sample(1000 + 25, 25), now + 1)  # an older one again
            assert any("replayed" in d for d in errors(ev))
    c = core.counters()
    assert c["seq_replay_errors"] == 3
    assert c["gaps"] == c["samples_lost"] == c["seq_backward_errors"] == 0
    assert c["samples"] == 40
    # the time anchor and every sample time are those of the stream without the replays
    assert seen == seen_clean
    assert all(abs(t - (i * P + 3)) <= 1 for i, (t, _) in enumerate(seen))


def test_replays_and_backwards_numbers_do_not_make_phantom_lost_samples():
    """The old timeline took a replay of an older frame as a restart, and the next sample
    as a jump of almost 65536."""
    core, seen = streaming_core()
    for i in range(100):
        core.feed(sample(i), int(i * P))
        if i % 10 == 9:
            core.feed(sample(i - 5) + sample(i - 3000), int(i * P) + 1)
    c = core.counters()
    assert c["samples_lost"] == 0 and c["gaps"] == 0
    # 3000 back is outside the replay window; as a forward jump (62536 samples) it does not
    # fit the time that passed, so it is a number going backwards
    assert c["seq_replay_errors"] == 10 and c["seq_backward_errors"] == 10
    assert c["samples"] == 100
    assert all(abs(t - i * P) <= 1 for i, (t, _) in enumerate(seen))
    assert core.status("connected").counters == tuple(sorted(c.items()))


def test_a_lost_sample_arriving_late_counts_as_backwards_not_as_a_gap():
    core, seen = streaming_core()
    for i in (0, 1, 2, 4, 5):  # 3 lost
        core.feed(sample(i), int(i * P) + 2)
    core.feed(sample(3), 70)  # arrives after 4 and 5: too late for the pipeline
    core.feed(sample(6), int(6 * P) + 2)
    c = core.counters()
    assert (c["gaps"], c["samples_lost"]) == (1, 1)
    assert (c["seq_backward_errors"], c["seq_replay_errors"]) == (1, 0)
    assert c["samples"] == 6
    assert [round((t - 2) / P) for t, _ in seen] == [0, 1, 2, 4, 5, 6]


def test_sequence_wraps_and_replays_across_the_wrap():
    core, seen = streaming_core()
    seqs = [65533, 65534, 65535, 0, 65535, 1, 65534, 3, 4, 2]
    # in order across the wrap; 65535 and 65534 replayed after it; 2 lost then late
    t = 0
    for s in seqs:
        idx = (s - 65533) % 65536
        t = max(t, int(idx * P))
        core.feed(sample(s), t)
    c = core.counters()
    assert c["seq_replay_errors"] == 2 and c["seq_backward_errors"] == 1
    assert (c["gaps"], c["samples_lost"]) == (1, 1)
    assert c["samples"] == 7
    assert [round(t / P) for t, _ in seen] == [0, 1, 2, 3, 4, 6, 7]


def test_a_gap_longer_than_the_sequence_is_measured_by_the_time_that_passed():
    core, _ = streaming_core()
    for i in range(10):
        core.feed(sample(i), int(i * P))
    # 20 minutes without a sample (96 000 periods: the 16-bit number wrapped once)
    k = 10 + 96_000
    core.feed(sample(k), int(k * P))
    c = core.counters()
    assert (c["gaps"], c["samples_lost"]) == (1, 96_000)
    # the same number a second after the last sample is a jump that time cannot explain
    core2, _ = streaming_core()
    for i in range(10):
        core2.feed(sample(i), int(i * P))
    core2.feed(sample(10 + 30_000), int(10 * P) + 1000)
    c2 = core2.counters()
    assert c2["seq_backward_errors"] == 1 and c2["samples_lost"] == 0


def test_a_late_burst_is_judged_alike_whether_a_status_frame_splits_it_or_not():
    """Samples arriving together are judged against what earlier arrivals proved, never
    against the anchor a late sample of the same burst set."""
    burst = sample(0) + sample(40, 40) + sample(81, 81)
    split = sample(0) + sp.encode_status(sp.StatusCode.SATURATED, 1, 0) + burst[len(sample(0)) :]
    counted = []
    for data in (burst, split):
        core, seen = streaming_core()
        core.feed(data, 1012)
        core.feed(sample(82, 82), 1030)
        c = core.counters()
        counted.append((c["samples"], c["gaps"], c["samples_lost"], c["seq_backward_errors"]))
        assert [cnt[0] for _, cnt in seen] == [0, 40, 81, 82]
    assert counted == [(4, 2, 79, 0)] * 2
    # once earlier arrivals anchor the stream, a jump the time cannot explain is still refused
    core, _ = streaming_core()
    core.feed(burst, 1012)
    core.feed(sample(82 + 200), 1030)
    assert core.counters()["seq_backward_errors"] == 1


def test_a_rebooted_bridge_says_boot_and_its_new_sequence_is_no_fault():
    core, seen = streaming_core()
    for i in range(20):
        core.feed(sample(5000 + i), int(i * P))
    ev = core.feed(sp.encode_status(sp.StatusCode.BOOT, 0, 1), 300)
    assert core.state == "identify"
    assert any(isinstance(e, DeviceStatus) and e.state == "reconnecting" for e in ev)
    out, _ = core.outgoing(300)
    (f,) = sp.FrameParser().feed(out)
    core.feed(sample(5020), 310)  # a sample before the handshake: not used
    core.feed(sp.encode_identify(f.seq, IDENT), 320)
    out, _ = core.outgoing(320)
    (f,) = sp.FrameParser().feed(out)
    core.feed(sp.encode_ack(f.seq, sp.MsgId.START), 330)
    assert core.state == "streaming"
    for i in range(10):  # the rebooted bridge counts from 0 again
        core.feed(sample(i), 340 + int(i * P))
    c = core.counters()
    assert c["reboots"] == 1 and c["frames_ignored"] == 1
    assert c["seq_backward_errors"] == c["seq_replay_errors"] == c["gaps"] == 0
    assert c["samples"] == 30
    ts = [t for t, _ in seen]
    assert ts == sorted(ts) and ts[20] >= 340


# -- payloads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [0x10, 0x80, 0xFF])
def test_reserved_flag_bits_are_payload_errors_on_both_parse_paths(flags):
    core, seen = streaming_core()
    bad = sample_payload(1, flags, [7, 7, 7, 7])
    with pytest.raises(sp.ProtocolError, match="reserved"):
        sp.decode_message(sp.FrameParser().feed(bad)[0])
    with pytest.raises(sp.ProtocolError, match="reserved"):
        sp.encode_sample(1, flags, [7, 7, 7, 7])
    # fast path (a block of sample frames) and frame path (after a status frame)
    ev = core.feed(sample(0) + bad + sample(2), 30)
    ev += core.feed(
        sp.encode_status(sp.StatusCode.SATURATED, 1, 0) + sample(3) + bad + sample(4), 60
    )
    c = core.counters()
    assert c["payload_errors"] == 2 and c["samples"] == 4
    assert (c["gaps"], c["samples_lost"]) == (1, 1)  # the dropped 1 is missing, as it is
    assert any("reserved flag bits" in d for d in errors(ev))
    assert [cnt[0] for _, cnt in seen] == [0, 0, 0, 0]
    # a stale flag of a channel the frame has is no error
    core.feed(sample_payload(5, 0x0F, [1, 2, 3, 4]), 90)
    assert core.counters()["payload_errors"] == 2 and core.counters()["samples"] == 5


def test_reserved_bits_depend_on_the_channel_count():
    assert sp.reserved_flags(4) == 0xF0 and sp.reserved_flags(1) == 0xFE
    assert sp.reserved_flags(8) == 0
    one = sp.FrameParser().feed(sample_payload(1, 0x02, [5]))[0]
    with pytest.raises(sp.ProtocolError):
        sp.decode_message(one)
    assert sp.decode_message(sp.FrameParser().feed(sample_payload(1, 0x01, [5]))[0]).flags == 1


def test_samples_with_the_wrong_channel_count_are_payload_errors():
    core, seen = streaming_core()
    ev = core.feed(
        sample(0) + sp.encode_sample(1, 0, [1, 2]) + sample(2) + sp.encode_sample(3, 0, [1] * 8), 50
    )
    c = core.counters()
    assert c["payload_errors"] == 2 and c["samples"] == 2
    assert any("sample frames with 2 channels (profile: 4)" in d for d in errors(ev))
    assert any("with 8 channels" in d for d in errors(ev))
    assert len(seen) == 2


# -- handshake --------------------------------------------------------------------------------


def test_an_ack_where_identify_reply_is_expected_is_counted_and_identify_is_sent_again():
    clock = ManualClock(0)
    core = ScaleCore(ScaleConfig(), clock)
    r = core.begin()
    assert core.outgoing(0)[0] == r.frame
    ev = core.feed(sp.encode_ack(r.seq, sp.MsgId.IDENTIFY), 5)  # used to raise here
    assert core.state == "identify" and not r.done
    assert core.counters()["reply_kind_errors"] == 1
    assert any("with ACK of 0x01" in d for d in errors(ev))
    out, _ = core.outgoing(5)  # asked again at once, not after the timeout
    assert out == r.frame and core.counters()["commands_retried"] == 1
    # an IDENTIFY_REPLY under START's tag is of the wrong kind too
    core.feed(sp.encode_identify(r.seq, IDENT), 10)
    start = core._handshake
    assert start.mid == sp.MsgId.START and core.outgoing(10)[0] == start.frame
    core.feed(sp.encode_identify(start.seq, IDENT) + sp.encode_ack(start.seq, sp.MsgId.PING), 15)
    assert core.counters()["reply_kind_errors"] == 3 and core.state == "start"
    assert core.outgoing(15)[0] == start.frame
    ev = core.feed(sp.encode_ack(start.seq, sp.MsgId.START), 20)
    assert core.state == "streaming"
    connected = [e for e in ev if isinstance(e, DeviceStatus) and e.state == "connected"]
    assert dict(connected[0].counters)["reply_kind_errors"] == 3


def test_a_bridge_that_only_ever_answers_wrongly_fails_the_handshake_after_the_retries():
    core = ScaleCore(ScaleConfig(command_retries=4), ManualClock(0))
    r = core.begin()
    sends = 0
    for t in range(0, 10_000, 10):
        out, _ = core.outgoing(t)
        if out:
            sends += 1
            core.feed(sp.encode_ack(r.seq, sp.MsgId.IDENTIFY), t + 1)
        if core.state == "failed":
            break
    assert core.state == "failed" and sends == 5
    c = core.counters()
    assert c["reply_kind_errors"] == 5 and c["commands_failed"] == 1


def test_an_identify_refused_by_ack_fails_with_the_reason():
    core = ScaleCore(ScaleConfig(), ManualClock(0))
    r = core.begin()
    core.outgoing(0)
    ev = core.feed(sp.encode_ack(r.seq, sp.MsgId.IDENTIFY, sp.AckCode.UNKNOWN_COMMAND), 5)
    assert core.state == "failed" and "refused command 0x01" in core.error
    assert any("refused" in d for d in errors(ev))


class AckFirstBridge(SimBridge):
    """Firmware that answers its first IDENTIFY with an ACK (as the bug report had it)."""

    acked = False

    def write(self, data: bytes) -> int:
        frames = sp.FrameParser().feed(data)
        if not self.acked and frames and frames[0].mid == sp.MsgId.IDENTIFY:
            self.acked = True
            self._out += sp.encode_ack(frames[0].seq, sp.MsgId.IDENTIFY)
            return len(data)
        return super().write(data)


def test_the_simulated_rig_connects_through_a_wrong_reply(monkeypatch):
    monkeypatch.setattr(sim_scale, "SimBridge", AckFirstBridge)
    s = SimScale(seed=4)  # the handshake through the real codec: no exception
    assert s.core.state == "streaming"
    s.place("a", 400.0)
    s.run_until(s.clock.now_ms() + 4000)
    c = s.core.counters()
    assert c["reply_kind_errors"] == 1 and c["commands_retried"] == 1
    assert c["samples"] > 300 and c["gaps"] == 0


def test_new_counters_travel_with_every_status_and_the_status_bar_shows_them():
    core, _ = streaming_core()
    core.feed(sample(0) + sample(0), 0)
    ev = core.feed(sample(1) + sample(0), 20)
    (st_,) = [e for e in ev if isinstance(e, DeviceStatus)]
    counters = dict(st_.counters)
    assert counters["seq_replay_errors"] == 2
    for name in NEW_COUNTERS + ("payload_errors", "gaps"):
        assert name in counters
        assert any(w in name for w in ERROR_WORDS), name


# -- properties: feed never raises, counters stay consistent ---------------------------------


def check_counters(core: ScaleCore) -> dict:
    c = core.counters()
    assert all(isinstance(v, int) and v >= 0 for v in c.values()), c
    # every frame is counted at most once among these (the rest are replies and statuses)
    used = (
        c["samples"]
        + c["seq_replay_errors"]
        + c["seq_backward_errors"]
        + c["payload_errors"]
        + c["frames_ignored"]
        + c["reply_kind_errors"]
    )
    assert used <= c["frames"], c
    assert (c["gaps"] == 0) == (c["samples_lost"] == 0) and c["gaps"] <= c["samples_lost"]
    return c


def check_times(seen: list, last_now: int) -> None:
    ts = [t for t, _ in seen]
    assert all(a < b for a, b in zip(ts, ts[1:], strict=False))
    assert not ts or ts[-1] <= last_now + len(ts)


@settings(max_examples=MANY or 300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.tuples(st.binary(max_size=120), st.integers(0, 5000)), max_size=20),
    st.sampled_from(["streaming", "identify", "idle"]),
)
def test_feed_never_raises_on_arbitrary_bytes(chunks, state):
    core, seen = streaming_core()
    if state == "identify":
        core.begin()
        core.outgoing(0)
    elif state == "idle":
        core.stop()
    now = 0
    for data, dt in chunks:
        now += dt
        core.feed(data, now)
        core.outgoing(now)
    check_counters(core)
    check_times(seen, now)


frames_st = st.one_of(
    st.builds(
        lambda s, fl, cs: sample_payload(s, fl, cs),
        st.integers(0, 65535),
        st.integers(0, 255),
        st.lists(st.integers(sp.COUNTS_MIN, sp.COUNTS_MAX), min_size=1, max_size=8),
    ),
    st.builds(sp.encode_ack, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    st.builds(sp.encode_status, st.integers(0, 255), st.integers(0, 255), st.integers(0, 65535)),
    st.builds(
        lambda s, ch: sp.encode_identify(s, sp.Identify(1, (1, 0, 0), ch, 80, 128, 24, 1, "x")),
        st.integers(0, 255),
        st.integers(1, 8),
    ),
    st.builds(
        sp.encode_command,
        st.integers(0, 255),
        st.sampled_from([sp.MsgId.IDENTIFY, sp.MsgId.START, sp.MsgId.PING]),
    ),
)


@settings(max_examples=MANY or 300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.tuples(st.binary(max_size=30), frames_st, st.integers(0, 200)), max_size=25),
    st.integers(1, 64),
)
def test_feed_never_raises_on_valid_frames_of_any_kind_in_garbage(items, step):
    core, seen = streaming_core()
    now = 0
    for garbage, frame, dt in items:
        now += dt
        data = garbage + frame
        for i in range(0, len(data), step):
            core.feed(data[i : i + step], now)
            core.outgoing(now)
    check_counters(core)
    check_times(seen, now)


# a stream from true sample indices: new samples (with gaps), replays of received ones, and
# lost ones arriving late; the expected counters follow from how it was made
op_st = st.one_of(
    st.tuples(st.just("new"), st.integers(0, 40)),
    st.tuples(st.just("replay"), st.integers(0, 9)),
    st.tuples(st.just("late"), st.integers(0, 9)),
    st.tuples(st.just("status"), st.integers(2, 255)),
    st.tuples(st.just("garbage"), st.binary(min_size=1, max_size=20)),
)


# A random search found this one: a burst of samples arriving at once after a status frame,
# whose second forward jump was judged against the anchor the burst's own first (late) sample
# had set, and dropped as "backwards".
@example(
    ops=[("new", 0), ("status", 2), ("new", 39), ("new", 40)], base=0, cuts=[1, 1, 71], delay=0
)
@settings(max_examples=MANY or 400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(op_st, min_size=1, max_size=60),
    st.integers(0, 65535),
    st.lists(st.integers(1, 90), min_size=1, max_size=8),
    st.integers(0, 30),
)
def test_replays_reorderings_and_gaps_are_each_counted_exactly(ops, base, cuts, delay):
    core, seen = streaming_core()
    stream: list[tuple[bytes, int]] = []  # (bytes, arrival ms)
    received: list[int] = []  # true indices sent as new samples
    lost: list[int] = []
    want = dict(samples=0, replays=0, late=0, gaps=0, lost=0)
    nxt = 0
    now = 0
    frames = 0
    for op, arg in ops:
        if op == "new":
            g = arg if received else 0
            lost += range(nxt, nxt + g)
            k = nxt + g
            nxt = k + 1
            now = max(now, int(k * P) + delay)
            stream.append((sample(base + k, k), now))
            received.append(k)
            want["samples"] += 1
            want["gaps"] += g > 0
            want["lost"] += g
        elif op == "replay" and received:
            k = received[-1 - arg % len(received)]
            stream.append((sample(base + k, k), now))
            want["replays"] += 1
        elif op == "late" and lost:
            k = lost[-1 - arg % len(lost)]
            stream.append((sample(base + k, k), now))
            want["late"] += 1
        elif op == "status":
            stream.append((sp.encode_status(arg, 0, 1), now))
        elif op == "garbage":
            stream.append((arg, now))
            continue
        else:
            continue
        frames += 1
    # cut the stream at arbitrary points; each piece arrives when its last byte was sent
    data = b"".join(b for b, _ in stream)
    at = np.repeat([t for _, t in stream], [len(b) for b, _ in stream])
    piece_time = np.zeros(len(data), np.int64)  # when the byte reached the core
    pos = i = 0
    while pos < len(data):
        n = cuts[i % len(cuts)]
        i += 1
        t_piece = int(at[min(pos + n, len(data)) - 1])
        piece_time[pos : pos + n] = t_piece
        core.feed(data[pos : pos + n], t_piece)
        pos += n
    c = check_counters(core)
    check_times(seen, now)
    assert c["frames"] >= 2 + frames  # the handshake's two, and every frame sent
    if c["frames"] == 2 + frames:  # (garbage did not, by chance, hold a frame of its own)
        assert c["samples"] == want["samples"]
        assert c["seq_replay_errors"] == want["replays"]
        assert c["seq_backward_errors"] == want["late"]
        assert (c["gaps"], c["samples_lost"]) == (want["gaps"], want["lost"])
        # the new samples, in order; each one's time lies between when it was taken and
        # when it reached the core
        assert [cnt[0] for _, cnt in seen] == received
        ends = np.cumsum([len(b) for b, _ in stream]) - 1
        reached = {}
        for (b, _), e in zip(stream, ends, strict=True):
            f = sp.FrameParser().feed(b)
            if f and f[0].mid == sp.MsgId.SAMPLE:
                k = sp.decode_message(f[0]).counts[0]
                reached.setdefault(k, int(piece_time[e]))
        for (t, _), k in zip(seen, received, strict=True):
            assert int(k * P) - 1 <= t <= reached[k] + len(seen)
