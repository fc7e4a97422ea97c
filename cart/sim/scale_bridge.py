"""The simulated scale bridge: the firmware's behaviour, byte for byte, over a ``BasketModel``
(``cart.sim.scale_model``), speaking the real wire protocol (drivers/scale/protocol.py,
hardware/scale-bridge/PROTOCOL.md)."""

from __future__ import annotations

import numpy as np

from cart.sim.scale_model import BasketModel
from drivers.scale import protocol as sp


class SimBridge:
    """The bridge firmware's behaviour, byte for byte, over a ``BasketModel``.

    ``write(bytes)`` takes host commands; ``advance_to(t_ms)`` runs the ADCs up to ``t_ms`` and
    returns the bytes the bridge sent meanwhile (replies, status, sample frames), with the
    profile's link faults applied. ``unplug()``/``replug()`` model the USB cable; a replug
    reboots the bridge (it waits for a new handshake).
    """

    FIRMWARE = (1, 0, 0)
    NAME = "cart-scale-sim"

    def __init__(self, model: BasketModel, seed: int = 0) -> None:
        self.model = model
        self.cfg = model.cfg
        self.rng = np.random.default_rng(seed + 0x5CA1E)
        self.period_s = 1.0 / (self.cfg.rate_sps * (1 + self.cfg.rate_error))
        self.parser = sp.FrameParser()
        self.plugged = True
        self.stalled_until_s = -1.0
        self.stall_start_s = -1.0
        self._stall_reported = True
        self.stall_channel = 0
        self._out = bytearray()
        self._next_s = model.t + self.period_s
        self._sat_reported = False
        self.frames_sent = 0
        self._boot()

    def _boot(self) -> None:
        self.streaming = False
        self.seq = 0
        self.parser = sp.FrameParser()
        self._out += sp.encode_status(sp.StatusCode.BOOT, 0, 0)

    @property
    def has_output(self) -> bool:
        """Bytes the bridge has made and not yet sent."""
        return bool(self._out)

    # -- link ---------------------------------------------------------------------------
    def unplug(self) -> None:
        self.plugged = False
        self._out.clear()

    def replug(self) -> None:
        if not self.plugged:
            self.plugged = True
            self._boot()

    def stall_adc(self, channel: int, duration_ms: int) -> None:
        """Channel's DOUT stays high (a loose wire): stale values, then a status frame."""
        self.stall_channel = channel
        self.stall_start_s = self.model.t
        self.stalled_until_s = self.model.t + duration_ms / 1000
        self._stall_reported = False

    def write(self, data: bytes) -> int:
        if not self.plugged:
            return 0
        for f in self.parser.feed(data):
            mid = f.mid
            if mid == sp.MsgId.IDENTIFY:
                self._out += sp.encode_identify(
                    f.seq,
                    sp.Identify(
                        sp.PROTOCOL_VERSION,
                        self.FIRMWARE,
                        self.cfg.channels,
                        round(self.cfg.rate_sps),
                        self.cfg.gain,
                        24,
                        1,
                        self.NAME,
                    ),
                )
            elif mid == sp.MsgId.START:
                self.streaming = True
                self._out += sp.encode_ack(f.seq, mid)
            elif mid == sp.MsgId.STOP:
                self.streaming = False
                self._out += sp.encode_ack(f.seq, mid)
            elif mid == sp.MsgId.PING:
                self._out += sp.encode_ack(f.seq, mid)
            else:
                self._out += sp.encode_ack(f.seq, mid, sp.AckCode.UNKNOWN_COMMAND)
        return len(data)

    # -- time ---------------------------------------------------------------------------
    def sample_times(self, t_ms: int) -> np.ndarray:
        s_end = (int(t_ms) - self.model.t0_ms) / 1000.0
        if s_end < self._next_s:
            return np.zeros(0)
        n = int(np.floor((s_end - self._next_s) / self.period_s + 1e-9)) + 1
        return self._next_s + np.arange(n) * self.period_s

    def advance_to(self, t_ms: int) -> bytes:
        m = self.model
        times = self.sample_times(t_ms)
        out = self._out
        if len(times):
            self._next_s = float(times[-1]) + self.period_s
            counts, sat = m.counts(times)
            if self.plugged and self.streaming:
                flags = np.zeros(len(times), np.uint8)
                stall = times < self.stalled_until_s
                if stall.any():
                    c = self.stall_channel
                    flags[stall] |= 1 << c
                    first = int(np.argmax(stall))
                    hold = counts[first - 1, c] if first > 0 else counts[first, c]
                    counts[stall, c] = hold
                    waited = float(times[stall][-1]) - self.stall_start_s
                    if not self._stall_reported and waited >= 0.1:
                        self._stall_reported = True
                        out += sp.encode_status(sp.StatusCode.ADC_NOT_READY, c, 100)
                if sat.any() and not self._sat_reported:
                    out += sp.encode_status(
                        sp.StatusCode.SATURATED, int(np.argmax(sat.any(axis=0))), 0
                    )
                self._sat_reported = bool(sat[-1].any())
                seq = (self.seq + np.arange(len(times))) & 0xFFFF
                out += sp.encode_samples(seq, flags, counts)
                self.frames_sent += len(times)
            if self.plugged and self.streaming:
                self.seq = (self.seq + len(times)) & 0xFFFF
        m.skip_to(t_ms)
        data = bytes(out)
        out.clear()
        if not self.plugged:
            return b""
        return self._faults(data)

    def skip_to(self, t_ms: int, shots: bool = True) -> int:
        """Fast-forward without producing samples; returns how many sample periods passed
        (the host's :class:`FastForwardTimeline` skips the same number)."""
        times = self.sample_times(t_ms)
        n = len(times)
        if n:
            self._next_s = float(times[-1]) + self.period_s
            if self.streaming and self.plugged:
                self.seq = (self.seq + n) & 0xFFFF
        self.model.skip_to(t_ms, shots=shots)
        return n if self.streaming and self.plugged else 0

    def _faults(self, data: bytes) -> bytes:
        cfg = self.cfg
        if not data or (cfg.byte_error_rate <= 0 and cfg.byte_drop_rate <= 0):
            return data
        a = np.frombuffer(data, np.uint8).copy()
        if cfg.byte_error_rate > 0:
            hit = self.rng.random(len(a)) < cfg.byte_error_rate
            if hit.any():
                a[hit] ^= (1 << self.rng.integers(0, 8, int(hit.sum()))).astype(np.uint8)
        if cfg.byte_drop_rate > 0:
            a = a[self.rng.random(len(a)) >= cfg.byte_drop_rate]
        return a.tobytes()
