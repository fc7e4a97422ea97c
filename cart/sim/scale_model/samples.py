"""The basket model's samples: forces on the cells over time (ramps, creep, rings, pushes),
the ADC counts with temperature, noise and flicker, and fast-forwarding while quiet."""

from __future__ import annotations

import math

import numpy as np

from cart.sim.scale_model.config import G
from drivers.scale import protocol as sp


class _Samples:
    """Forces and ADC counts of a ``BasketModel`` (its state is set up there)."""

    def net_force(self, s: np.ndarray) -> np.ndarray:
        """Noise-free force per cell (grams-force) at times s (seconds), dead load included."""
        n = len(s)
        F = np.broadcast_to(self.dead + self.base, (n, 4)).copy()
        for t0, dur, vec in self._ramps:
            F += np.clip((s - t0) / dur, 0.0, 1.0)[:, None] * vec
        for t0, vec in self._creeps:
            F += (1 - np.exp(-np.maximum(s - t0, 0.0) / self.cfg.creep_tau_s))[:, None] * vec
        if len(self._rings):
            r = self._rings
            dt = s[:, None] - r[None, :, 0]
            on = dt >= 0
            dt = np.maximum(dt, 0.0)
            env = np.where(on, np.exp(-r[None, :, 1] * dt), 0.0)
            ph = r[None, :, 2] * dt
            F += (env * np.sin(ph)) @ r[:, 4:8] + (env * np.cos(ph)) @ r[:, 8:12]
        tilt = np.full(n, self.tilt)
        for p in self._pushes:
            on = (s >= p.t0) & (s < p.t1)
            if not on.any():
                continue
            ph = 2 * math.pi * p.freq[None, :] * (s[:, None] - p.t0) + p.phase[None, :]
            ah = self.cfg.push_horiz_g * p.intensity * np.sin(ph[:, 0]) * on
            tot = F.sum(axis=1)
            shift = tot * ah * self.cfg.push_transfer / 2  # front loses, rear gains
            F[:, 0] -= shift / 2
            F[:, 1] -= shift / 2
            F[:, 2] += shift / 2
            F[:, 3] += shift / 2
            tilt = np.where(on, self.tilt + p.tilt_amp * np.sin(ph[:, 1]), tilt)
        return F * np.cos(tilt)[:, None]

    def _emit_push_shots(self, s_end: float, ring: bool = True) -> None:
        """Wheel and floor impacts of every push up to s_end, as rings (vectorised)."""
        cfg, rng = self.cfg, self.rng
        for p in self._pushes:
            rate = cfg.push_shots_per_s * p.intensity
            stop = min(s_end, p.t1)
            if rate <= 0 or p.next_shot >= stop:
                continue
            k = max(int((stop - p.next_shot) * rate * 1.5) + 8, 8)
            gaps = rng.exponential(1 / rate, k)
            times = p.next_shot + np.concatenate(([0.0], np.cumsum(gaps[:-1])))
            while times[-1] < stop:  # rare: draw more
                more = times[-1] + np.cumsum(rng.exponential(1 / rate, k))
                times = np.concatenate((times, more))
            use = times[times < stop]
            p.next_shot = float(times[len(use)])
            if not ring or len(use) == 0:
                continue
            n = len(use)
            a = np.abs(rng.normal(0, cfg.push_accel_g * p.intensity, n))
            T = rng.uniform(*cfg.push_pulse_ms, n) / 1000
            sigma, wd, w = p.mode
            v0 = a * G * T * 2 / math.pi
            load = self.dead + self.base
            mass = self._mass_at(float(use[0]))
            share = load / max(float(load.sum()), 1e-9)
            sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
            amp = (mass * w * v0 / G * sign)[:, None] * share[None, :]
            rows = np.zeros((n, self._rings.shape[1]))
            rows[:, 0] = use + T / 2
            rows[:, 1] = sigma
            rows[:, 2] = wd
            rows[:, 3] = np.abs(amp).sum(axis=1)
            rows[:, 4:8] = amp
            self._rings = np.vstack((self._rings, rows))

    def _retire(self) -> None:
        """Folds finished terms into the static state so blocks stay cheap."""
        s = self.t
        keep = []
        for t0, dur, vec in self._ramps:
            if t0 + dur <= s:
                self.base = self.base + vec
            else:
                keep.append((t0, dur, vec))
        self._ramps = keep
        keep_c = []
        for t0, vec in self._creeps:
            if s - t0 > 8 * self.cfg.creep_tau_s:
                self.base = self.base + vec
            else:
                keep_c.append((t0, vec))
        self._creeps = keep_c
        if len(self._rings):
            r = self._rings
            left = r[:, 3] * np.exp(-r[:, 1] * np.maximum(s - r[:, 0], 0.0))
            r = r[(left >= 0.002) | (r[:, 0] > s)]
            # fold rings of one mode that have started into a single ring (exact: a sum of
            # rings of one mode is one ring with a complex amplitude)
            started = r[:, 0] <= s
            if started.sum() > 4:
                keep = [r[~started]]
                st_r = r[started]
                key = st_r[:, 1] * 1e6 + st_r[:, 2]
                modes, inv = np.unique(key, return_inverse=True)
                for m in range(len(modes)):
                    g = st_r[inv == m]
                    if len(g) == 1:
                        keep.append(g)
                        continue
                    sigma, wd = g[0, 1], g[0, 2]
                    dt = s - g[:, 0]
                    rot = np.exp((-sigma + 1j * wd) * dt)[:, None]
                    c = ((g[:, 4:8] + 1j * g[:, 8:12]) * rot).sum(axis=0)
                    row = np.concatenate(([s, sigma, wd, float(np.abs(c).sum())], c.real, c.imag))
                    keep.append(row[None, :])
                r = np.vstack(keep)
            self._rings = r
        done = [p for p in self._pushes if p.t1 <= s]
        for p in done:
            self._pushes.remove(p)
            self.tilt = math.radians(self.cfg.tilt_sd_deg) * float(self.rng.standard_normal())

    def counts(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ADC counts (int32 [n, 4]) and a saturation mask at increasing times s (seconds)
        after the present. Advances the model to s[-1]."""
        n = len(s)
        if n == 0:
            return np.zeros((0, 4), np.int32), np.zeros((0, 4), bool)
        cfg, rng = self.cfg, self.rng
        self._emit_push_shots(float(s[-1]))
        F = self.net_force(s)
        # temperature: random walk; zero shift per cell
        dt = np.diff(np.concatenate(([self.t], s)))
        if cfg.temp_walk_c_per_sqrt_s > 0:
            temp = self.temp + np.cumsum(
                rng.standard_normal(n) * np.sqrt(dt) * cfg.temp_walk_c_per_sqrt_s
            )
            self.temp = float(temp[-1])
        else:
            temp = np.full(n, self.temp)
        F = F + temp[:, None] * self.tempco[None, :]
        c = self.offset + F * self.counts_per_g
        noise = rng.standard_normal((n, 4)) * cfg.noise_counts
        if cfg.flicker_nv_rms > 0:
            # Ornstein-Uhlenbeck process, exact discretisation
            sig = cfg.flicker_nv_rms * 1e-9 * cfg.counts_per_volt
            noise += self._flicker(dt, sig)
        raw = np.rint(c + noise)
        sat = (raw >= sp.COUNTS_MAX) | (raw <= sp.COUNTS_MIN)
        out = np.clip(raw, sp.COUNTS_MIN, sp.COUNTS_MAX).astype(np.int32)
        self.t = float(s[-1])
        self._retire()
        return out, sat

    def _flicker(self, dt: np.ndarray, sig: float) -> np.ndarray:
        # x[k] = r x[k-1] + e[k], evaluated as r^k (x0 + cumsum(r^-j e[j])) in short chunks
        n = len(dt)
        out = np.empty((n, 4))
        r = float(np.exp(-np.mean(dt) / self.cfg.flicker_tau_s))
        e = self.rng.standard_normal((n, 4)) * sig * math.sqrt(1 - r * r)
        prev = self.flick
        for a in range(0, n, 256):
            b = min(n, a + 256)
            k = np.arange(1, b - a + 1, dtype=float)[:, None]
            out[a:b] = r**k * (prev + np.cumsum(e[a:b] * r ** (-k), axis=0))
            prev = out[b - 1]
        self.flick = prev
        return out

    def skip_to(self, t_ms: int, shots: bool = True) -> None:
        """Jumps the model to t_ms without producing samples (used while quiet). With
        ``shots=False`` the wheel impacts of a push in the skipped span leave no rings."""
        s = self._s(t_ms)
        dt = s - self.t
        if dt <= 0:
            return
        cfg = self.cfg
        self._emit_push_shots(s, ring=shots)
        self.temp += float(self.rng.standard_normal()) * math.sqrt(dt) * cfg.temp_walk_c_per_sqrt_s
        rho = math.exp(-dt / cfg.flicker_tau_s)
        sig = cfg.flicker_nv_rms * 1e-9 * cfg.counts_per_volt
        self.flick = rho * self.flick + self.rng.standard_normal(4) * sig * math.sqrt(1 - rho**2)
        self.t = s
        self._retire()

    def static_counts(self) -> np.ndarray:
        """Noise-free counts at the present (forces, creep, temperature; no noise)."""
        F = self.net_force(np.array([self.t]))[0] + self.temp * self.tempco
        return self.offset + F * self.counts_per_g

    def true_counts_per_gram(self) -> np.ndarray:
        return self.counts_per_g.copy()
