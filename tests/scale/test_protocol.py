import contextlib
import json
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from drivers.scale import protocol as sp

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "hardware" / "scale-bridge" / "vectors.json").read_text()
)


def test_crc_check_value():
    assert sp.crc16(b"123456789") == 0x29B1 == VECTORS["crc_check"]["crc"]


def _host_encode(v):
    a = v["args"]
    k = v["kind"]
    if k == "command":
        return sp.encode_command(a["seq"], a["mid"])
    if k == "ack":
        return sp.encode_ack(a["seq"], a["command"], a["code"])
    if k == "identify":
        return sp.encode_identify(
            a["seq"],
            sp.Identify(
                1,
                tuple(a["firmware"]),
                a["channels"],
                a["rate_sps"],
                a["gain"],
                a["adc_bits"],
                a["capabilities"],
                a["name"],
            ),
        )
    if k == "sample":
        return sp.encode_sample(a["seq"], a["flags"], a["counts"])
    return sp.encode_status(a["code"], a["channel"], a["value"])


def test_host_codec_matches_vectors():
    for v in VECTORS["vectors"]:
        raw = bytes.fromhex(v["hex"])
        assert _host_encode(v) == raw, v["name"]
        frames = sp.FrameParser().feed(raw)
        assert len(frames) == 1, v["name"]
        msg = sp.decode_message(frames[0])
        a = v["args"]
        if v["kind"] == "sample":
            assert msg == sp.Sample(a["seq"], a["flags"], tuple(a["counts"]))
        elif v["kind"] == "status":
            assert msg == sp.Status(a["code"], a["channel"], a["value"])
        elif v["kind"] == "ack":
            assert msg == sp.Ack(a["seq"], a["command"], a["code"])
        elif v["kind"] == "identify":
            assert msg.name == a["name"] and msg.channels == a["channels"]
            assert msg.firmware_version == "1.0.0" and msg.rate_sps == 80


def test_firmware_encoder_matches_vectors(firmware):
    p = firmware.proto
    assert p.crc16(b"123456789") == 0x29B1
    for v in VECTORS["vectors"]:
        a, k = v["args"], v["kind"]
        if k == "command":
            got = p.encode_frame(a["seq"], a["mid"])
        elif k == "ack":
            got = p.encode_ack(a["seq"], a["command"], a["code"])
        elif k == "identify":
            got = p.encode_identify(
                a["seq"],
                a["firmware"],
                a["channels"],
                a["rate_sps"],
                a["gain"],
                a["adc_bits"],
                a["capabilities"],
                a["name"],
            )
        elif k == "sample":
            got = p.encode_sample(a["seq"], a["flags"], a["counts"])
        else:
            got = p.encode_status(a["code"], a["channel"], a["value"])
        assert got.hex() == v["hex"], v["name"]


def test_block_encoder_equals_scalar_and_decodes_back():
    rng = np.random.default_rng(0)
    counts = rng.integers(sp.COUNTS_MIN, sp.COUNTS_MAX + 1, (50, 4))
    seq = np.arange(65500, 65550) & 0xFFFF
    flags = rng.integers(0, 16, 50)
    block = sp.encode_samples(seq, flags, counts)
    scalar = b"".join(
        sp.encode_sample(int(s), int(f), c.tolist())
        for s, f, c in zip(seq, flags, counts, strict=True)
    )
    assert block == scalar
    frames = sp.FrameParser().feed(block)
    s2, f2, c2 = sp.decode_samples([f.payload for f in frames], 4)
    assert (s2 == seq).all() and (f2 == flags).all() and (c2 == counts).all()


frame_st = st.one_of(
    st.builds(
        lambda s, f, c: sp.encode_sample(s, f & ((1 << len(c)) - 1), c),
        st.integers(0, 65535),
        st.integers(0, 15),
        st.lists(st.integers(sp.COUNTS_MIN, sp.COUNTS_MAX), min_size=1, max_size=8),
    ),
    st.builds(
        lambda s, c, k: sp.encode_ack(s, c, k),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 255),
    ),
    st.builds(
        lambda c, ch, v: sp.encode_status(c, ch, v),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 65535),
    ),
)


@given(st.binary(max_size=600), st.lists(st.integers(1, 64), max_size=10))
def test_any_bytes_never_crash_the_parser(data, cuts):
    p = sp.FrameParser()
    pos = 0
    for c in cuts + [len(data)]:
        for f in p.feed(data[pos : pos + c]):
            with contextlib.suppress(sp.ProtocolError):
                sp.decode_message(f)
        pos += c
    assert p.pending <= max(len(data), sp.MAX_FRAME)


@given(
    st.lists(st.tuples(st.binary(max_size=40), frame_st), min_size=1, max_size=8),
    st.binary(max_size=40),
    st.integers(1, 50),
)
def test_valid_frames_in_garbage_are_all_recovered(chunks, tail, step):
    stream = b"".join(g + f for g, f in chunks) + tail
    want = [f for _, f in chunks]
    p = sp.FrameParser()
    got = []
    for i in range(0, len(stream), step):
        got += p.feed(stream[i : i + step])
    encoded = [sp.encode_frame(f.seq, f.mid, f.payload) for f in got]
    # every valid frame comes out, in order (garbage may, very rarely, hold a frame of its own)
    it = iter(encoded)
    assert all(any(w == e for e in it) for w in want)


@given(frame_st, st.integers(0, 10_000), st.integers(0, 7))
def test_corrupted_frames_are_rejected(frame, where, bit):
    bad = bytearray(frame)
    bad[where % len(bad)] ^= 1 << bit
    p = sp.FrameParser()
    got = p.feed(bytes(bad)) + p.feed(b"")
    assert all(sp.encode_frame(f.seq, f.mid, f.payload) == frame for f in got) is True
    assert not [f for f in got if sp.encode_frame(f.seq, f.mid, f.payload) != frame]
    assert got == []


def test_payload_checked_against_message_id():
    f = sp.Frame(0, sp.MsgId.IDENTIFY_REPLY, b"\x01\x01\x00\x00\x09\x00\x50\x80\x18\x01")
    try:
        sp.decode_message(f)
    except sp.ProtocolError as e:
        assert "channels" in str(e)
    else:
        raise AssertionError("9 channels accepted")


def test_reject_vectors_are_well_framed_but_payload_errors_for_host_and_core():
    from cart.common.clock import ManualClock
    from drivers.scale.config import ScaleConfig
    from drivers.scale.core import ScaleCore

    assert len(VECTORS["rejects"]) >= 5
    for v in VECTORS["rejects"]:
        raw = bytes.fromhex(v["hex"])
        frames = sp.FrameParser().feed(raw)
        assert len(frames) == 1, v["name"]  # CRC and length are fine
        try:
            sp.decode_message(frames[0])
        except sp.ProtocolError:
            pass
        else:
            raise AssertionError(f"{v['name']} accepted")
        core = ScaleCore(ScaleConfig(), ManualClock(0))
        core.feed(raw, 0)
        assert core.counters()["payload_errors"] == 1, v["name"]


def test_firmware_encoder_refuses_reserved_flag_bits(firmware):
    p = firmware.proto
    assert p.encode_sample(1, 0x0F, [0, 0, 0, 0]) == sp.encode_sample(1, 0x0F, [0, 0, 0, 0])
    for flags, counts in ((0x10, [0, 0, 0, 0]), (0x80, [0, 0, 0, 0]), (0x02, [0])):
        try:
            p.encode_sample(1, flags, counts)
        except ValueError:
            pass
        else:
            raise AssertionError(f"flags 0x{flags:02x} with {len(counts)} channels encoded")
