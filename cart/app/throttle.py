"""A device above a sane rate is throttled: its excess events are dropped and counted.

A scanner stuck in continuous mode, a scale bridge babbling, a camera posting verdicts in a
loop: nothing a shopper does needs more than a few events a second from one device, and a
flood of them would otherwise queue up in front of the screen. Each device (the event's
``source`` or ``device``) gets a token bucket in its own event time (``t_ms``, so simulated
trips in accelerated time are judged by the time they simulate, never by how fast the machine
plays them): ``rate`` events a second on average, ``burst`` at once. An event without a token
is dropped before it is queued, and counted (``throttled_drops`` on the device's status line,
which the status bar shows).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from cart.common.events import DeviceEvent, DeviceStatus, Scan, VisionVerdict

log = logging.getLogger(__name__)

COUNTER = "throttled_drops"


@dataclass(frozen=True, slots=True)
class Rate:
    per_s: float  # events a second on average
    burst: int  # events at once


# A person scans a few items a second at most; a scale bridge reports movement and settles a few
# times a second (its 80 samples a second never reach the runtime one by one); a camera's
# verdicts follow placements. Statuses: a few a second while a link is bad.
SCANNER = Rate(30.0, 60)
SCALE = Rate(100.0, 200)
CAMERA = Rate(20.0, 40)
STATUS = Rate(50.0, 100)
OTHER = Rate(100.0, 200)


def device_of(event: DeviceEvent) -> str:
    """The device an event comes from (its status line's name)."""
    if isinstance(event, DeviceStatus):
        return event.device
    return str(getattr(event, "source", "") or getattr(event, "device", "") or "scale")


def rate_for(event: DeviceEvent) -> Rate:
    if isinstance(event, DeviceStatus):
        return STATUS
    if isinstance(event, Scan):
        return SCANNER
    if isinstance(event, VisionVerdict):
        return CAMERA
    if device_of(event) == "scale":
        return SCALE
    return OTHER


class Throttle:
    """Token buckets per device and kind of event (see the module docstring). Thread-safe:
    drivers post from their own threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, Rate], list[float]] = {}  # -> [tokens, last t_ms]
        self.dropped: dict[str, int] = {}  # device -> events dropped

    def admit(self, event: DeviceEvent) -> bool:
        """Whether ``event`` is within its device's rate (False: dropped and counted)."""
        rate = rate_for(event)
        device = device_of(event)
        t = float(getattr(event, "t_ms", 0))
        key = (device, rate)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = [float(rate.burst), t]
            tokens, last = bucket
            if t > last:
                tokens = min(float(rate.burst), tokens + (t - last) * rate.per_s / 1000.0)
                last = t
            if tokens >= 1.0:
                bucket[0], bucket[1] = tokens - 1.0, last
                return True
            bucket[0], bucket[1] = tokens, last
            n = self.dropped.get(device, 0)
            self.dropped[device] = n + 1
        if n == 0:
            log.warning(
                "%s sends more than %g events a second: the excess is dropped", device, rate.per_s
            )
        return False

    def counters(self) -> tuple[tuple[str, tuple[tuple[str, int], ...]], ...]:
        """``(device, ((COUNTER, n),))`` for each device that was throttled."""
        with self._lock:
            return tuple((d, ((COUNTER, n),)) for d, n in sorted(self.dropped.items()))
