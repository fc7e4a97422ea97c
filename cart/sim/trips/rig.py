"""The simulated devices of one cart on a trip: scanner, scale and camera together."""

from __future__ import annotations

import random

from cart.common.events import Scan, VisionVerdict
from cart.sim.shopper import Profile
from cart.sim.trips.scales import BridgeScale, ModelledScale
from cart.sim.trips.vision import ModelledVision


class Rig:
    """The simulated devices of one cart: scanner bytes through the real parser (when the
    scanner driver is present), a scale, a camera model."""

    def __init__(
        self,
        profile: Profile,
        labels: list[tuple[str, str]],
        seed: int,
        vision=None,
        scale: str = "model",
        scale_sigma_g: float | None = None,
    ) -> None:
        self.rng = random.Random(seed * 7919 + 17)
        self.profile = profile
        if scale == "bridge":
            self.scale = BridgeScale(profile, seed)
        else:
            self.scale = ModelledScale(profile, self.rng, sigma_g=scale_sigma_g)
        self.vision = vision or ModelledVision(labels, 0.86, self.rng)
        try:
            from cart.sim.scanner import ScannerSim, aim_for
            from drivers.scanner import ScanDecoder, ScannerConfig

            self._sim = ScannerSim("trip", seed=seed)
            self._aim = aim_for
            self._dec = ScanDecoder(ScannerConfig(name="trip"))
        except ImportError:  # the scanner driver is not installed: plain events
            self._sim = self._dec = None
            self._aim = lambda code: "]C0" if len(code) in (4, 5) else "]E0"

    def scan(self, t: int, code: str) -> list:
        if self.rng.random() < self.profile.scan_misread_rate:
            t += int(self.rng.uniform(700, 2000))  # no read; the shopper tries again
        aim = self._aim(code)
        if self._dec is None:
            return [Scan(t, code, aim, "scanner:trip")]
        return self._dec.feed(self._sim.frame(code, aim), t)

    def view(self, t: int, label: str | None, *, held: bool = False) -> list:
        if not held and getattr(self.vision, "blind", False):
            return []
        if not held and self.rng.random() >= self.profile.camera_view_rate:
            return []
        top = self.vision.verdict(label)
        return [VisionVerdict(t, top, "camera:basket")] if top else []
