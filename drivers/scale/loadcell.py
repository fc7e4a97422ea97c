"""Load-cell layer: raw counts per channel in, grams out, and nothing out until calibrated.

Owns each channel's tare (zero) offset, its grams per count, and saturation. The chip layer
(the bridge and its codec) gives raw counts only; conversion to grams happens here, as a
calibration step, never in the chip layer (Klipper's load_cell.py, ESPHome's calibrate filter).

Calibration workflow (docs/SCALE.md): tare with the basket empty, then put a reference mass at
the centre and at each corner (least squares over the placements gives one factor per cell, so
a load reads the same wherever it stands). With one placement all cells share one factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SATURATION_DEFAULT = 8_300_000  # counts; the ADC rails are +-8 388 607


class NotCalibrated(RuntimeError):
    """Grams were asked for before the scale was tared and calibrated."""


class CalibrationError(ValueError):
    """A calibration that cannot be right (names what is wrong)."""


@dataclass(frozen=True)
class Calibration:
    channels: int = 4
    tare_counts: tuple[float, ...] | None = None
    grams_per_count: tuple[float, ...] | None = None
    saturation_counts: int = SATURATION_DEFAULT

    def __post_init__(self) -> None:
        if not 1 <= self.channels <= 8:
            raise CalibrationError(f"{self.channels} channels; 1..8 allowed")
        for name in ("tare_counts", "grams_per_count"):
            v = getattr(self, name)
            if v is not None:
                if len(v) != self.channels:
                    raise CalibrationError(
                        f"{name} has {len(v)} values for {self.channels} channels"
                    )
                if not all(np.isfinite(v)):
                    raise CalibrationError(f"{name} holds a non-finite value")
        if self.grams_per_count is not None:
            g = np.abs(self.grams_per_count)
            if np.any(g < 1e-5) or np.any(g > 10.0):
                raise CalibrationError(
                    "grams_per_count outside 1e-5..10 g/count: the reference mass or the "
                    "wiring is wrong"
                )
        if not 1000 <= self.saturation_counts <= 8_388_607:
            raise CalibrationError("saturation_counts outside 1000..8388607")

    @property
    def tared(self) -> bool:
        return self.tare_counts is not None

    @property
    def calibrated(self) -> bool:
        return self.tare_counts is not None and self.grams_per_count is not None

    def with_tare(self, mean_counts) -> Calibration:
        return Calibration(
            self.channels,
            tuple(float(c) for c in mean_counts),
            self.grams_per_count,
            self.saturation_counts,
        )

    def with_reference(self, placements: list[tuple[np.ndarray, float]]) -> Calibration:
        """Solve grams per count from (mean counts, grams) placements of a reference mass."""
        if self.tare_counts is None:
            raise NotCalibrated("tare the empty basket before calibrating")
        if not placements:
            raise CalibrationError("no reference placements")
        tare = np.asarray(self.tare_counts)
        A = np.array([np.asarray(c, float) - tare for c, _ in placements])
        w = np.array([g for _, g in placements], float)
        if np.any(w <= 0):
            raise CalibrationError("reference mass must be positive")
        if len(placements) < self.channels:
            s = A.sum(axis=1)
            if np.any(np.abs(s) < 100):
                raise CalibrationError("the reference mass barely moved the counts; is it on?")
            gpc = np.full(self.channels, float(np.sum(w * s) / np.sum(s * s)))
        else:
            gpc, *_ = np.linalg.lstsq(A, w, rcond=None)
            if np.linalg.matrix_rank(A) < self.channels:
                raise CalibrationError("reference placements do not load every cell apart")
        return Calibration(
            self.channels, self.tare_counts, tuple(float(g) for g in gpc), self.saturation_counts
        )

    # profile TOML (the [scale.calibration] table)
    def to_dict(self) -> dict:
        d: dict = {"saturation_counts": int(self.saturation_counts)}
        if self.tare_counts is not None:
            d["tare_counts"] = [round(float(c), 3) for c in self.tare_counts]
        if self.grams_per_count is not None:
            d["grams_per_count"] = [float(g) for g in self.grams_per_count]
        return d

    @classmethod
    def from_dict(cls, d: dict, channels: int) -> Calibration:
        known = {"tare_counts", "grams_per_count", "saturation_counts"}
        extra = set(d) - known
        if extra:
            raise CalibrationError(f"unknown calibration keys: {', '.join(sorted(extra))}")
        tare = d.get("tare_counts")
        gpc = d.get("grams_per_count")
        return cls(
            channels,
            None if tare is None else tuple(float(x) for x in tare),
            None if gpc is None else tuple(float(x) for x in gpc),
            int(d.get("saturation_counts", SATURATION_DEFAULT)),
        )


class LoadCells:
    """Counts [n, channels] -> grams [n], plus a per-sample validity mask."""

    def __init__(self, calibration: Calibration) -> None:
        self.cal = calibration
        self._prepare()

    def _prepare(self) -> None:
        c = self.cal
        self._tare = None if c.tare_counts is None else np.asarray(c.tare_counts, float)
        self._gpc = None if c.grams_per_count is None else np.asarray(c.grams_per_count, float)

    def set_calibration(self, calibration: Calibration) -> None:
        self.cal = calibration
        self._prepare()

    @property
    def calibrated(self) -> bool:
        return self.cal.calibrated

    def saturated(self, counts: np.ndarray) -> np.ndarray:
        """Per sample: any channel at or beyond the saturation limit."""
        return np.any(np.abs(counts) >= self.cal.saturation_counts, axis=1)

    def grams(self, counts: np.ndarray) -> np.ndarray:
        if self._gpc is None or self._tare is None:
            raise NotCalibrated(
                "the scale is not calibrated: run `cart scale tare` and "
                "`cart scale calibrate --grams MASS`"
            )
        return (counts - self._tare) @ self._gpc

    def channel_grams(self, counts: np.ndarray) -> np.ndarray:
        if self._gpc is None or self._tare is None:
            raise NotCalibrated("the scale is not calibrated")
        return (counts - self._tare) * self._gpc
