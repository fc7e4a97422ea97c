"""The scale's sans-I/O core: the protocol session and the pipeline, bytes in, events out.

- ``ScalePipeline``: counts -> grams (``drivers.scale.loadcell``) -> filters -> stability
  detector -> ``WeightSettled`` / ``WeightMoving`` events. No I/O.
- ``SampleTimeline``: sample sequence numbers -> sample times; counts gaps and lost samples.
- ``ScaleCore``: the protocol session without I/O: parses bytes (``FrameParser``), checks the
  identify reply, sends acknowledged commands with retries and exponential backoff, counts CRC
  failures, sample gaps and overflows, timestamps samples from their sequence numbers, and
  feeds the pipeline. ``feed(bytes, now_ms)`` returns events; ``outgoing(now_ms)`` returns the
  bytes due for the bridge (first sends and retries). The thread driver
  (``drivers.scale.driver``) and the in-process simulator both drive this.

No threads, no ports, no sleeping; time comes from the injected clock or the caller.
Nothing in here raises on bytes from the device: bad frames are counted and reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from cart.common.clock import Clock
from cart.common.events import DeviceEvent, DeviceStatus
from drivers.scale import protocol as sp
from drivers.scale.config import ScaleConfig
from drivers.scale.filters import Chain, MedianFilter, StabilityConfig, StabilityDetector
from drivers.scale.loadcell import Calibration, LoadCells

DEVICE = "scale"


class ScalePipeline:
    """Counts in, events out. Raw counts, grams and filtered grams stay observable."""

    def __init__(
        self,
        calibration: Calibration,
        stability: StabilityConfig | None = None,
        median_window: int = 3,
    ) -> None:
        self.cells = LoadCells(calibration)
        self.stability_cfg = stability or StabilityConfig()
        self.median_window = median_window
        self.filters = Chain(MedianFilter(median_window))
        self.detector = StabilityDetector(self.stability_cfg)
        self.taps: list[Callable] = []  # f(t, counts, grams|None, filtered|None)
        self.last_counts: np.ndarray | None = None
        self.last_grams: float | None = None
        self.saturated = False

    @property
    def calibrated(self) -> bool:
        return self.cells.calibrated

    def set_calibration(self, calibration: Calibration) -> None:
        self.cells.set_calibration(calibration)
        self.reset()

    def reset(self) -> None:
        self.filters.reset()
        last = self.detector.last_settled
        self.detector = StabilityDetector(self.stability_cfg, settled_g=last)

    def process(self, t: np.ndarray, counts: np.ndarray, flags: np.ndarray | None = None):
        if len(t) == 0:
            return []
        self.last_counts = counts[-1]
        sat = self.cells.saturated(counts)
        self.saturated = bool(sat[-1])
        if not self.cells.calibrated:
            for tap in self.taps:
                tap(t, counts, None, None)
            return []
        grams = self.cells.grams(counts)
        tf, gf = self.filters.process(t, grams)
        self.last_grams = float(gf[-1])
        for tap in self.taps:
            tap(t, counts, grams, gf)
        return self.detector.process(tf, gf, ~sat)


class Request:
    """An acknowledged command in flight."""

    __slots__ = ("attempts", "done", "due_ms", "error", "event", "frame", "mid", "reply", "seq")

    def __init__(self, seq: int, mid: int) -> None:
        self.seq, self.mid = seq, mid
        self.frame = sp.encode_command(seq, mid)
        self.attempts = 0
        self.due_ms = 0
        self.done = False
        self.reply: sp.Message | None = None
        self.error: str | None = None
        self.event = threading.Event()


class Timed(NamedTuple):
    """What :meth:`SampleTimeline.times` made of a block of sequence numbers."""

    t: np.ndarray  # sample times (ms) of the accepted samples
    keep: np.ndarray | None  # bool mask of the accepted samples in the block; None: all
    gaps: int  # forward jumps of the sequence
    lost: int  # samples those jumps skipped
    replays: int  # sequence numbers already received (dropped)
    backwards: int  # sequence numbers going backwards, not received before (dropped)


class SampleTimeline:
    """Sample sequence numbers in, sample times out.

    Unwraps the bridge's 16-bit sequence into the sample's index since the anchor, counts gaps
    (and the samples they lost), and timestamps each sample from its index: the least-delayed
    sample anchors the stream (arrival >= sample time). ``expected_seq`` (the next sequence
    number expected, ``None`` before the first sample) and ``index`` (the index it will get)
    are public, so whoever knows that the bridge skipped numbers on purpose can say so.

    Samples are never retransmitted, so a number at or up to ``WINDOW`` behind the last one
    accepted is not a new sample: a replay when that number was received (the ring of the last
    ``WINDOW`` accepted samples says), else "backwards" (a late or reordered frame, or a
    sequence that went back). Both are dropped and counted; neither moves the index, the
    expected number or the time anchor. Any other number is a forward jump (a gap). Once the
    stream is anchored the jump must fit the time that passed: ``(now - anchor) / period`` says
    which index a sample arriving now can have at most (with ``RATE_SLACK`` for a fast ADC
    oscillator and ``BURST`` samples of jitter); a jump further than that is counted as
    backwards and dropped, and after an outage longer than the 16-bit sequence (about 13.7
    minutes at 80 SPS) the time says how many times the sequence wrapped. The anchor judged
    against is the one that earlier arrivals proved: samples that arrive together (one burst,
    however the caller splits it, a status frame between them or not) are all judged against
    the same ceiling, never against an anchor that a late sample of the same burst set (which
    says nothing about how late it was). Only a new stream (``restart``, after the bridge says
    BOOT and the handshake runs again) starts a new index and a new anchor."""

    LEAK_MS = 0.05  # per sample: lets the time anchor follow a slightly slow ADC oscillator
    WINDOW = 1024  # sequence numbers this far behind the last accepted one are not new
    RATE_SLACK = 0.05  # an ADC oscillator up to 5 % fast still fits the time check
    BURST = 80  # samples (1 s at 80 SPS) of slack in the time check

    def __init__(self, period_ms: float) -> None:
        self.period_ms = period_ms
        self.expected_seq: int | None = None
        self.index = 0
        self._offset: float | None = None
        self._judge: float | None = None  # the anchor as it stood before this arrival time
        self._arrival: int | None = None  # the arrival time (ms) of the last block
        self._last_t = -(1 << 62)
        self._ring_k = np.full(self.WINDOW, -1, np.int64)  # index of the sample in each slot
        self._ring_seq = np.zeros(self.WINDOW, np.int64)  # and its sequence number

    def restart(self) -> None:
        """A new stream (a handshake): the next sample starts a new index."""
        self.expected_seq = None

    def times(self, seq: np.ndarray, now: int) -> Timed:
        """Times, accepted samples and counts for a block of sequence numbers that arrived
        at ``now``."""
        seq = np.asarray(seq).astype(np.int64)
        if len(seq) == 0:
            return Timed(np.zeros(0, np.int64), None, 0, 0, 0, 0)
        if self.expected_seq is None:
            self.index = 0
            self.expected_seq = int(seq[0])
            self._offset = None
            self._arrival = None
            self._ring_k[:] = -1
        if now != self._arrival:  # a new arrival: what came before it is the time reference
            self._arrival = now
            self._judge = self._offset
        steps = np.diff(np.concatenate(([self.expected_seq - 1], seq))) % 65536
        keep = None
        gaps = lost = replays = backwards = 0
        if np.any(steps != 1):
            keep, steps, gaps, lost, replays, backwards = self._classify(seq, now)
            seq = seq[keep]
            if len(seq) == 0:
                return Timed(np.zeros(0, np.int64), keep, 0, 0, replays, backwards)
        n = len(seq)
        k = self.index + np.cumsum(steps) - 1
        self.index = int(k[-1]) + 1
        self.expected_seq = (int(seq[-1]) + 1) % 65536
        if keep is None:  # (the slow path fills the ring as it goes)
            m = min(n, self.WINDOW)
            self._ring_k[k[-m:] % self.WINDOW] = k[-m:]
            self._ring_seq[k[-m:] % self.WINDOW] = seq[-m:]
        cand = now - k[-1] * self.period_ms
        if self._offset is None or cand < self._offset:
            self._offset = cand
        t = np.rint(self._offset + k * self.period_ms).astype(np.int64)
        t = np.maximum(t, self._last_t + 1 + np.arange(n))
        t = np.maximum.accumulate(t)
        self._last_t = int(t[-1])
        self._offset = min(self._offset + self.LEAK_MS * n, cand)
        return Timed(t, keep, gaps, lost, replays, backwards)

    def _classify(self, seq: np.ndarray, now: int):
        """The block one sample at a time (only when it is not simply in order)."""
        w = self.WINDOW
        ring_k, ring_seq = self._ring_k, self._ring_seq
        keep = np.zeros(len(seq), bool)
        steps: list[int] = []
        gaps = lost = replays = backwards = 0
        e = self.expected_seq
        idx = self.index  # the index the next accepted sample gets when in order
        kmax = None  # the highest index a sample arriving now can have
        if self._judge is not None:
            passed = max((now - self._judge) / self.period_ms, 0.0)
            kmax = passed * (1 + self.RATE_SLACK) + self.BURST
        for i, s in enumerate(seq.tolist()):
            d = (s - e) % 65536
            step = 1
            if d:
                behind = 65535 - d  # 0: the number of the last accepted sample
                if behind < w:
                    kb = idx - 1 - behind
                    if kb >= 0 and ring_k[kb % w] == kb and ring_seq[kb % w] == s:
                        replays += 1
                    else:
                        backwards += 1
                    continue
                jump = d
                if kmax is not None:
                    room = kmax - idx - d
                    if room < 0:  # further ahead than the time that passed allows
                        backwards += 1
                        continue
                    jump += 65536 * int(room // 65536)  # the sequence wrapped meanwhile
                gaps += 1
                lost += jump
                step = jump + 1
            k = idx + step - 1
            ring_k[k % w] = k
            ring_seq[k % w] = s
            keep[i] = True
            steps.append(step)
            idx = k + 1
            e = (s + 1) % 65536
        return keep, np.asarray(steps, np.int64), gaps, lost, replays, backwards


class ScaleCore:
    """The protocol session and the pipeline, without I/O (see module doc). ``timeline``
    (default: a :class:`SampleTimeline`) turns sample sequence numbers into times."""

    def __init__(
        self,
        config: ScaleConfig,
        clock: Clock,
        pipeline: ScalePipeline | None = None,
        timeline: SampleTimeline | None = None,
    ):
        self.cfg = config
        self.clock = clock
        self.pipeline = pipeline or ScalePipeline(
            config.calibration, config.stability, config.median_window
        )
        self.parser = sp.FrameParser()
        self.period_ms = 1000.0 / config.rate_sps
        self.timeline = timeline or SampleTimeline(self.period_ms)
        self.identity: sp.Identify | None = None
        self.state = "idle"  # idle | identify | start | streaming | failed
        self.error: str | None = None
        self._seq = 0
        self._pending: dict[int, Request] = {}
        self._handshake: Request | None = None
        self.stats = dict.fromkeys(
            (
                "gaps",
                "samples_lost",
                "overflows",
                "payload_errors",
                "samples",
                "adc_not_ready",
                "saturated",
                "rx_errors",
                "reboots",
                "commands_retried",
                "commands_failed",
                "seq_replay_errors",
                "seq_backward_errors",
                "reply_kind_errors",
                "frames_ignored",
            ),
            0,
        )
        self._problems: dict[str, int] = {}  # sample problems of one feed call, by message

    # -- counters -----------------------------------------------------------------------
    def counters(self) -> dict[str, int]:
        c = dict(self.stats)
        c["crc_errors"] = self.parser.crc_errors
        c["bytes_discarded"] = self.parser.bytes_discarded
        c["frames"] = self.parser.frames
        return c

    def status(self, state: str, detail: str = "") -> DeviceStatus:
        return DeviceStatus(
            self.clock.now_ms(), DEVICE, state, detail, tuple(sorted(self.counters().items()))
        )

    @property
    def commands_pending(self) -> int:
        """Acknowledged commands sent or due and not yet answered (nor given up)."""
        return len(self._pending)

    # -- commands -----------------------------------------------------------------------
    def request(self, mid: int) -> Request:
        self._seq = self._seq % 255 + 1
        r = Request(self._seq, mid)
        self._pending[r.seq] = r
        return r

    def outgoing(self, now_ms: int | None = None) -> tuple[bytes, list]:
        """Bytes due for the bridge (first sends and retries), and events (failures)."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        out = bytearray()
        events = []
        for seq, r in list(self._pending.items()):
            if r.done or now < r.due_ms:
                continue
            if r.attempts > self.cfg.command_retries:
                r.done = True
                r.error = f"no answer to command 0x{r.mid:02x} after {r.attempts} tries"
                del self._pending[seq]
                self.stats["commands_failed"] += 1
                r.event.set()
                if r is self._handshake:
                    self.state, self.error = "failed", r.error
                events.append(self.status("error", r.error))
                continue
            if r.attempts:
                self.stats["commands_retried"] += 1
            out += r.frame
            r.due_ms = now + self.cfg.command_timeout_ms * (2**r.attempts)
            r.attempts += 1
        return bytes(out), events

    def begin(self) -> Request:
        """Start the handshake: identify, check, start streaming."""
        self.parser.reset()
        self.state = "identify"
        self.error = None
        self.timeline.restart()
        self._handshake = self.request(sp.MsgId.IDENTIFY)
        return self._handshake

    def stop(self) -> Request:
        self.state = "idle"
        return self.request(sp.MsgId.STOP)

    # -- bytes in -----------------------------------------------------------------------
    def feed(self, data: bytes, now_ms: int | None = None) -> list:
        """Bytes from the bridge in, events out. Never raises on the bytes: every frame is
        used, or counted in one of ``counters()`` (see docs/SCALE.md, "Link counters")."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        events: list = []
        channels = self.cfg.channels
        plen = 3 + 3 * channels
        if self.state == "streaming":
            rows = self.parser.take_samples(data, sp.sample_frame_len(channels))
            data = b""
            if rows is not None:
                events += self._sample_block(*sp.decode_sample_rows(rows, channels), now)
        frames = self.parser.feed(data)
        payloads: list[bytes] = []
        for f in frames:
            if f.mid == sp.MsgId.SAMPLE:
                if len(f.payload) != plen:
                    self.stats["payload_errors"] += 1
                    self._problem(
                        f"sample frames with {(len(f.payload) - 3) // 3} channels "
                        f"(profile: {channels}) dropped"
                    )
                elif self.state == "streaming":
                    payloads.append(f.payload)  # (flags are checked with the block)
                elif f.payload[2] & sp.reserved_flags(channels):
                    self.stats["payload_errors"] += 1
                    self._problem("sample frames with reserved flag bits set dropped")
                else:
                    self.stats["frames_ignored"] += 1  # not streaming (yet): not ours to use
                continue
            if payloads:
                events += self._samples(payloads, now)
                payloads = []
            try:
                msg = sp.decode_message(f)
            except sp.ProtocolError as e:
                self.stats["payload_errors"] += 1
                events.append(self.status("error", f"bad frame from the bridge: {e}"))
                continue
            events += self._message(msg, now, f.seq)
        if payloads:
            events += self._samples(payloads, now)
        if self._problems:
            for what, n in self._problems.items():
                events.append(self.status("error", f"{n} {what}"))
            self._problems.clear()
        return events

    def _problem(self, what: str, n: int = 1) -> None:
        """Reported once per feed call, with how many there were."""
        self._problems[what] = self._problems.get(what, 0) + n

    @staticmethod
    def _answers(r: Request, msg: sp.Ack | sp.Identify) -> bool:
        """Whether ``msg`` is an answer of the right kind to ``r``: IDENTIFY gets an
        IDENTIFY_REPLY (or a refusal), every other command an ACK naming it."""
        if isinstance(msg, sp.Identify):
            return r.mid == sp.MsgId.IDENTIFY
        if msg.command != r.mid:
            return False
        return r.mid != sp.MsgId.IDENTIFY or msg.code != sp.AckCode.OK

    def _message(self, msg, now, seq: int) -> list:
        events: list[DeviceEvent] = []
        if isinstance(msg, (sp.Ack, sp.Identify)):
            r = self._pending.get(seq)
            if r is None:
                self.stats["frames_ignored"] += 1  # a late duplicate answer to a retried command
                return events
            if not self._answers(r, msg):
                # an answer under this command's tag, but not to it: count, and ask again at
                # the next outgoing() (within the command's retry limit)
                self.stats["reply_kind_errors"] += 1
                got = (
                    "IDENTIFY_REPLY"
                    if isinstance(msg, sp.Identify)
                    else f"ACK of 0x{msg.command:02x}"
                )
                r.due_ms = min(r.due_ms, now)
                return [
                    self.status(
                        "error",
                        f"bridge answered command 0x{r.mid:02x} (tag "
                        f"{r.seq}) with {got}; asking again",
                    )
                ]
            del self._pending[r.seq]
            r.done, r.reply = True, msg
            if isinstance(msg, sp.Ack) and msg.code != sp.AckCode.OK:
                r.error = f"bridge refused command 0x{r.mid:02x} (code {msg.code})"
            r.event.set()
            events += self._handshake_step(r, now)
        elif isinstance(msg, sp.Status):
            events += self._bridge_status(msg)
        else:
            self.stats["frames_ignored"] += 1  # a host command id from the bridge (an echo)
        return events

    def _handshake_step(self, r: Request, now: int) -> list:
        if r is not self._handshake:
            return []
        if r.error:
            self.state, self.error = "failed", r.error
            return [self.status("error", r.error)]
        if self.state == "identify":
            ident = r.reply
            # The handshake's IDENTIFY is answered by an IDENTIFY_REPLY, or refused by an ACK
            # (r.error, handled above); _answers() lets no other reply complete it.
            assert isinstance(ident, sp.Identify), f"IDENTIFY completed by {ident!r}"
            problem = None
            if ident.protocol != sp.PROTOCOL_VERSION:
                problem = f"bridge speaks protocol {ident.protocol}, host {sp.PROTOCOL_VERSION}"
            elif ident.channels != self.cfg.channels:
                problem = f"bridge has {ident.channels} channels, profile {self.cfg.channels}"
            elif ident.rate_sps != self.cfg.rate_sps or ident.gain != self.cfg.gain:
                problem = (
                    f"bridge runs {ident.rate_sps} SPS gain {ident.gain}, profile "
                    f"{self.cfg.rate_sps} SPS gain {self.cfg.gain}"
                )
            self.identity = ident
            if problem:
                self.state, self.error = "failed", problem
                return [self.status("error", problem)]
            self.state = "start"
            self._handshake = self.request(sp.MsgId.START)
            return []
        if self.state == "start":
            self.state = "streaming"
            self._handshake = None
            self.timeline.restart()
            self.pipeline.reset()
            ident = self.identity
            assert ident is not None, "the start state follows an accepted IDENTIFY_REPLY"
            ev = [
                self.status(
                    "connected",
                    f"{ident.name} firmware "
                    f"{ident.firmware_version}, "
                    f"{ident.channels} ch "
                    f"{ident.rate_sps} SPS",
                )
            ]
            if not self.pipeline.calibrated:
                ev.append(
                    self.status(
                        "error",
                        "not calibrated: no weights until "
                        "`cart scale tare` and `cart scale calibrate`",
                    )
                )
            return ev
        return []

    def _bridge_status(self, msg: sp.Status) -> list:
        code = msg.code
        if code == sp.StatusCode.BOOT:
            self.stats["reboots"] += 1
            if self.state == "streaming":
                # the bridge restarted under us (brown-out, watchdog): handshake again
                self.begin()
                return [self.status("reconnecting", "bridge restarted")]
            return []
        if code == sp.StatusCode.OVERFLOW:
            self.stats["overflows"] += msg.value
            return [self.status("error", f"bridge dropped {msg.value} samples (overflow)")]
        if code == sp.StatusCode.ADC_NOT_READY:
            self.stats["adc_not_ready"] += 1
            return [self.status("error", f"channel {msg.channel} ADC not ready for {msg.value} ms")]
        if code == sp.StatusCode.SATURATED:
            self.stats["saturated"] += 1
            return [self.status("error", f"channel {msg.channel} saturated (overload)")]
        if code == sp.StatusCode.RX_ERROR:
            self.stats["rx_errors"] = msg.value
            return []
        return [self.status("error", f"unknown status {code} from the bridge")]

    # -- samples ------------------------------------------------------------------------
    def _samples(self, payloads: list[bytes], now: int) -> list:
        return self._sample_block(*sp.decode_samples(payloads, self.cfg.channels), now)

    def _sample_block(
        self, seq: np.ndarray, flags: np.ndarray, counts: np.ndarray, now: int
    ) -> list:
        bad = (flags & sp.reserved_flags(self.cfg.channels)) != 0
        if bad.any():
            nbad = int(np.count_nonzero(bad))
            self.stats["payload_errors"] += nbad
            self._problem("sample frames with reserved flag bits set dropped", nbad)
            seq, flags, counts = seq[~bad], flags[~bad], counts[~bad]
        r = self.timeline.times(seq, now)
        if r.keep is not None:
            flags, counts = flags[r.keep], counts[r.keep]
        self.stats["gaps"] += r.gaps
        self.stats["samples_lost"] += r.lost
        self.stats["samples"] += len(r.t)
        if r.replays:
            self.stats["seq_replay_errors"] += r.replays
            self._problem(
                "replayed sample frames (sequence number already received) dropped", r.replays
            )
        if r.backwards:
            self.stats["seq_backward_errors"] += r.backwards
            self._problem(
                "sample frames with a sequence number going backwards dropped", r.backwards
            )
        return self.pipeline.process(r.t, counts, flags)


__all__ = ["DEVICE", "Request", "SampleTimeline", "ScaleCore", "ScalePipeline", "Timed"]
