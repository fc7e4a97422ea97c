"""The store's spot-check policy: ``[spot_check]`` in ``store.toml`` (docs/CATALOG.md).

A trip's risk score (``cart.basket.risk``) puts it in a band; each band has the share of its
trips that staff check at the exit. Absent, the defaults below apply (5 / 10 / 15 %, the range
scan-and-go stores use).

::

    [spot_check]
    low = 0.05           # audit rate of low-risk trips (0..1)
    medium = 0.10
    high = 0.15
    medium_from = 2.0    # a risk score this high or higher is medium ...
    high_from = 5.0      # ... and this high or higher is high
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KEYS = ("low", "medium", "high", "medium_from", "high_from")


@dataclass(frozen=True, slots=True)
class SpotCheckConfig:
    low: float = 0.05
    medium: float = 0.10
    high: float = 0.15
    medium_from: float = 2.0
    high_from: float = 5.0

    def rate(self, band: str) -> float:
        return {"low": self.low, "medium": self.medium, "high": self.high}[band]

    def band(self, score: float) -> str:
        if score >= self.high_from:
            return "high"
        return "medium" if score >= self.medium_from else "low"


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def problems(section: Any) -> list[tuple[str, str]]:
    """What is wrong with a ``[spot_check]`` table, as ``(field, message)`` pairs."""
    if section is None:
        return []
    if not isinstance(section, Mapping):
        return [("", "must be a table")]
    out = [(k, "unknown key (known: " + ", ".join(KEYS) + ")") for k in section if k not in KEYS]
    values: dict[str, float] = {}
    for k in KEYS:
        if k not in section:
            continue
        v = _number(section[k])
        if v is None:
            out.append((k, f"must be a number, got {section[k]!r}"))
        elif k in ("low", "medium", "high") and not 0.0 <= v <= 1.0:
            out.append((k, f"an audit rate is between 0 and 1 (0.10 is 10 %), got {v}"))
        elif k.endswith("_from") and not 0.0 < v <= 1000.0:
            out.append((k, f"a risk threshold is above 0 (and at most 1000), got {v}"))
        else:
            values[k] = v
    if not out:
        cfg = _build(values)
        if not cfg.low <= cfg.medium <= cfg.high:
            out.append(("", "the rates must not fall as risk rises (low <= medium <= high)"))
        if not cfg.medium_from <= cfg.high_from:
            out.append(("high_from", "must be at least medium_from"))
    return out


def _build(values: Mapping[str, float]) -> SpotCheckConfig:
    return SpotCheckConfig(**{k: float(v) for k, v in values.items()})


def from_table(section: Any) -> SpotCheckConfig:
    """The validated policy (defaults when ``section`` is None); ValueError lists the problems."""
    found = problems(section)
    if found:
        raise ValueError("[spot_check]: " + "; ".join(f"{k}: {m}" if k else m for k, m in found))
    return _build(section or {})


def for_store(store: Any) -> SpotCheckConfig:
    """The policy of a loaded ``cart.store.model.Store`` (from the ``store.toml`` bytes it was
    loaded from; those bytes were validated at load, so this does not fail on them)."""
    raw = getattr(store, "sources", (b"", b""))[0]
    if not raw:
        return SpotCheckConfig()
    return from_table(tomllib.loads(raw.decode("utf-8")).get("spot_check"))
