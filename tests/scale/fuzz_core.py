"""Coverage-guided fuzzing of ``ScaleCore.feed`` (atheris, libFuzzer). Not collected by pytest.

Run (atheris: ``.venv/bin/pip install atheris``)::

    .venv/bin/python tests/scale/fuzz_core.py -max_total_time=300 [-jobs=1] [CORPUS_DIR]

Each input is a little program for a fresh core: raw byte chunks, valid frames built from
fuzzer bytes (samples with any flags, channel count and sequence number, ACKs, IDENTIFY
replies, statuses, host commands), replays of frames sent before, clock steps, ``outgoing()``
calls and new handshakes, fed in arbitrary splits, starting streaming, mid-handshake or idle.
After every input the counters are checked (none negative, no frame counted twice, gaps and
lost samples agree) and the sample times the pipeline got must increase. Any exception is a
finding: libFuzzer stops and writes the input as ``crash-*``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris
import numpy  # noqa: F401 - imported first so that only the cart's modules are instrumented

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with atheris.instrument_imports(include=["drivers", "cart"]):
    from cart.common.clock import ManualClock
    from drivers.scale import protocol as sp
    from drivers.scale.config import ScaleConfig
    from drivers.scale.core import ScaleCore

IDENT = sp.Identify(1, (1, 0, 0), 4, 80, 128, 24, 1, "fuzz")
CFG = ScaleConfig()


def new_core(mode: int) -> tuple[ScaleCore, list]:
    core = ScaleCore(CFG, ManualClock(0))
    seen: list = []
    core.pipeline.taps.append(lambda t, c, g, f: seen.extend(t.tolist()))
    if mode == 0:
        return core, seen  # idle
    r = core.begin()
    core.outgoing(0)
    if mode == 1:
        return core, seen  # waiting for IDENTIFY_REPLY
    core.feed(sp.encode_identify(r.seq, IDENT), 0)
    start = core._handshake
    core.outgoing(0)
    core.feed(sp.encode_ack(start.seq, sp.MsgId.START), 0)
    return core, seen


def check(core: ScaleCore, seen: list, now: int) -> None:
    c = core.counters()
    assert all(isinstance(v, int) and v >= 0 for v in c.values()), c
    used = (
        c["samples"]
        + c["seq_replay_errors"]
        + c["seq_backward_errors"]
        + c["payload_errors"]
        + c["frames_ignored"]
        + c["reply_kind_errors"]
    )
    assert used <= c["frames"], c
    assert (c["gaps"] == 0) == (c["samples_lost"] == 0) and c["gaps"] <= c["samples_lost"], c
    assert c["samples"] == len(seen), (c, len(seen))
    assert all(a < b for a, b in zip(seen, seen[1:], strict=False))
    assert not seen or seen[-1] <= now + len(seen)


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    core, seen = new_core(fdp.ConsumeIntInRange(0, 2))
    now = 0
    sent: list[bytes] = []
    pending = bytearray()
    while fdp.remaining_bytes():
        op = fdp.ConsumeIntInRange(0, 11)
        if op == 0:
            pending += fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 80))
        elif op in (1, 2, 3):  # a sample frame: any sequence, flags, channel count
            ch = 4 if op != 3 else fdp.ConsumeIntInRange(1, 8)
            seq = fdp.ConsumeIntInRange(0, 65535)
            if op == 2 and sent:  # mostly near the previous one
                seq = int.from_bytes(sent[-1][3:5], "big") + fdp.ConsumeIntInRange(-3, 5)
            flags = fdp.ConsumeIntInRange(0, 255) if fdp.ConsumeBool() else 0
            payload = (seq % 65536).to_bytes(2, "big") + bytes((flags,))
            payload += fdp.ConsumeBytes(3 * ch).ljust(3 * ch, b"\0")
            sent.append(sp.encode_frame(0, sp.MsgId.SAMPLE, payload))
            pending += sent[-1]
        elif op == 4 and sent:  # a replay of something sent before
            pending += sent[fdp.ConsumeIntInRange(0, len(sent) - 1)]
        elif op == 5:
            pending += sp.encode_ack(
                fdp.ConsumeIntInRange(0, 255),
                fdp.ConsumeIntInRange(0, 255),
                fdp.ConsumeIntInRange(0, 255),
            )
        elif op == 6:
            tag = fdp.ConsumeIntInRange(0, 255)
            body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(10, 26))
            pending += sp.encode_frame(tag, sp.MsgId.IDENTIFY_REPLY, body)
        elif op == 7:
            pending += sp.encode_frame(0, sp.MsgId.STATUS, fdp.ConsumeBytes(4).ljust(4, b"\0"))
        elif op == 8:
            pending += sp.encode_frame(
                fdp.ConsumeIntInRange(0, 255),
                fdp.ConsumeIntInRange(0, 255),
                fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 58)),
            )
        elif op == 9:
            now += fdp.ConsumeIntInRange(0, 1 << fdp.ConsumeIntInRange(0, 24))
        elif op == 10:  # feed what is pending, in one piece or split
            cut = fdp.ConsumeIntInRange(0, len(pending))
            core.feed(bytes(pending[:cut]), now)
            del pending[:cut]
        else:
            out, _ = core.outgoing(now)
            if fdp.ConsumeBool() and fdp.ConsumeBool():
                core.begin()
    core.feed(bytes(pending), now)
    core.outgoing(now)
    check(core, seen, now)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
