"""Simulated scale: a physical model of the basket on four load cells (``cart.sim.scale_model``),
a simulated bridge that speaks the real wire protocol (``cart.sim.scale_bridge``), and
:class:`SimScale`, both wired to the real host core in one thread, in simulated time.

Importing this module registers the ``scalesim://`` pyserial scheme (``protocol_scalesim``).
The model's and the bridge's names are re-exported here. Figures and their sources are in
docs/SCALE.md.
"""

from __future__ import annotations

import numpy as np
import serial

from cart.sim.scale_bridge import SimBridge
from cart.sim.scale_model import (
    FULL_SCALE_COUNTS,
    PROFILES,
    BasketModel,
    Placement,
    ScaleSimConfig,
    config_for,
    shares,
)
from drivers.scale.core import SampleTimeline


def register_url_scheme() -> None:
    """Make ``serial.serial_for_url('scalesim://...')`` reach a simulated bridge
    (``cart.sim.protocol_scalesim``). Importing this module does it."""
    if "cart.sim" not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append("cart.sim")


register_url_scheme()


class FastForwardTimeline(SampleTimeline):
    """The host's sample timeline, told when the simulated bridge fast-forwards."""

    def skip(self, n: int) -> None:
        """The bridge fast-forwarded ``n`` samples: move the expected sequence and the index
        with it, so no gap is counted and the times stay on the anchor."""
        if self.expected_seq is not None and n > 0:
            self.expected_seq = (self.expected_seq + n) % 65536
            self.index += n


REST_LEAD_MS = 1500


class SimScale:
    """A simulated scale wired to the real host code, in one thread, in simulated time.

    See docs/SCALE.md ("In-process simulation API"). ``run_until(t_ms)`` returns the events the
    real driver core emits; quiet periods are fast-forwarded.
    """

    def __init__(
        self,
        seed: int = 0,
        profile: str = "typical",
        clock=None,
        *,
        config: ScaleSimConfig | None = None,
        calibrate: str = "factory",
        block_ms: int = 5000,
        scale_config=None,
        pushes: str = "full",
    ) -> None:
        from cart.common.clock import ManualClock
        from drivers.scale.config import ScaleConfig
        from drivers.scale.core import ScaleCore
        from drivers.scale.loadcell import Calibration

        self.clock = clock or ManualClock()
        self.cfg = config or config_for(profile)
        self.model = BasketModel(self.cfg, seed=seed, t0_ms=self.clock.now_ms())
        self.bridge = SimBridge(self.model, seed=seed)
        self.block_ms = int(block_ms)
        if pushes not in ("full", "fast"):
            raise ValueError("pushes must be 'full' or 'fast'")
        self.pushes = pushes
        sc = scale_config or ScaleConfig()
        self.timeline = FastForwardTimeline(1000.0 / sc.rate_sps)
        self.core = ScaleCore(sc, self.clock, timeline=self.timeline)
        self.events: list = []
        self.fast_forwarded_ms = 0
        # handshake through the real codec
        self.core.begin()
        self._pump()
        for _ in range(5):
            if self.core.state == "streaming":
                break
            self._step(self.clock.now_ms() + 20)
        if self.core.state != "streaming":
            raise RuntimeError(f"simulated bridge handshake failed: {self.core.error}")
        if calibrate == "factory":
            rng = np.random.default_rng(seed + 77)
            err = self.cfg.calibration_error
            gpc = 1.0 / self.model.counts_per_g * (1 + rng.uniform(-err, err, 4))
            tare = self.model.offset + self.model.dead * self.model.counts_per_g
            cal = Calibration(4, tuple(float(x) for x in tare), tuple(float(x) for x in gpc))
            self.core.pipeline.set_calibration(cal)
        elif calibrate != "none":
            raise ValueError("calibrate must be 'factory' or 'none'")
        self.events.clear()

    # -- actions (delegated to the model) -----------------------------------------------
    def place(self, item: str, grams: float, x: float = 0.5, y: float = 0.5, **kw) -> Placement:
        return self.model.place(item, grams, x, y, **kw)

    def remove(self, item: str, **kw) -> Placement:
        return self.model.remove(item, **kw)

    def bump(self, peak_g: float | None = None, **kw) -> int:
        return self.model.bump(peak_g, **kw)

    def push(self, duration_ms: int, intensity: float = 1.0, **kw) -> int:
        return self.model.push(duration_ms, intensity, **kw)

    @property
    def driver(self):
        return self.core

    def total_items_g(self) -> float:
        return self.model.total_items_g()

    # -- time ---------------------------------------------------------------------------
    def _pump(self) -> list:
        out, evs = self.core.outgoing(self.clock.now_ms())
        if out:
            self.bridge.write(out)
        return evs

    def _step(self, t_ms: int) -> list:
        if t_ms > self.clock.now_ms():
            self.clock.set(t_ms)
        evs = self._pump()
        data = self.bridge.advance_to(t_ms)
        if data:
            evs += self.core.feed(data, t_ms)
        evs += self._pump()
        return evs

    def _can_skip(self) -> bool:
        det = self.core.pipeline.detector
        return (
            self.model.quiet
            and det.stable
            and self.core.state == "streaming"
            and self.bridge.plugged
            and self.bridge.streaming
            and not self.bridge.has_output
            and not self.core.commands_pending
            and self.bridge.stalled_until_s <= self.model.t
        )

    def run_until(self, t_ms: int) -> list:
        t_ms = int(t_ms)
        now = self.clock.now_ms()
        if t_ms < now:
            raise ValueError(f"run_until({t_ms}) is before the present ({now})")
        events: list = []
        while now < t_ms:
            if self._can_skip():
                # the last REST_LEAD_MS before an action run in full: the detector sees the
                # level just before a motion as it would on the cart, not a jump onto it
                nxt = min(t_ms, self._next_action_ms() - REST_LEAD_MS)
                if nxt > now + 100:
                    cells = self.core.pipeline.cells
                    before = self.model.static_counts()
                    n = self.bridge.skip_to(nxt)
                    self.timeline.skip(n)
                    if cells.calibrated:
                        drift = cells.grams(
                            (self.model.static_counts() - before)[None, :]
                            + np.asarray(cells.cal.tare_counts)[None, :]
                        )
                        self.core.pipeline.detector.shift_reference(float(drift[0]))
                    self.core.pipeline.detector.clear_history()
                    self.fast_forwarded_ms += nxt - now
                    self.clock.set(nxt)
                    now = nxt
                    continue
            if self.pushes == "fast" and self._can_skip_push():
                nxt = min(t_ms, self.model.push_skippable_until_ms())
                if nxt > now + 100:
                    events += self._skip_push(now, nxt)
                    now = nxt
                    continue
            # commands in flight (a handshake after a replug): small steps, as a link would
            busy = (
                self.core.commands_pending
                or self.bridge.has_output
                or self.core.state != "streaming"
            )
            nxt = min(t_ms, now + (20 if busy else self.block_ms))
            events += self._step(nxt)
            now = nxt
        self.events += events
        return events

    def _can_skip_push(self) -> bool:
        return (
            self.model.push_skippable_until_ms() is not None
            and self.core.state == "streaming"
            and self.bridge.plugged
            and self.bridge.streaming
            and not self.bridge.has_output
            and not self.core.commands_pending
        )

    def _skip_push(self, now: int, nxt: int) -> list:
        """The middle of a push, fast: the detector is told the platform moves (as it would
        see), the bridge and the model jump without ringing, the push's last second runs in
        full so the settle after it is the real pipeline's."""
        from cart.common.events import WeightMoving

        det = self.core.pipeline.detector
        events = []
        if det.stable:
            events.append(WeightMoving(now, round(det.ref, 1)))
            det.force_moving(now)
        n = self.bridge.skip_to(nxt, shots=False)
        self.timeline.skip(n)
        self.fast_forwarded_ms += nxt - now
        self.clock.set(nxt)
        return events

    def _next_action_ms(self) -> int:
        nxt = self.model.next_action_ms()
        return 1 << 62 if nxt is None else nxt


__all__ = [
    "FULL_SCALE_COUNTS",
    "PROFILES",
    "BasketModel",
    "FastForwardTimeline",
    "Placement",
    "ScaleSimConfig",
    "SimBridge",
    "SimScale",
    "config_for",
    "register_url_scheme",
    "shares",
]
