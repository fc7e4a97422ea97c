"""What a rule is: a named step that claims an input (and acts on it) or passes it on.

A chain is an ordered tuple of rules; ``first_claim`` offers the input to each in turn and
stops at the first that claims it. A rule that passes changes nothing, unless its docstring
says otherwise. Each rule class names the thresholds it reads in ``Settings``, a frozen
dataclass of ``FusionConfig`` fields (``from_config`` fills it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from cart.fusion.alerts import Effect
from cart.fusion.config import FusionConfig, settings_from
from cart.fusion.state import State


@dataclass(frozen=True, slots=True)
class NoSettings:
    """A rule that reads no threshold of its own (weights still match at ``match_k`` σ)."""


class Step:
    """A named piece of fusion's logic with its own ``Settings`` (a frozen dataclass of
    ``FusionConfig`` fields; without one, the defaults)."""

    Settings: ClassVar[type] = NoSettings

    def __init__(self, settings: Any = None) -> None:
        self.s = settings_from(self.Settings, FusionConfig()) if settings is None else settings

    @classmethod
    def from_config(cls, cfg: FusionConfig):
        return cls(settings_from(cls.Settings, cfg))

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{self.name}({self.s})"


class Rule(Step):
    """A step of a chain. Subclasses say in their docstring what they claim and what they do,
    set ``Settings``, and implement ``apply``."""

    def apply(self, st: State, x: Any, out: list[Effect]) -> bool:
        """Claim ``x`` (act on it and return True) or leave it to the next rule (False)."""
        raise NotImplementedError


def load_shift_g(shift_frac: float, load_g: float) -> float:
    """What a load of ``load_g`` shifts by on its own (``FusionConfig.shift_frac`` of it):
    load-cell creep and hysteresis, and the corner error as items slide."""
    return shift_frac * max(load_g, 0.0)


def first_claim(rules: Sequence[Rule], st: State, x: Any, out: list[Effect]) -> Rule | None:
    """Offer ``x`` to each rule in order; the first that claims it is returned (None: none)."""
    for rule in rules:
        if rule.apply(st, x, out):
            return rule
    return None


def back_at(st: State, g: float, was: float, left: float, noise: float) -> bool:
    """A reading ``g`` is back at ``was``: within the tolerance of it for ``noise``, and nearer
    it than ``left``, the level the change left (a light item lowered or lifted slowly onto a
    noisy scale moves in steps each within the noise of where it began, but away from it)."""
    return abs(g - was) <= st.tol(0.0, noise) and abs(g - was) < abs(g - left)
