"""Wire codec for the scale bridge (hardware/scale-bridge/PROTOCOL.md is the specification).

Every frame, in both directions::

    LEN  SEQ  MID  PAYLOAD...  CRC_HI  CRC_LO  SYNC
    LEN   total frame length in bytes, 6..64 (header 3 + payload + CRC 2 + SYNC 1)
    SEQ   request tag: the host numbers its commands 1..255, the bridge echoes the tag in the
          reply; frames the bridge sends on its own (samples, status) carry 0
    MID   message id (``MsgId``)
    CRC   CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over LEN..PAYLOAD, big-endian
    SYNC  0x7E

The parser (``FrameParser``) never raises on input bytes. It answers "need more bytes",
"bad frame, resynchronise" or "frame of N bytes" at the head of its buffer; when the head is bad
it searches forward for the first complete, CRC-valid frame (anchored on the SYNC byte that ends
it), so a valid frame is recovered however much garbage precedes it. Message payloads are then
checked against their message id (``decode_message``); a frame whose payload does not fit its
id is counted and dropped.

Sample frames are fixed length, so blocks of them are encoded and decoded with numpy
(``encode_samples``, ``decode_samples``), which the simulator and the fast in-process path use;
the scalar and block paths are checked against each other and against
``hardware/scale-bridge/vectors.json``.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np

SYNC = 0x7E
HEADER_LEN = 3
TRAILER_LEN = 3
MIN_FRAME = HEADER_LEN + TRAILER_LEN
MAX_FRAME = 64
MAX_PAYLOAD = MAX_FRAME - MIN_FRAME
PROTOCOL_VERSION = 1
MAX_CHANNELS = 8
COUNTS_MIN = -(1 << 23)
COUNTS_MAX = (1 << 23) - 1


class MsgId(IntEnum):
    # host -> bridge
    IDENTIFY = 0x01
    START = 0x02
    STOP = 0x03
    PING = 0x04
    # bridge -> host
    ACK = 0x80
    IDENTIFY_REPLY = 0x81
    SAMPLE = 0x90
    STATUS = 0x91


class AckCode(IntEnum):
    OK = 0
    UNKNOWN_COMMAND = 1
    BAD_PAYLOAD = 2
    BUSY = 3


class StatusCode(IntEnum):
    BOOT = 1  # the bridge (re)started; value = reset cause
    ADC_NOT_READY = 2  # channel's DOUT stayed high past its deadline; value = ms waited
    OVERFLOW = 3  # transmit buffer full, samples dropped; value = samples dropped
    SATURATED = 4  # channel at the ADC rail; value = 0
    RX_ERROR = 5  # bridge discarded a bad command frame; value = count so far


# Sample flag bits (one byte): bit c set = channel c's value is stale (ADC not ready this
# period; the previous value is repeated). The bits above the frame's channel count (bits 4..7
# with four channels) are reserved and must be zero in version 1: a frame with one set is a
# payload error.
FLAG_STALE_MASK = 0x0F


def reserved_flags(channels: int) -> int:
    """The sample flag bits that must be zero in a frame of ``channels`` channels."""
    return 0xFF & ~((1 << channels) - 1)


def crc16(data: bytes | bytearray | memoryview, init: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor)."""
    return binascii.crc_hqx(data, init)


class ProtocolError(ValueError):
    """A frame or payload that breaks the protocol; the message names what is wrong."""


class Frame(NamedTuple):
    seq: int
    mid: int
    payload: bytes


# payload lengths per message id: (min, max)
_PAYLOAD_LEN: dict[int, tuple[int, int]] = {
    MsgId.IDENTIFY: (0, 0),
    MsgId.START: (0, 0),
    MsgId.STOP: (0, 0),
    MsgId.PING: (0, 0),
    MsgId.ACK: (2, 2),
    MsgId.IDENTIFY_REPLY: (10, 10 + 16),
    MsgId.SAMPLE: (3 + 3, 3 + 3 * MAX_CHANNELS),
    MsgId.STATUS: (4, 4),
}


def _payload_ok(mid: int, n: int) -> bool:
    lim = _PAYLOAD_LEN.get(mid)
    if lim is None:
        return False
    if mid == MsgId.SAMPLE and (n - 3) % 3:
        return False
    return lim[0] <= n <= lim[1]


def encode_frame(seq: int, mid: int, payload: bytes = b"") -> bytes:
    if not 0 <= seq <= 255:
        raise ProtocolError(f"sequence tag {seq} outside 0..255")
    if not 0 <= mid <= 255:
        raise ProtocolError(f"message id {mid} outside 0..255")
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes((len(payload) + MIN_FRAME, seq, mid)) + bytes(payload)
    return body + crc16(body).to_bytes(2, "big") + bytes((SYNC,))


# ---------------------------------------------------------------------------------------------
# messages


@dataclass(frozen=True, slots=True)
class Identify:
    protocol: int
    firmware: tuple[int, int, int]
    channels: int
    rate_sps: int
    gain: int
    adc_bits: int
    capabilities: int
    name: str

    @property
    def firmware_version(self) -> str:
        return ".".join(map(str, self.firmware))


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int
    command: int
    code: int


@dataclass(frozen=True, slots=True)
class Sample:
    seq: int  # 16-bit sample sequence
    flags: int
    counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Status:
    code: int
    channel: int
    value: int


@dataclass(frozen=True, slots=True)
class Command:
    seq: int
    mid: int


Message = Identify | Ack | Sample | Status | Command

_CAP_NAME_RE = bytes(range(0x20, 0x7F))


def encode_command(seq: int, mid: int) -> bytes:
    if mid not in (MsgId.IDENTIFY, MsgId.START, MsgId.STOP, MsgId.PING):
        raise ProtocolError(f"0x{mid:02x} is not a host command")
    return encode_frame(seq, mid)


def encode_ack(seq: int, command: int, code: int = AckCode.OK) -> bytes:
    return encode_frame(seq, MsgId.ACK, bytes((command, code)))


def encode_identify(seq: int, ident: Identify) -> bytes:
    name = ident.name.encode("ascii")
    if len(name) > 16 or any(c not in _CAP_NAME_RE for c in name):
        raise ProtocolError("bridge name must be at most 16 printable ASCII characters")
    payload = struct.pack(
        ">BBBBBHBBB",
        ident.protocol,
        *ident.firmware,
        ident.channels,
        ident.rate_sps,
        ident.gain,
        ident.adc_bits,
        ident.capabilities,
    )
    return encode_frame(seq, MsgId.IDENTIFY_REPLY, payload + name)


def encode_status(code: int, channel: int = 0, value: int = 0) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise ProtocolError(f"status value {value} outside 0..65535")
    return encode_frame(0, MsgId.STATUS, struct.pack(">BBH", code, channel, value))


def encode_sample(seq: int, flags: int, counts) -> bytes:
    counts = list(counts)
    if not 1 <= len(counts) <= MAX_CHANNELS:
        raise ProtocolError(f"{len(counts)} channels; 1..{MAX_CHANNELS} allowed")
    if not 0 <= flags <= 0xFF or flags & reserved_flags(len(counts)):
        raise ProtocolError(
            f"sample flags 0x{flags:02x} set reserved bits for {len(counts)} channels"
        )
    out = bytearray(struct.pack(">HB", seq & 0xFFFF, flags))
    for c in counts:
        if not COUNTS_MIN <= c <= COUNTS_MAX:
            raise ProtocolError(f"count {c} outside the 24-bit range")
        out += (c & 0xFFFFFF).to_bytes(3, "big")
    return encode_frame(0, MsgId.SAMPLE, bytes(out))


def decode_message(frame: Frame) -> Message:
    """Interpret a frame's payload; ``ProtocolError`` names what does not fit."""
    mid, p = frame.mid, frame.payload
    if not _payload_ok(mid, len(p)):
        raise ProtocolError(f"message 0x{mid:02x} with a {len(p)}-byte payload is not valid")
    if mid == MsgId.SAMPLE:
        seq, flags = struct.unpack_from(">HB", p)
        counts = tuple(
            int.from_bytes(p[i : i + 3], "big", signed=True) for i in range(3, len(p), 3)
        )
        if flags & reserved_flags(len(counts)):
            raise ProtocolError(
                f"sample flags 0x{flags:02x} set reserved bits for {len(counts)} channels"
            )
        return Sample(seq, flags, counts)
    if mid == MsgId.ACK:
        return Ack(frame.seq, p[0], p[1])
    if mid == MsgId.STATUS:
        code, channel, value = struct.unpack(">BBH", p)
        return Status(code, channel, value)
    if mid == MsgId.IDENTIFY_REPLY:
        proto, ma, mi, pa, ch, rate, gain, bits, caps = struct.unpack_from(">BBBBBHBBB", p)
        raw = p[10:]
        if any(c not in _CAP_NAME_RE for c in raw):
            raise ProtocolError("bridge name holds non-printable bytes")
        if not 1 <= ch <= MAX_CHANNELS:
            raise ProtocolError(f"bridge reports {ch} channels; 1..{MAX_CHANNELS} allowed")
        return Identify(proto, (ma, mi, pa), ch, rate, gain, bits, caps, raw.decode("ascii"))
    return Command(frame.seq, mid)


# ---------------------------------------------------------------------------------------------
# parser


class FrameParser:
    """Byte stream in, frames out. Never raises on input; counts what it throws away."""

    __slots__ = ("_buf", "bytes_discarded", "crc_errors", "frames")

    def __init__(self) -> None:
        self._buf = bytearray()
        self.frames = 0
        self.crc_errors = 0
        self.bytes_discarded = 0

    @property
    def pending(self) -> int:
        return len(self._buf)

    def reset(self) -> None:
        self.bytes_discarded += len(self._buf)
        self._buf.clear()

    def _valid_at(self, s: int, n: int) -> bool:
        buf = self._buf
        return (
            buf[s + n - 1] == SYNC
            and _payload_ok(buf[s + 2], n - MIN_FRAME)
            and binascii.crc_hqx(memoryview(buf)[s : s + n - 3], 0xFFFF)
            == (buf[s + n - 3] << 8 | buf[s + n - 2])
        )

    def _search(self, start: int) -> tuple[int, int] | None:
        """First complete valid frame beginning after ``start`` (earliest end wins)."""
        buf = self._buf
        j = buf.find(SYNC, start + MIN_FRAME)
        while j >= 0:
            for n in range(MIN_FRAME, min(MAX_FRAME, j - start) + 1):
                s = j - n + 1
                if buf[s] == n and self._valid_at(s, n):
                    return s, n
            j = buf.find(SYNC, j + 1)
        return None

    def take_samples(self, data: bytes, frame_len: int) -> np.ndarray | None:
        """Fast path for a stream of sample frames: appends ``data`` and returns the payload
        rows (uint8 [n, frame_len - 6]) of the valid sample frames at the head of the buffer,
        checked exactly as ``feed`` checks them. Whatever follows (other frames, garbage, a
        partial frame) stays buffered for ``feed``."""
        buf = self._buf
        buf += data
        m = len(buf) // frame_len
        if m == 0 or buf[0] != frame_len:
            return None
        a = np.frombuffer(memoryview(buf)[: m * frame_len], dtype=np.uint8).reshape(m, frame_len)
        ok = (a[:, 0] == frame_len) & (a[:, 2] == MsgId.SAMPLE) & (a[:, -1] == SYNC)
        bad = np.flatnonzero(~ok)
        m = int(bad[0]) if len(bad) else m
        if m == 0:
            return None
        mv = memoryview(buf)
        crc = binascii.crc_hqx
        good = 0
        for i in range(0, m * frame_len, frame_len):
            if crc(mv[i : i + frame_len - 3], 0xFFFF) != (
                buf[i + frame_len - 3] << 8 | buf[i + frame_len - 2]
            ):
                break
            good += 1
        del mv
        if good == 0:
            return None
        rows = a[:good, 3 : frame_len - 3].copy()
        del a
        del buf[: good * frame_len]
        self.frames += good
        return rows

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        buf = self._buf
        buf += data
        out: list[Frame] = []
        pos = 0
        end = len(buf)
        crc = binascii.crc_hqx
        while pos < end:
            n = buf[pos]
            avail = end - pos
            if MIN_FRAME <= n <= MAX_FRAME:
                if avail >= n:
                    if buf[pos + n - 1] == SYNC and _payload_ok(buf[pos + 2], n - MIN_FRAME):
                        if crc(memoryview(buf)[pos : pos + n - 3], 0xFFFF) == (
                            buf[pos + n - 3] << 8 | buf[pos + n - 2]
                        ):
                            out.append(
                                Frame(buf[pos + 1], buf[pos + 2], bytes(buf[pos + 3 : pos + n - 3]))
                            )
                            pos += n
                            self.frames += 1
                            continue
                        # well-framed, known id and length, wrong checksum
                        self.crc_errors += 1
                elif avail < 3 or _payload_ok(buf[pos + 2], n - MIN_FRAME):
                    # plausible frame still arriving, unless a complete frame follows it
                    found = self._search(pos)
                    if found is None:
                        break
                    self.bytes_discarded += found[0] - pos
                    pos = found[0]
                    continue
            # bad head: skip to the next complete valid frame, or keep a possible prefix
            found = self._search(pos)
            if found is None:
                keep = max(pos + 1, end - (MAX_FRAME - 1))
                # keep only from a byte that could start a frame
                while keep < end and not MIN_FRAME <= buf[keep] <= MAX_FRAME:
                    keep += 1
                self.bytes_discarded += keep - pos
                pos = keep
                continue
            self.bytes_discarded += found[0] - pos
            pos = found[0]
        del buf[:pos]
        return out


# ---------------------------------------------------------------------------------------------
# sample blocks (numpy)

_CRC_TABLE = np.array(
    [binascii.crc_hqx(bytes((i,)), 0) for i in range(256)], dtype=np.uint16
)  # table[i] = crc of byte i from 0, i.e. the standard MSB-first table


def sample_frame_len(channels: int) -> int:
    return MIN_FRAME + 3 + 3 * channels


def _crc_rows(rows: np.ndarray) -> np.ndarray:
    crc = np.full(rows.shape[0], 0xFFFF, dtype=np.uint16)
    for k in range(rows.shape[1]):
        idx = ((crc >> 8) ^ rows[:, k]).astype(np.uint8)
        crc = (crc << 8) ^ _CRC_TABLE[idx]
    return crc


def encode_samples(seq: np.ndarray, flags: np.ndarray, counts: np.ndarray) -> bytes:
    """Encode n sample frames at once; identical bytes to ``encode_sample`` per row."""
    counts = np.asarray(counts)
    n, ch = counts.shape
    if not 1 <= ch <= MAX_CHANNELS:
        raise ProtocolError(f"{ch} channels; 1..{MAX_CHANNELS} allowed")
    if n and (counts.min() < COUNTS_MIN or counts.max() > COUNTS_MAX):
        raise ProtocolError("count outside the 24-bit range")
    flags = np.asarray(flags, dtype=np.int64)
    if n and (flags.min() < 0 or flags.max() > 0xFF or np.any(flags & reserved_flags(ch))):
        raise ProtocolError(f"sample flags set reserved bits for {ch} channels")
    flen = sample_frame_len(ch)
    rows = np.empty((n, flen), dtype=np.uint8)
    rows[:, 0] = flen
    rows[:, 1] = 0
    rows[:, 2] = MsgId.SAMPLE
    seq = np.asarray(seq, dtype=np.int64) & 0xFFFF
    rows[:, 3] = seq >> 8
    rows[:, 4] = seq & 0xFF
    rows[:, 5] = np.asarray(flags, dtype=np.uint8)
    c = counts.astype(np.int64) & 0xFFFFFF
    rows[:, 6 : 6 + 3 * ch : 3] = c >> 16
    rows[:, 7 : 7 + 3 * ch : 3] = (c >> 8) & 0xFF
    rows[:, 8 : 8 + 3 * ch : 3] = c & 0xFF
    if n > 16:
        flat = rows.reshape(-1)
        mv = flat.data  # a memoryview of the frames' bytes
        crc = np.fromiter(
            (binascii.crc_hqx(mv[i : i + flen - 3], 0xFFFF) for i in range(0, n * flen, flen)),
            dtype=np.uint16,
            count=n,
        )
    else:
        crc = _crc_rows(rows[:, : flen - 3])
    rows[:, flen - 3] = crc >> 8
    rows[:, flen - 2] = crc & 0xFF
    rows[:, flen - 1] = SYNC
    return rows.tobytes()


# A block of samples as arrays: (seq uint16[n], flags uint8[n], counts int32[n, channels]).
SampleArrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def decode_sample_rows(a: np.ndarray, channels: int) -> SampleArrays:
    """Payload rows (uint8 [n, 3 + 3 * channels]) -> (seq, flags, counts)."""
    n = a.shape[0]
    seq = (a[:, 0].astype(np.uint16) << 8) | a[:, 1]
    flags = a[:, 2].copy()
    b = a[:, 3:].reshape(n, channels, 3).astype(np.int32)
    counts = (b[:, :, 0] << 16) | (b[:, :, 1] << 8) | b[:, :, 2]
    counts = np.where(counts >= 1 << 23, counts - (1 << 24), counts).astype(np.int32)
    return seq, flags, counts


def decode_samples(payloads: list[bytes], channels: int) -> SampleArrays:
    """Sample payloads (all of one channel count) -> (seq uint16[n], flags uint8[n],
    counts int32[n, channels]). Payloads of another length raise ``ProtocolError``."""
    plen = 3 + 3 * channels
    n = len(payloads)
    if n == 0:
        return (
            np.zeros(0, np.uint16),
            np.zeros(0, np.uint8),
            np.zeros((0, channels), np.int32),
        )
    raw = b"".join(payloads)
    if len(raw) != n * plen:
        raise ProtocolError(f"sample payloads do not all hold {channels} channels")
    a = np.frombuffer(raw, dtype=np.uint8).reshape(n, plen)
    seq = (a[:, 0].astype(np.uint16) << 8) | a[:, 1]
    flags = a[:, 2].copy()
    b = a[:, 3:].reshape(n, channels, 3).astype(np.int32)
    counts = (b[:, :, 0] << 16) | (b[:, :, 1] << 8) | b[:, :, 2]
    counts = np.where(counts >= 1 << 23, counts - (1 << 24), counts).astype(np.int32)
    return seq, flags, counts
