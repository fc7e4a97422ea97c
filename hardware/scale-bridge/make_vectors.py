"""Regenerate vectors.json from the host codec: ``python hardware/scale-bridge/make_vectors.py``.

Run it only when the protocol version changes or a clarification of the specification adds
cases; the file is the golden reference that both the firmware encoder and the host codec are
tested against (tests/scale/test_protocol.py). ``rejects`` are well-framed, CRC-valid frames
that break a payload rule: every receiver counts them as payload errors and drops them.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from drivers.scale import protocol as sp  # noqa: E402 - after the path set-up above

V = []


def add(name, kind, args, frame):
    V.append({"name": name, "kind": kind, "args": args, "hex": frame.hex()})


for seq, mid in (
    (1, sp.MsgId.IDENTIFY),
    (2, sp.MsgId.START),
    (3, sp.MsgId.STOP),
    (255, sp.MsgId.PING),
):
    add(
        f"command {mid.name}", "command", {"seq": seq, "mid": int(mid)}, sp.encode_command(seq, mid)
    )
add("ack ok", "ack", {"seq": 2, "command": 2, "code": 0}, sp.encode_ack(2, 2, 0))
add("ack unknown", "ack", {"seq": 9, "command": 0x33, "code": 1}, sp.encode_ack(9, 0x33, 1))
ident = {
    "firmware": [1, 0, 0],
    "channels": 4,
    "rate_sps": 80,
    "gain": 128,
    "adc_bits": 24,
    "capabilities": 1,
    "name": "cart-scale",
}
add(
    "identify reply",
    "identify",
    {"seq": 1, **ident},
    sp.encode_identify(1, sp.Identify(1, (1, 0, 0), 4, 80, 128, 24, 1, "cart-scale")),
)
samples = [
    (0, 0, [0, 0, 0, 0]),
    (1, 0, [1, -1, 8388607, -8388608]),
    (0x7E7E, 0, [0x7E7E7E, 0x7E, -0x7E, 126]),  # SYNC bytes inside the payload
    (65535, 0b0101, [123456, -654321, 42, -42]),
    (300, 0, [5000000]),
]
for seq, flags, counts in samples:
    add(
        f"sample seq={seq}",
        "sample",
        {"seq": seq, "flags": flags, "counts": counts},
        sp.encode_sample(seq, flags, counts),
    )
for code, ch, value in ((1, 0, 3), (2, 2, 150), (3, 0, 17), (4, 3, 0), (5, 0, 65535)):
    add(
        f"status {code}",
        "status",
        {"code": code, "channel": ch, "value": value},
        sp.encode_status(code, ch, value),
    )

# well framed and CRC-valid, but not a valid message: every receiver counts them as payload
# errors and drops them
R = []


def reject(name, frame, reason):
    R.append({"name": name, "reason": reason, "hex": frame.hex()})


def sample_payload(seq, flags, counts):
    return bytes((seq >> 8, seq & 0xFF, flags)) + b"".join(
        (c & 0xFFFFFF).to_bytes(3, "big") for c in counts
    )


reject(
    "sample reserved flag bit 4",
    sp.encode_frame(0, sp.MsgId.SAMPLE, sample_payload(7, 0x10, [1, 2, 3, 4])),
    "reserved flag bits set (4 channels: bits 4..7)",
)
reject(
    "sample reserved flag bit 7",
    sp.encode_frame(0, sp.MsgId.SAMPLE, sample_payload(8, 0x81, [1, 2, 3, 4])),
    "reserved flag bits set (4 channels: bits 4..7)",
)
reject(
    "one-channel sample flag bit 1",
    sp.encode_frame(0, sp.MsgId.SAMPLE, sample_payload(9, 0x02, [5])),
    "reserved flag bits set (1 channel: bits 1..7)",
)
reject(
    "identify reply 9 channels",
    sp.encode_frame(1, sp.MsgId.IDENTIFY_REPLY, bytes((1, 1, 0, 0, 9, 0, 80, 128, 24, 1))),
    "channels outside 1..8",
)
reject(
    "identify reply name not printable",
    sp.encode_frame(
        1, sp.MsgId.IDENTIFY_REPLY, bytes((1, 1, 0, 0, 4, 0, 80, 128, 24, 1)) + b"ab\x07"
    ),
    "name not printable ASCII",
)

out = Path(__file__).with_name("vectors.json")
out.write_text(
    json.dumps(
        {
            "protocol": sp.PROTOCOL_VERSION,
            "crc": "CRC-16/CCITT-FALSE poly 0x1021 init 0xFFFF; check('123456789') = 0x29B1",
            "crc_check": {"ascii": "123456789", "crc": sp.crc16(b"123456789")},
            "vectors": V,
            "rejects": R,
        },
        indent=1,
    )
    + "\n"
)
print(f"wrote {len(V)} vectors and {len(R)} rejects to {out}")
