"""Clocks. The core never reads the wall clock: whoever drives it passes a clock in.

Time is integer milliseconds. On the cart it is Unix epoch milliseconds (``SystemClock``); in
tests and simulations a ``ManualClock`` starts wherever the test says and moves only when told.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    """Wall-clock epoch milliseconds. For the runtime and drivers only, never the core."""

    monotonic = False  # it steps (NTP, a Pi without a real-time clock)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class MonotonicClock:
    """Monotonic milliseconds, for measuring intervals (drivers; staff-mode timeouts)."""

    monotonic = True

    def now_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to. Simulations and tests use it."""

    monotonic = True  # it never goes backwards

    def __init__(self, start_ms: int = 1_767_225_600_000) -> None:  # 2026-01-01T00:00:00Z
        self._now = int(start_ms)

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("a clock does not go backwards")
        self._now += int(ms)
        return self._now

    def set(self, ms: int) -> None:
        if ms < self._now:
            raise ValueError("a clock does not go backwards")
        self._now = int(ms)
