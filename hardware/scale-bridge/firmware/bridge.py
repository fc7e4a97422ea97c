# Scale bridge logic: commands in, sample/status frames out. Hardware-free (ADCs and the clock
# are passed in), so the host test suite runs it under CPython with a fake `machine`.

import proto

FIRMWARE = (1, 0, 0)
NAME = "cart-scale"
CAPS = 0x01  # bit 0: stale-channel flags in sample frames
RATE_SPS = 80
GAIN = 128
ADC_BITS = 24
NOT_READY_MS = 100  # > 8 periods at 80 SPS (datasheet: 12.5 ms per conversion)
TX_LIMIT = 2048  # bytes queued for the host before samples are dropped
SAT_HI = 0x7FFFFF
SAT_LO = -0x800000


class Bridge:
    def __init__(self, adcs, ticks_ms, reset_cause=0, ticks_diff=None):
        self.adcs = adcs
        self.ticks_ms = ticks_ms
        # MicroPython's ticks wrap: pass time.ticks_diff there
        self.diff = ticks_diff or (lambda a, b: a - b)
        self.parser = proto.CommandParser()
        self.tx = bytearray()
        self.streaming = False
        self.seq = 0
        self.last = [0] * len(adcs)
        self.fresh = [False] * len(adcs)
        self.last_ready = [ticks_ms()] * len(adcs)
        self.not_ready_sent = [False] * len(adcs)
        self.dropped = 0
        self.reported_rx_errors = 0
        self._queue(proto.encode_status(proto.ST_BOOT, 0, reset_cause))

    # -- output -------------------------------------------------------------------------
    def _queue(self, frame, droppable=False):
        if droppable and len(self.tx) + len(frame) > TX_LIMIT:
            self.dropped += 1
            return False
        self.tx.extend(frame)
        return True

    def take_tx(self, limit=None):
        """Bytes ready for the USB port (all, or at most `limit`)."""
        n = len(self.tx) if limit is None else min(limit, len(self.tx))
        out = bytes(self.tx[:n])
        self.tx[:] = self.tx[n:]
        return out

    # -- commands -----------------------------------------------------------------------
    def receive(self, data):
        for seq, mid in self.parser.feed(data):
            self._command(seq, mid)
        if self.parser.rx_errors != self.reported_rx_errors:
            self.reported_rx_errors = self.parser.rx_errors
            self._queue(proto.encode_status(proto.ST_RX_ERROR, 0, self.parser.rx_errors))

    def _command(self, seq, mid):
        if mid == proto.IDENTIFY:
            self._queue(
                proto.encode_identify(
                    seq, FIRMWARE, len(self.adcs), RATE_SPS, GAIN, ADC_BITS, CAPS, NAME
                )
            )
        elif mid == proto.START:
            if not self.streaming:
                self.streaming = True
                self.fresh = [False] * len(self.adcs)
            self._queue(proto.encode_ack(seq, mid))
        elif mid == proto.STOP:
            self.streaming = False
            self._queue(proto.encode_ack(seq, mid))
        elif mid == proto.PING:
            self._queue(proto.encode_ack(seq, mid))
        else:
            self._queue(proto.encode_ack(seq, mid, proto.UNKNOWN_COMMAND))

    # -- sampling -----------------------------------------------------------------------
    def poll(self):
        """Read every ready ADC; emit one sample frame per conversion of channel 0."""
        now = self.ticks_ms()
        frame_due = False
        for i, adc in enumerate(self.adcs):
            if adc.ready():
                v = adc.read()
                self.last[i] = v
                self.fresh[i] = True
                self.last_ready[i] = now
                self.not_ready_sent[i] = False
                if i == 0:
                    frame_due = True
                if v >= SAT_HI or v <= SAT_LO:
                    self._queue(proto.encode_status(proto.ST_SATURATED, i, 0), True)
            elif self.diff(now, self.last_ready[i]) > NOT_READY_MS and not self.not_ready_sent[i]:
                self.not_ready_sent[i] = True
                self._queue(
                    proto.encode_status(
                        proto.ST_ADC_NOT_READY, i, self.diff(now, self.last_ready[i])
                    )
                )
                if i == 0:
                    frame_due = self.streaming  # keep streaming on the other channels
        if frame_due and self.streaming:
            flags = 0
            for i in range(len(self.adcs)):
                if not self.fresh[i]:
                    flags |= 1 << i
            frame = proto.encode_sample(self.seq, flags, self.last)
            if self.dropped and self._queue(
                proto.encode_status(proto.ST_OVERFLOW, 0, self.dropped), True
            ):
                self.dropped = 0
            # the sequence number advances even when the frame is dropped: the host sees a gap
            self._queue(frame, True)
            self.seq = (self.seq + 1) & 0xFFFF
            self.fresh = [False] * len(self.adcs)
