"""Device events: what the drivers (and the simulated devices behind them) tell the core.

This module is the contract between ``drivers/`` and ``cart/``. Every event is immutable and
carries ``t_ms``, integer milliseconds from the injected clock (see ``cart.common.clock``). Drivers
produce these; the fusion core consumes them in timestamp order; the screen shows them.
Weights are grams. Text from devices is kept exactly as read (after validation) and is never
interpreted as markup by anyone who shows it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scan:
    """A barcode read by a scanner or a camera."""

    t_ms: int
    code: str  # decoded text, AIM symbology identifier removed
    symbology: str = ""  # AIM symbology identifier as read, e.g. "]E0", "]e0", "]Q1"; "" if none
    source: str = "scanner"  # "scanner:<name>" or "camera:<name>"


@dataclass(frozen=True, slots=True)
class WeightSettled:
    """The platform's weight came to rest."""

    t_ms: int
    grams: float  # total settled weight on the platform (tare removed)
    delta_g: float  # change from the previous settled weight
    settle_ms: int  # time from the first motion to this settle
    noise_g: float  # noise estimate (standard deviation) while settling


@dataclass(frozen=True, slots=True)
class WeightMoving:
    """The platform's weight is changing (item going in or out, cart bumped or pushed)."""

    t_ms: int
    grams: float  # latest filtered reading, for the live display only


@dataclass(frozen=True, slots=True)
class VisionVerdict:
    """The classifier's view of what just went into (or out of) the basket."""

    t_ms: int
    top: tuple[tuple[str, float], ...]  # (fine class label, probability), best first
    source: str = "camera"


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """A device's health, for the status bar and the logs."""

    t_ms: int
    device: str  # "scale", "scanner:<name>", "camera:<name>"
    state: str  # "connected" | "reconnecting" | "disconnected" | "error"
    detail: str = ""
    counters: tuple[tuple[str, int], ...] = ()  # e.g. (("crc_errors", 3), ("gaps", 1))


DeviceEvent = Scan | WeightSettled | WeightMoving | VisionVerdict | DeviceStatus
