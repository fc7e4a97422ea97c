# Scale bridge wire format, bridge side (MicroPython and CPython).
# The specification is ../PROTOCOL.md; the host side is drivers/scale/protocol.py. Both are
# checked against ../vectors.json. Kept free of CPython-only modules so it runs on an RP2040.

SYNC = 0x7E
MIN_FRAME = 6
MAX_FRAME = 64

# message ids
IDENTIFY = 0x01
START = 0x02
STOP = 0x03
PING = 0x04
ACK = 0x80
IDENTIFY_REPLY = 0x81
SAMPLE = 0x90
STATUS = 0x91

# ack codes
OK = 0
UNKNOWN_COMMAND = 1
BAD_PAYLOAD = 2

# status codes
ST_BOOT = 1
ST_ADC_NOT_READY = 2
ST_OVERFLOW = 3
ST_SATURATED = 4
ST_RX_ERROR = 5

PROTOCOL_VERSION = 1


def _make_table():
    t = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        t.append(c & 0xFFFF)
    return t


_TABLE = _make_table()


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, MSB first, no final xor."""
    t = _TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ b) & 0xFF]
    return crc


def encode_frame(seq, mid, payload=b""):
    n = len(payload) + MIN_FRAME
    if n > MAX_FRAME:
        raise ValueError("payload too long")
    f = bytearray(n)
    f[0] = n
    f[1] = seq & 0xFF
    f[2] = mid
    f[3 : 3 + len(payload)] = payload
    c = crc16(memoryview(f)[: n - 3])
    f[n - 3] = c >> 8
    f[n - 2] = c & 0xFF
    f[n - 1] = SYNC
    return bytes(f)


def encode_sample(seq, flags, counts):
    # flag bit c: channel c is stale; the bits above the channel count are reserved (zero)
    if flags < 0 or flags >> len(counts):
        raise ValueError("reserved flag bits set")
    p = bytearray(3 + 3 * len(counts))
    p[0] = (seq >> 8) & 0xFF
    p[1] = seq & 0xFF
    p[2] = flags
    i = 3
    for c in counts:
        if c < -0x800000 or c > 0x7FFFFF:
            raise ValueError("count outside 24 bits")
        c &= 0xFFFFFF
        p[i] = c >> 16
        p[i + 1] = (c >> 8) & 0xFF
        p[i + 2] = c & 0xFF
        i += 3
    return encode_frame(0, SAMPLE, p)


def encode_ack(seq, command, code=OK):
    return encode_frame(seq, ACK, bytes((command, code)))


def encode_status(code, channel=0, value=0):
    value = min(max(value, 0), 0xFFFF)
    return encode_frame(0, STATUS, bytes((code, channel, value >> 8, value & 0xFF)))


def encode_identify(seq, firmware, channels, rate_sps, gain, adc_bits, caps, name):
    nb = name.encode()
    if len(nb) > 16:
        raise ValueError("name too long")
    p = (
        bytes(
            (
                PROTOCOL_VERSION,
                firmware[0],
                firmware[1],
                firmware[2],
                channels,
                rate_sps >> 8,
                rate_sps & 0xFF,
                gain,
                adc_bits,
                caps,
            )
        )
        + nb
    )
    return encode_frame(seq, IDENTIFY_REPLY, p)


class CommandParser:
    """Host command frames in (all payload-free, 6 bytes). Bad bytes are skipped and counted."""

    def __init__(self):
        self.buf = bytearray()
        self.rx_errors = 0

    def feed(self, data):
        """Returns a list of (seq, mid) for every valid frame."""
        buf = self.buf
        buf.extend(data)
        out = []
        while len(buf) >= MIN_FRAME:
            if buf[0] == MIN_FRAME and buf[5] == SYNC:
                c = crc16(memoryview(buf)[:3])
                if c == (buf[3] << 8 | buf[4]):
                    out.append((buf[1], buf[2]))
                    buf[:] = buf[MIN_FRAME:]
                    continue
            # resynchronise: drop up to the next plausible frame start
            self.rx_errors += 1
            i = 1
            while i < len(buf) and buf[i] != MIN_FRAME:
                i += 1
            buf[:] = buf[i:]
        if len(buf) > 64:
            buf[:] = buf[-MIN_FRAME:]
        return out
