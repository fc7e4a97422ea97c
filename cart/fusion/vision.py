"""What the classifier's verdict means for the basket: *confirm* and *suggest*.

Both are pure functions of a ``VisionVerdict`` (its top-k ``(fine label, probability)`` list),
the class hierarchy (fine class -> coarse class, from ``models/labels.csv``) and, for suggest,
the catalogue's produce. They cost a few microseconds, so the core can call them on every
placement and replay them from the journal with the same result.

confirm(verdict, scanned_label, hierarchy) -> Confirmation
    ``confirm``  the photo supports the scanned product: its fine class has probability
                 >= ``policy.confirm_fine`` (level "fine"), or its coarse class (e.g. any apple
                 for a scanned Pink Lady) has >= ``policy.confirm_coarse`` (level "coarse").
    ``mismatch`` at most ``policy.mismatch_max`` belongs to the scanned product's coarse class
                 (its share of the probability left outside the top-k estimated by how many of
                 its fine classes are outside) and one other coarse class has
                 >= ``policy.mismatch_other``.
    ``unsure``   anything else, and always when the scanned product has no vision label.
    ``confidence`` is the probability behind the verdict: P(scanned coarse class) for confirm,
    P(another coarse class) for mismatch, the larger of the two for unsure.

suggest(verdict, products, hierarchy) -> up to three Suggestions (PLU, label, score), best first,
    for produce placed with no code. ``products`` is a ``cart.store.model.Catalog`` (only the labels
    of the coarse classes in the verdict are looked up) or any iterable of products. A
    product's score is its fine label's probability; ties and products whose label is outside the
    top-k are ordered by their coarse class's probability.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cart.common.events import VisionVerdict
from cart.common.profile import reject_unknown_keys

CONFIRM = "confirm"
MISMATCH = "mismatch"
UNSURE = "unsure"


class ProduceLike(Protocol):
    """What suggest needs from a catalogue product."""

    label: str  # fine class name ("" or None: not recognisable by the camera)
    plu: str | None  # price look-up code for loose produce; None for barcoded goods


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """Fine class name -> coarse class name, for every class the model knows."""

    coarse_of: Mapping[str, str]
    _members: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        members: dict[str, int] = {}
        for coarse in self.coarse_of.values():
            members[coarse] = members.get(coarse, 0) + 1
        object.__setattr__(self, "_members", members)

    def members(self, coarse: str) -> int:
        """How many fine classes the coarse class has."""
        return self._members.get(coarse, 0)

    def __len__(self) -> int:
        return len(self.coarse_of)

    @classmethod
    def load(cls, labels_path: str | Path | None = None) -> Hierarchy:
        from models.runtime import DEFAULT_LABELS, load_labels

        labels = load_labels(labels_path or DEFAULT_LABELS)
        return cls({lb.name: lb.coarse for lb in labels})

    def coarse(self, label: str) -> str | None:
        return self.coarse_of.get(label)

    def __contains__(self, label: object) -> bool:
        return label in self.coarse_of


@dataclass(frozen=True, slots=True)
class VisionPolicy:
    confirm_fine: float = 0.50
    confirm_coarse: float = 0.70
    mismatch_max: float = 0.10
    mismatch_other: float = 0.50

    def __post_init__(self):
        for name in ("confirm_fine", "confirm_coarse", "mismatch_max", "mismatch_other"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not (0.0 <= value <= 1.0)
            ):
                raise ValueError(f"vision policy {name} must be a number in 0..1, got {value!r}")
        if self.mismatch_max >= self.confirm_coarse:
            raise ValueError("vision policy mismatch_max must be below confirm_coarse")


@dataclass(frozen=True, slots=True)
class Confirmation:
    verdict: str  # "confirm" | "mismatch" | "unsure"
    confidence: float  # probability behind the verdict, 0..1
    level: str  # "fine" | "coarse" | "" (which level of the hierarchy decided)
    expected: str  # the scanned product's label
    seen: str  # the classifier's best label ("" if the verdict was empty)
    seen_probability: float


@dataclass(frozen=True, slots=True)
class Suggestion:
    plu: str
    label: str
    score: float  # probability of the label (0 when only its coarse class was seen)
    coarse_score: float


def _checked_top(verdict: VisionVerdict) -> tuple[tuple[str, float], ...]:
    top = verdict.top
    total = 0.0
    for entry in top:
        if (
            not isinstance(entry, tuple)
            or len(entry) != 2
            or not isinstance(entry[0], str)
            or isinstance(entry[1], bool)
            or not isinstance(entry[1], int | float)
            or not 0.0 <= entry[1] <= 1.0
        ):
            raise ValueError(f"vision verdict entries must be (label, probability 0..1): {entry!r}")
        total += entry[1]
    if total > 1.0 + 1e-3:
        raise ValueError(f"vision verdict probabilities add up to {total:.4f} > 1")
    return top


def _coarse_mass(top, hierarchy: Hierarchy) -> dict[str, float]:
    mass: dict[str, float] = {}
    for label, p in top:
        c = hierarchy.coarse(label)
        if c is not None:
            mass[c] = mass.get(c, 0.0) + p
    return mass


def confirm(
    verdict: VisionVerdict,
    expected_label: str | None,
    hierarchy: Hierarchy,
    policy: VisionPolicy = VisionPolicy(),
) -> Confirmation:
    """Does the placed item look like the scanned product (label ``expected_label``)?"""
    top = _checked_top(verdict)
    seen, seen_p = (top[0][0], float(top[0][1])) if top else ("", 0.0)
    expected = expected_label or ""
    coarse = hierarchy.coarse(expected) if expected else None
    if coarse is None or not top:
        return Confirmation(UNSURE, 0.0, "", expected, seen, seen_p)
    p_fine = sum(p for label, p in top if label == expected)
    mass = _coarse_mass(top, hierarchy)
    p_coarse = mass.get(coarse, 0.0)
    # Probability outside the top-k is shared by the classes outside it; the scanned coarse
    # class's share is estimated by how many of its fine classes are out there.
    residual = max(0.0, 1.0 - sum(p for _, p in top))
    listed = {label for label, _ in top if label in hierarchy}
    outside = len(hierarchy) - len(listed)
    coarse_outside = hierarchy.members(coarse) - sum(
        1 for label in listed if hierarchy.coarse(label) == coarse
    )
    p_upper = p_coarse + (residual * coarse_outside / outside if outside else 0.0)
    other = max((p for c, p in mass.items() if c != coarse), default=0.0)
    if p_fine >= policy.confirm_fine:
        return Confirmation(CONFIRM, round(p_coarse, 4), "fine", expected, seen, seen_p)
    if p_coarse >= policy.confirm_coarse:
        return Confirmation(CONFIRM, round(p_coarse, 4), "coarse", expected, seen, seen_p)
    against = 1.0 - p_upper
    if p_upper <= policy.mismatch_max and other >= policy.mismatch_other:
        return Confirmation(MISMATCH, round(against, 4), "coarse", expected, seen, seen_p)
    return Confirmation(UNSURE, round(max(p_coarse, against), 4), "", expected, seen, seen_p)


def suggest(
    verdict: VisionVerdict, products: Iterable[ProduceLike], hierarchy: Hierarchy, k: int = 3
) -> list[Suggestion]:
    """The ``k`` most likely PLUs among ``products`` (those with a PLU and a known label)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    top = _checked_top(verdict)
    fine: dict[str, float] = {}
    for label, p in top:
        fine[label] = fine.get(label, 0.0) + p
    mass = _coarse_mass(top, hierarchy)
    if hasattr(products, "by_label"):  # a cart.store.model.Catalog: look up only the likely labels
        products = [
            p
            for label, coarse in hierarchy.coarse_of.items()
            if coarse in mass
            for p in products.by_label(label)
        ]
    ranked = []
    seen_plus = set()
    for product in products:
        plu = getattr(product, "plu", None)
        label = getattr(product, "label", None) or ""
        if not plu or label not in hierarchy or plu in seen_plus:
            continue
        seen_plus.add(plu)
        score = fine.get(label, 0.0)
        cscore = mass.get(hierarchy.coarse_of[label], 0.0)  # label in hierarchy: checked above
        if score <= 0.0 and cscore <= 0.0:
            continue
        ranked.append(Suggestion(str(plu), label, round(score, 4), round(cscore, 4)))
    ranked.sort(key=lambda s: (-s.score, -s.coarse_score, s.plu))
    return ranked[:k]


def verdict_from_probabilities(
    t_ms: int, ranked: Iterable[tuple[str, float]], source: str = "camera"
) -> VisionVerdict:
    """A ``VisionVerdict`` from a classifier's ranked ``(label, probability)`` list."""
    top = tuple((str(label), round(float(p), 4)) for label, p in ranked)
    return VisionVerdict(t_ms=int(t_ms), top=top, source=source)


@dataclass(frozen=True, slots=True)
class ClassifierSettings:
    """The ``[classifier]`` section of a hardware profile, validated."""

    model: Path
    labels: Path
    threads: int = 1
    top_k: int = 5
    policy: VisionPolicy = VisionPolicy()

    KEYS = (
        "model",
        "labels",
        "threads",
        "top_k",
        "confirm_fine",
        "confirm_coarse",
        "mismatch_max",
        "mismatch_other",
    )

    @classmethod
    def from_profile(cls, section: Mapping, root: Path | None = None) -> ClassifierSettings:
        """Build from a parsed ``[classifier]`` table; paths are relative to ``root``."""
        from models.runtime import DEFAULT_LABELS, DEFAULT_MODEL

        root = Path(root) if root is not None else DEFAULT_MODEL.parents[1]
        reject_unknown_keys("classifier", section, cls.KEYS)

        def path(key, default):
            value = section.get(key)
            if value is None:
                return default
            if not isinstance(value, str) or not value:
                raise ValueError(f"[classifier] {key} must be a non-empty path string")
            return root / value

        def integer(key, default, lo, hi):
            value = section.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"[classifier] {key} must be an integer {lo}..{hi}, got {value!r}")
            return value

        policy = VisionPolicy(
            **{
                k: section[k]
                for k in ("confirm_fine", "confirm_coarse", "mismatch_max", "mismatch_other")
                if k in section
            }
        )
        return cls(
            path("model", DEFAULT_MODEL),
            path("labels", DEFAULT_LABELS),
            integer("threads", 1, 1, 16),
            integer("top_k", 5, 1, 81),
            policy,
        )
