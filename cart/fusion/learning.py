"""Per-product weight learning: robust, bounded, seeded by the catalogue, persisted.

Each product starts from the catalogue: mean = ``unit_weight_g`` and σ = ``tolerance_g`` / 2
(the catalogue tolerance is read as ±2 σ). A confirmed single-item placement (its scan matched
the weight and the camera did not object) updates the estimate:

- the observation is clipped to mean ± ``clip_sigma`` σ (Huber-style), so one outlier — a
  damp bag, an item placed on a hand — moves the mean by at most
  ``clip_sigma`` σ / (n + prior_n + 1);
- the catalogue seed counts as ``prior_n`` (5) observations, so one placement cannot replace it;
- the running weight n is capped at ``max_n`` so the estimate keeps following slow changes
  (a supplier changes the packaging) without forgetting everything at once;
- the mean never leaves seed ± max(tolerance, ``max_shift_frac`` × seed), and σ stays within
  [``min_sigma_g``, ``max_sigma_factor`` × seed σ]: learning can tighten or widen the match
  window, never wander off to accept a different product.

By-weight products are not learned (their weight is what is billed). ``save``/``load`` keep the
estimates in a JSON file written atomically (temporary file, fsync, rename); a corrupt or
mismatched file is reported and ignored (the catalogue seeds are used), never half-loaded.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from cart.fusion.products import Product

FORMAT = "cart.fusion.weights/1"


@dataclass(frozen=True, slots=True)
class WeightEstimate:
    mean_g: float
    sigma_g: float
    n: int


class WeightModel:
    def __init__(
        self,
        *,
        clip_sigma: float = 2.5,
        max_n: int = 50,
        max_shift_frac: float = 0.10,
        min_sigma_g: float = 0.5,
        max_sigma_factor: float = 2.0,
        prior_n: int = 5,
    ) -> None:
        self.prior_n = prior_n
        self.clip_sigma = clip_sigma
        self.max_n = max_n
        self.max_shift_frac = max_shift_frac
        self.min_sigma_g = min_sigma_g
        self.max_sigma_factor = max_sigma_factor
        self._est: dict[str, WeightEstimate] = {}

    @staticmethod
    def seed(p: Product) -> WeightEstimate:
        return WeightEstimate(float(p.unit_weight_g), max(0.5, p.tolerance_g / 2.0), 0)

    def estimate(self, p: Product) -> WeightEstimate:
        e = self._est.get(p.id)
        return e if e is not None else self.seed(p)

    def observe(self, p: Product, grams: float) -> WeightEstimate:
        """Learn from one confirmed placement of one ``p`` weighing ``grams``."""
        if p.by_weight or not math.isfinite(grams) or grams <= 0 or p.unit_weight_g <= 0:
            return self.estimate(p)
        e = self.estimate(p)
        s = self.seed(p)
        lo_x, hi_x = e.mean_g - self.clip_sigma * e.sigma_g, e.mean_g + self.clip_sigma * e.sigma_g
        x = min(max(grams, lo_x), hi_x)
        # the catalogue seed counts as ``prior_n`` observations; the running weight is capped
        n = min(e.n, self.max_n) + self.prior_n
        mean = e.mean_g + (x - e.mean_g) / (n + 1)
        var = (n * e.sigma_g**2 + (x - e.mean_g) * (x - mean)) / (n + 1)
        shift = max(p.tolerance_g, self.max_shift_frac * s.mean_g)
        mean = min(max(mean, s.mean_g - shift), s.mean_g + shift)
        sigma = min(
            max(math.sqrt(max(var, 0.0)), self.min_sigma_g), self.max_sigma_factor * s.sigma_g
        )
        new = WeightEstimate(mean, sigma, e.n + 1)
        self._est[p.id] = new
        return new

    # ---- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "products": {
                k: {"mean_g": v.mean_g, "sigma_g": v.sigma_g, "n": v.n}
                for k, v in sorted(self._est.items())
            },
        }

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        data = json.dumps(self.to_dict(), indent=1, sort_keys=True).encode()
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def load(self, path: str | Path, products: dict[str, Product]) -> list[str]:
        """Load estimates; returns the problems found (the file is then ignored as a whole)."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            return [f"{path}: unreadable weight file ({exc}); using catalogue weights"]
        problems: list[str] = []
        est: dict[str, WeightEstimate] = {}
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            return [f"{path}: not a {FORMAT} file; using catalogue weights"]
        entries = raw.get("products")
        if not isinstance(entries, dict):
            return [f"{path}: 'products' must be a table; using catalogue weights"]
        for pid, v in entries.items():
            p = products.get(pid)
            if p is None:
                problems.append(f"{path}: product {pid!r} is not in the catalogue (skipped)")
                continue
            try:
                m, sg, n = float(v["mean_g"]), float(v["sigma_g"]), int(v["n"])
            except (KeyError, TypeError, ValueError):
                return [
                    f"{path}: product {pid!r}: needs mean_g, sigma_g, n; using catalogue weights"
                ]
            s = self.seed(p)
            shift = max(p.tolerance_g, self.max_shift_frac * s.mean_g)
            if (
                not (math.isfinite(m) and math.isfinite(sg))
                or abs(m - s.mean_g) > shift + 1e-9
                or sg <= 0
                or sg > self.max_sigma_factor * s.sigma_g + 1e-9
                or n < 0
            ):
                return [f"{path}: product {pid!r}: estimate out of bounds; using catalogue weights"]
            est[pid] = WeightEstimate(m, sg, n)
        self._est = est
        return problems
