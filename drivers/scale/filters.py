"""Filters on timestamped weight samples, and the stability detector.

A filter takes a block of timestamped values (``t`` int64 ms, ``x`` float grams, same length)
and returns a block (ESPHome's sensor filters, in blocks so a trip simulator can run fast).
Filters are causal and keep their own history across blocks, so splitting a stream into
blocks of any size gives the same output. ``Chain`` composes them.

``StabilityDetector`` turns filtered grams into ``WeightMoving`` and ``WeightSettled`` events:

- STABLE: the weight rests at a reference. Motion starts when the mean deviation over the last
  ``move_window`` samples exceeds ``move_k`` noise standard errors (and at least
  ``min_change_g`` * 0.8). While stable, the reference is refined (running mean of up to
  ``refine_samples``) and then tracks slow drift (exponential, ``drift_tau_s``).
- MOVING: it settles at the first sample whose last ``window`` samples are flat: their standard
  deviation is within ``flat_k`` times the noise, and the means of the window's two halves
  agree within ``half_k`` standard errors. The settled weight is that window's mean. A change
  under the resolution is reported as no change (``delta_g == 0``), at the weight shown
  before, or, when it moved by half the resolution (and ``min_change_g``) or more, at the
  level it settled at (a bag's rest that slumped after its first settle is not lost from the
  weight reported). The resolution is
  ``min_change_g``, or ``resolution_k`` times the measured spread of a window mean while stable
  (low-frequency noise that no window averages away), whichever is larger.
- A small change (under ``suspicious_ratio`` of the largest deviation during the motion, as
  after a bump or a push) is confirmed over ``long_window`` samples before it is reported:
  a slowly ringing basket can look flat, but biased, over a short window.
- The per-sample noise is estimated online while stable, floored at ``min_noise_g``.
Python loops run once per state change, not per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cart.common.events import WeightMoving, WeightSettled


class Filter:
    def process(self, t: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def reset(self) -> None:
        pass


class _Windowed(Filter):
    def __init__(self, window: int) -> None:
        if window < 1:
            raise ValueError("window must be at least 1 sample")
        self.window = window
        self._hist = np.zeros(0)

    def reset(self) -> None:
        self._hist = np.zeros(0)

    def _ext(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        ext = np.concatenate((self._hist, x))
        lead = len(self._hist)
        self._hist = ext[-(self.window - 1) :] if self.window > 1 else np.zeros(0)
        return ext, lead


class MedianFilter(_Windowed):
    """Causal median of the last ``window`` samples (fewer at the very start)."""

    def process(self, t, x):
        if len(x) == 0 or self.window == 1:
            return t, np.asarray(x, float)
        ext, lead = self._ext(np.asarray(x, float))
        w = self.window
        if w == 3 and lead == 2:  # the common case, without a sort
            a, b, c = ext[:-2], ext[1:-1], ext[2:]
            return t, np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
        pad = np.concatenate((np.full(w - 1 - lead, np.nan), ext)) if lead < w - 1 else ext
        v = np.lib.stride_tricks.sliding_window_view(pad, w)[-len(x) :]
        return t, np.nanmedian(v, axis=1) if lead < w - 1 else np.median(v, axis=1)


class MovingAverage(_Windowed):
    """Causal mean of the last ``window`` samples (fewer at the very start)."""

    def process(self, t, x):
        if len(x) == 0 or self.window == 1:
            return t, np.asarray(x, float)
        ext, lead = self._ext(np.asarray(x, float))
        c = np.concatenate(([0.0], np.cumsum(ext)))
        idx = np.arange(lead, len(ext))
        lo = np.maximum(idx + 1 - self.window, 0)
        return t, (c[idx + 1] - c[lo]) / (idx + 1 - lo)


class Chain(Filter):
    def __init__(self, *filters: Filter) -> None:
        self.filters = list(filters)

    def process(self, t, x):
        for f in self.filters:
            t, x = f.process(t, x)
        return t, x

    def reset(self) -> None:
        for f in self.filters:
            f.reset()


@dataclass(frozen=True)
class StabilityConfig:
    window: int = 22  # samples in the settle window (275 ms at 80 SPS)
    long_window: int = 48  # confirms small changes after big disturbances (600 ms)
    suspicious_ratio: float = 0.05  # "small": under this fraction of the peak deviation
    move_window: int = 6
    move_k: float = 5.0
    flat_k: float = 1.35
    half_k: float = 3.0
    min_change_g: float = 3.0
    resolution_k: float = 2.5  # changes under k x the spread of a window mean count as none
    noise_g: float = 2.5  # prior per-sample noise (grams, total of all cells)
    min_noise_g: float = 0.8
    refine_samples: int = 400
    drift_tau_s: float = 20.0
    moving_every_ms: int = 250
    rate_sps: float = 80.0

    def __post_init__(self) -> None:
        if self.window < 4 or self.window % 2:
            raise ValueError("window must be an even number of samples, at least 4")
        if self.long_window < self.window:
            raise ValueError("long_window must be at least window")
        if self.move_window < 1 or self.min_change_g <= 0 or self.noise_g <= 0:
            raise ValueError("move_window, min_change_g and noise_g must be positive")


STABLE, MOVING = "stable", "moving"


class StabilityDetector:
    def __init__(self, config: StabilityConfig | None = None, settled_g: float | None = None):
        self.cfg = cfg = config or StabilityConfig()
        self.noise = cfg.noise_g
        self.state = MOVING
        self.ref = 0.0  # reference (settled) weight
        self.last_settled: float | None = settled_g
        self.ref_n = 0
        self.motion_t: int | None = None
        self.last_moving_t: int | None = None
        self.peak = 0.0  # largest deviation from the reference in this motion
        # spread of a settle-window mean around the reference while stable (low-frequency
        # noise that no window averages away): sets the change resolution
        self.lf_var = (self.cfg.noise_g**2) / self.cfg.window
        self._lf = np.zeros(0)
        self._lf_pending: list[float] = []
        self._long = False
        # history tails for windows spanning blocks
        self._ht = np.zeros(0, np.int64)
        self._hx = np.zeros(0)
        self._hv = np.zeros(0, bool)
        self._alpha = 1.0 / max(cfg.drift_tau_s * cfg.rate_sps, 1.0)

    @property
    def stable(self) -> bool:
        return self.state == STABLE

    def shift_reference(self, grams: float) -> None:
        """Move the settled reference by a known drift (what tracking would have followed)."""
        if self.state == STABLE:
            self.ref += grams
            if self.last_settled is not None:
                self.last_settled += grams

    def clear_history(self) -> None:
        """Forget the samples kept for windows that span blocks (after a gap in time)."""
        self._ht = np.zeros(0, np.int64)
        self._hx = np.zeros(0)
        self._hv = np.zeros(0, bool)
        self._lf, self._lf_pending = np.zeros(0), []

    def force_moving(self, t_ms: int) -> None:
        """Drop the reference (after a gap or reconnect): the next settle is measured anew."""
        if self.state == STABLE:
            self.state = MOVING
            self.motion_t = t_ms
        self._long, self.peak = False, 0.0
        self._ht = np.zeros(0, np.int64)
        self._hx = np.zeros(0)
        self._hv = np.zeros(0, bool)

    def process(self, t: np.ndarray, x: np.ndarray, valid: np.ndarray | None = None) -> list:
        """Filtered grams in (with a validity mask), events out."""
        n = len(x)
        if n == 0:
            return []
        if valid is None:
            valid = np.ones(n, bool)
        keep = max(self.cfg.long_window + self.cfg.window // 2, self.cfg.move_window) - 1
        T = np.concatenate((self._ht, np.asarray(t, np.int64)))
        X = np.concatenate((self._hx, np.asarray(x, float)))
        V = np.concatenate((self._hv, np.asarray(valid, bool)))
        i = len(self._ht)  # first new sample
        events: list = []
        while i < len(X):
            if self.state == STABLE:
                i = self._stable(T, X, V, i, events)
            else:
                i = self._moving(T, X, V, i, events)
        self._ht, self._hx, self._hv = T[-keep:], X[-keep:], V[-keep:]
        return events

    # -- STABLE -------------------------------------------------------------------------
    def _stable(self, T, X, V, i, events) -> int:
        cfg = self.cfg
        m = cfg.move_window
        lo = max(0, i - m + 1)
        seg = X[lo:]
        dev = np.where(V[lo:], seg - self.ref, 0.0)
        c = np.concatenate(([0.0], np.cumsum(dev)))
        cv = np.concatenate(([0], np.cumsum(V[lo:])))
        k = np.arange(i - lo, len(seg))  # positions of samples i.. in seg
        a = np.maximum(k + 1 - m, 0)
        cnt = np.maximum(cv[k + 1] - cv[a], 1)
        mean = (c[k + 1] - c[a]) / cnt
        thr = max(cfg.move_k * self.noise / np.sqrt(m), 0.8 * self.min_change)
        hit = np.flatnonzero((np.abs(mean) > thr) | ~V[i:])
        end = len(X) if len(hit) == 0 else i + int(hit[0])
        self._track(X[i:end][V[i:end]])
        if end == len(X):
            return end
        # motion starts at `end`
        self._lf, self._lf_pending = np.zeros(0), []
        self.state = MOVING
        self.motion_t = int(T[max(end - m + 1, 0)])
        self.last_moving_t = int(T[end])
        events.append(WeightMoving(int(T[end]), round(float(X[end]), 1)))
        return end + 1

    @property
    def min_change(self) -> float:
        """The smallest change reported: min_change_g, or more where the noise demands."""
        return max(self.cfg.min_change_g, self.cfg.resolution_k * float(np.sqrt(2 * self.lf_var)))

    def _track(self, xs: np.ndarray) -> None:
        if len(xs) == 0:
            return
        cfg = self.cfg
        if self.ref_n >= cfg.window:
            lf = np.concatenate((self._lf, xs))
            w = cfg.window
            k = len(lf) // w
            if k:
                means = lf[: k * w].reshape(k, w).mean(axis=1)
                self._lf_pending += list(means - self.ref)
                # a window counts once two more have passed without motion (the samples just
                # before a motion is detected already hold its start)
                while len(self._lf_pending) > 2:
                    d = self._lf_pending.pop(0)
                    lim = 9 * self.lf_var
                    self.lf_var += (min(d * d, lim) - self.lf_var) / 30.0
            self._lf = lf[k * w :]
        else:
            self._lf = np.zeros(0)
            self._lf_pending = []
        # noise estimate: residual spread around the reference
        if len(xs) >= 4:
            var = float(np.var(xs))
            share = min(len(xs) / 400.0, 1.0)
            est = (1 - share) * self.noise**2 + share * var
            self.noise = min(max(cfg.min_noise_g, float(np.sqrt(est))), 3 * cfg.noise_g)
        room = max(cfg.refine_samples - self.ref_n, 0)
        head, rest = xs[:room], xs[room:]
        if len(head):
            self.ref = (self.ref * self.ref_n + float(head.sum())) / (self.ref_n + len(head))
            self.ref_n += len(head)
        if len(rest):
            a = self._alpha
            wts = (1 - a) ** np.arange(len(rest) - 1, -1, -1)
            self.ref = (1 - a) ** len(rest) * self.ref + a * float(np.dot(wts, rest))

    # -- MOVING -------------------------------------------------------------------------
    def _moving(self, T, X, V, i, events) -> int:
        cfg = self.cfg
        w = cfg.long_window if self._long else cfg.window
        h = cfg.window // 2
        if len(X) < w:
            self._moving_status(T, X, i, len(X), events)
            return len(X)
        lo = max(0, i - w - h + 1)
        seg = X[lo:]
        segv = V[lo:]
        c1 = np.concatenate(([0.0], np.cumsum(seg)))
        c2 = np.concatenate(([0.0], np.cumsum(seg * seg)))
        cv = np.concatenate(([0], np.cumsum(~segv)))
        k = np.arange(max(i - lo, w - 1), len(seg))
        if len(k) == 0:
            self._moving_status(T, X, i, len(X), events)
            return len(X)
        s1 = c1[k + 1] - c1[k + 1 - w]
        s2 = c2[k + 1] - c2[k + 1 - w]
        mean = s1 / w
        var = np.maximum(s2 / w - mean * mean, 0.0) * w / (w - 1)
        hw = w // 2
        first = (c1[k + 1 - hw] - c1[k + 1 - w]) / hw
        second = (c1[k + 1] - c1[k + 1 - hw]) / (w - hw)
        bad = cv[k + 1] - cv[k + 1 - w]
        # the samples just before the window must agree with it too (a window on the crest of
        # a slow ring is flat but biased; the samples before it are not)
        pk = np.maximum(k + 1 - w - h, 0)
        pn = k + 1 - w - pk
        before = np.where(pn > 0, (c1[k + 1 - w] - c1[pk]) / np.maximum(pn, 1), mean)
        sig = self.noise
        flat = (
            (bad == 0)
            & (var <= (cfg.flat_k * sig) ** 2)
            & (np.abs(first - second) <= cfg.half_k * sig * np.sqrt(2.0 / hw))
            & (np.abs(before - mean) <= cfg.half_k * sig * np.sqrt(1.0 / h + 1.0 / w))
        )
        hit = np.flatnonzero(flat)
        # the previous settled weight, refined and drift-tracked while it was stable
        prev = self.ref if self.ref_n else (self.last_settled or 0.0)
        end = len(X) if len(hit) == 0 else int(k[hit[0]]) + lo + 1
        if end > i:
            self.peak = max(self.peak, float(np.max(np.abs(X[i:end] - prev))))
        if len(hit) == 0:
            self._moving_status(T, X, i, len(X), events)
            return len(X)
        j = int(k[hit[0]]) + lo
        self._moving_status(T, X, i, j, events)
        grams = float(mean[hit[0]])
        min_change = self.min_change
        if (
            not self._long
            and abs(grams - prev) >= min_change
            and abs(grams - prev) < cfg.suspicious_ratio * self.peak
        ):
            # a small change after a big disturbance (a bump, a push): ringing may still bias
            # a short window, so confirm it over a long one
            self._long = True
            return j + 1
        noise = float(np.sqrt(var[hit[0]]))
        t_j = int(T[j])
        settle_ms = t_j - (self.motion_t if self.motion_t is not None else t_j)
        self._long = False
        self.peak = 0.0
        if abs(grams - prev) < min_change:
            # no change: report the previous weight, but measure on from this level (a
            # reference that is never corrected would make every later wobble a change)
            shown = prev if self.last_settled is None else self.last_settled
            if abs(shown - prev) >= min_change:
                shown = prev
            elif abs(grams - shown) >= max(cfg.min_change_g, 0.5 * min_change):
                # under the resolution, but not nothing (the rest of a bag that slumped after
                # its first settle, on a noisy scale): the level it settled at, no change
                shown = grams
            events.append(WeightSettled(t_j, round(shown, 1), 0.0, settle_ms, round(noise, 2)))
            self.ref, self.ref_n = grams, w
            self.last_settled = shown
        else:
            delta = grams - prev
            events.append(
                WeightSettled(t_j, round(grams, 1), round(delta, 1), settle_ms, round(noise, 2))
            )
            self.ref, self.ref_n = grams, w
            self.last_settled = grams
        self.state = STABLE
        self.motion_t = None
        return j + 1

    def _moving_status(self, T, X, i, end, events) -> None:
        every = self.cfg.moving_every_ms
        last = self.last_moving_t
        j = i
        while j < end:  # one iteration per event, not per sample
            if last is not None and int(T[j]) - last < every:
                j = int(np.searchsorted(T, last + every, side="left"))
                j = max(j, i)
                if j >= end:
                    break
            last = int(T[j])
            events.append(WeightMoving(last, round(float(X[j]), 1)))
            j += 1
        self.last_moving_t = last
