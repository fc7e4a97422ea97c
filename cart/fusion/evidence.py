"""The evidence maths: weight likelihoods, the camera's judgement of a product, and the search
for the set of expected items a weight change is.

Pure functions, with no reconciler state: what they need about products comes in as arguments
(``ProductFacts``: the catalogue's labels and the learned weights, read-only), what they decide
goes out as return values. The rules in ``cart.fusion.rules`` call them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from cart.fusion.alerts import Candidate
from cart.fusion.config import CameraSettings, MatchSettings
from cart.fusion.products import Product

SQRT2PI = math.sqrt(2 * math.pi)

Verdict = Sequence[tuple[str, float]]  # the camera's top-k (label, probability), best first


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What the evidence maths reads about products: which show a classifier label, what each
    is expected to weigh (mean, σ), and how many labels the camera tells apart."""

    by_label: Callable[[str], Iterable[Product]]
    weight_of: Callable[[Product], tuple[float, float]]
    n_labels: int


# ---- weights ----------------------------------------------------------------------------------


def tolerance(var: float, noise: float, m: MatchSettings) -> float:
    """How far a weight may be from an expectation of variance ``var`` (the scale's noise
    ``noise`` added) and still fit it: ``match_k`` σ, never tighter than ``match_floor_g``."""
    return max(m.match_floor_g, m.match_k * math.sqrt(var + noise * noise))


def gaussian_pdf(x: float, mean: float, sd: float) -> float:
    return math.exp(-0.5 * ((x - mean) / sd) ** 2) / (SQRT2PI * sd)


def counts_that_fit(
    r: float, mean: float, sig: float, noise: float, lo: int, n: int, m: MatchSettings
) -> list[int]:
    """The counts k in [lo, n + 2] for which k items of weight (``mean``, ``sig``) fit ``r``."""
    return [k for k in range(lo, n + 3) if abs(r - k * mean) <= tolerance(k * sig * sig, noise, m)]


# ---- which expected items a change is -------------------------------------------------------


class ItemKind(Enum):
    """What a weight expectation stands for (``best_subset`` treats them differently)."""

    PENDING_SCAN = "pending_scan"  # a scanned line waiting for its item: the camera may witness
    BILLED_LINE = "billed_line"  # a line whose item is on the scale
    DELETED_LINE = "deleted_line"  # a line deleted on screen whose item should leave


@dataclass(frozen=True, slots=True)
class Expected:
    """One item a weight change may be: its expected weight (mean, variance), when it was
    scanned (its age counts against it), and its product's camera label."""

    ref: Any  # what the caller gets back when this item is in the best set
    kind: ItemKind
    mean_g: float
    var: float
    t_ms: int | None = None  # None: no age
    label: str | None = None


def camera_loglik(label: str | None, top: Verdict, n_labels: int) -> float:
    """log P(the camera's verdict | the item shows ``label``), up to a constant shared by all
    products: its probability for the label (at most the mass the top-k left when the label is
    not in it); a product the camera has no class for gets the average."""
    probs = dict(top)
    if not label:
        return math.log(1.0 / n_labels)
    floor = unlisted_floor(probs, n_labels, len(probs))
    return math.log(max(probs.get(label, floor), 1e-4))


def best_subset(
    r: float,
    items: Sequence[Expected],
    noise: float,
    m: MatchSettings,
    *,
    max_subset: int,
    now: int,
    top: Verdict | None = None,
    n_labels: int = 10,
    leave_cost: float = 0.0,
) -> list | None:
    """The refs of the subset of ``items`` whose total best fits ``r``, or None.

    The smallest set that fits wins (the scale reports items placed one after the other as
    separate changes); among sets of that size, the best Gaussian log-likelihood, minus
    ``leave_cost`` for each item left out and a little for each minute of age (from ``now``).
    With the camera's ``top``, a single pending scan also gets the camera's log-likelihood of
    its label (the camera is a second witness of which scan it was).
    """
    items = list(items)[-12:][::-1]  # the 12 most recent expectations, newest first
    best = None
    n = len(items)
    for k in range(1, min(max_subset, n) + 1):
        for combo in itertools.combinations(items, k):
            mean = sum(c.mean_g for c in combo)
            var = sum(c.var for c in combo)
            z = abs(r - mean) / tolerance(var, noise, m)
            if z <= 1.0:
                # Gaussian log-likelihood: a narrow expectation that fits beats a wide one that
                # fits as well; what was scanned last is most likely what went in, so older
                # expectations pay a little per minute of age
                s2 = var + noise * noise
                age = sum(max(0, now - (now if c.t_ms is None else c.t_ms)) for c in combo)
                score = (
                    -0.5 * (r - mean) ** 2 / s2
                    - 0.5 * math.log(s2)
                    - leave_cost * (n - k)
                    - 0.3 * age / 60_000
                )
                if top and k == 1 and combo[0].kind is ItemKind.PENDING_SCAN:
                    score += camera_loglik(combo[0].label, top, n_labels)
                if best is None or score > best[0] + 1e-9:
                    best = (score, combo)
        if best is not None:
            break  # items mostly arrive one at a time: the smallest fitting set wins
    return None if best is None else [c.ref for c in best[1]]


# ---- the camera ---------------------------------------------------------------------------------


def unlisted_floor(probs: Mapping[str, float], n_labels: int, n_listed: int) -> float:
    """The most probability a label outside the camera's top-k can have: the mass the top-k
    left, spread over the labels it left out (at most half its weakest label, at least 1e-4)."""
    rest = max(0.0, 1.0 - sum(probs.values()))
    return max(1e-4, min(0.5 * min(probs.values()), rest / max(1, n_labels - n_listed)))


def posterior(
    p: Product,
    grams: float | None,
    top: Verdict | None,
    facts: ProductFacts,
    s: CameraSettings,
    *,
    dearer_only: bool = True,
    prior: float | None = None,
    count: int = 1,
) -> float | None:
    """P(the placed item is ``p``) from the camera's top-k and the weight; None: no view.

    ``dearer_only``: only look-alikes that cost more count as alternatives (judging a scan: a
    cheaper look-alike cannot undercharge). Without a scan (an item put back, more of the same)
    every alternative counts. ``grams``: the item's own weight, a second witness (None: the
    weight says nothing). ``count`` > 1: ``grams`` is a placement the shopper says holds that
    many of ``p``; an alternative may be any number of its own, up to as many."""
    if not top or not p.label:
        return None
    probs = dict(top)
    # a label outside the top-k has at most the mass the top-k leaves, spread thin
    floor = unlisted_floor(probs, facts.n_labels, len(top))
    noise = s.scale_sigma_g

    def wlik(q: Product) -> float:
        if q.by_weight or grams is None:
            return 1.0 / 3000.0  # produce: any weight is plausible
        mean, sig = facts.weight_of(q)
        ks = (count,) if q.id == p.id else range(1, count + 1)
        return (
            max(gaussian_pdf(grams, k * mean, math.sqrt(k * sig * sig + noise * noise)) for k in ks)
            + 1e-12
        )

    prior = s.vision_prior if prior is None else prior
    conf = s.camera_confusion
    top1 = top[0][0]
    w = s.confusion_weight
    coarse = coarse_view(top, s)

    def vlik(label: str, prob: float) -> float:
        row = conf.get(label) if conf is not None else None
        if row is None:
            return prob
        if coarse is not None:  # how often this label's photos come out in top-1's coarse class
            shared = [v for k, v in row.items() if k and coarse.of.get(k) == coarse.top1]
            return (1.0 - w) * prob + w * (sum(shared) if shared else row.get("", 0.0))
        return (1.0 - w) * prob + w * row.get(top1, row.get("", 0.0))

    if coarse is not None:
        p_cam, seen = coarse.weigh(p.label, top, floor)
    else:
        p_cam = probs.get(p.label, floor)
        seen = [(label, prob) for label, prob in top if prob >= s.vision_min_alt]
    ps = prior * vlik(p.label, p_cam) * wlik(p)
    alts = []
    if conf is not None and coarse is None:  # labels whose photos often come out as this top-1
        seen += [
            (label, floor)
            for label, row in conf.items()
            if label not in probs and row.get(top1, 0.0) >= s.confusion_alt
        ]
    for label, prob in seen:
        if label == p.label:
            continue
        # only what would cost more is an alternative worth asking about: a look-alike that is
        # cheaper (or the same price) cannot undercharge
        if dearer_only:
            qs = [
                q
                for q in facts.by_label(label)
                if q.id != p.id
                and q.by_weight == p.by_weight
                and q.price_minor > p.price_minor * (1.0 + s.vision_price_margin)
            ]
        else:
            qs = [q for q in facts.by_label(label) if q.id != p.id]
        if qs:
            alts.append(vlik(label, prob) * max(wlik(q) for q in qs))
    if not alts:
        return 1.0
    pa = (1.0 - prior) * (max(alts) if s.best_alternative else sum(alts) / len(alts))
    return ps / (ps + pa)


@dataclass(frozen=True, slots=True)
class CoarseView:
    """A verdict read at the coarse level: its best fine label was unsure, its coarse class
    may not be (three apple varieties at 0.3 each are one apple at 0.9)."""

    of: Mapping[str, str]  # fine label -> coarse class
    mass: Mapping[str, float]  # coarse class -> the verdict's probability for it
    top1: str | None  # the verdict's best coarse class
    min_alt: float

    def weigh(
        self, label: str, top: Verdict, floor: float
    ) -> tuple[float, list[tuple[str, float]]]:
        """(the camera's probability for ``label``, its alternatives) at the coarse level: a
        label counts with its coarse class's probability; the labels of the scanned product's
        own coarse class are no alternatives (the camera cannot tell them apart, the scan names
        the variety); those of another coarse class holding at least ``min_alt`` are."""
        mine = self.of.get(label)
        p = self.mass.get(mine, floor) if mine is not None else dict(top).get(label, floor)
        alts = []
        for k, _ in top:
            c = self.of.get(k)
            if c is not None and c != mine and self.mass[c] >= self.min_alt:
                alts.append((k, self.mass[c]))
        return p, alts


def coarse_view(top: Verdict, s: CameraSettings) -> CoarseView | None:
    """The verdict at the coarse level when its best fine label is below ``vision_fine_sure``
    and the hierarchy is known; None: weigh it by fine label."""
    of = s.camera_coarse
    if not of or not top or top[0][1] >= s.vision_fine_sure:
        return None
    mass: dict[str, float] = {}
    for label, prob in top:
        c = of.get(label)
        if c is not None:
            mass[c] = mass.get(c, 0.0) + prob
    if not mass:
        return None
    best = max(mass.items(), key=lambda kv: kv[1])[0]
    return CoarseView(of, mass, best, s.vision_min_alt)


def camera_vetoes(
    p: Product,
    grams: float,
    top: Verdict | None,
    facts: ProductFacts,
    s: CameraSettings,
    just_placed: set[str],
) -> bool:
    """A scan of ``p`` fits this weight only loosely (wide-tolerance produce sold each: melons,
    pineapples), and the camera sees, at 0.5 or more, another product whose weight fits ten
    times better (not one in ``just_placed``, product ids scanned and placed a moment ago: the
    two weights were swapped), and the posterior of ``p`` is below 0.5: the placement is that
    other item (put in before its scan), not this one."""
    if not top or not p.label or p.by_weight:
        return False
    mean, sig = facts.weight_of(p)
    sd = math.sqrt(sig * sig + s.scale_sigma_g**2)
    wl_p = gaussian_pdf(grams, mean, sd)
    better = False
    for label, prob in top:
        if label == p.label or prob < 0.5:
            continue
        for q in facts.by_label(label):
            if q.id == p.id or q.by_weight or q.id in just_placed:
                continue
            qm, qs = facts.weight_of(q)
            sd_q = math.sqrt(qs * qs + s.scale_sigma_g**2)
            better = better or gaussian_pdf(grams, qm, sd_q) > 10.0 * wl_p
    if not better:
        return False
    post = posterior(p, grams, top, facts, s, dearer_only=False)
    return post is not None and post < 0.5


def joint(post: float, earlier: float | None, s: CameraSettings) -> float:
    """The posterior of two views of the same item, each judged alone from the same prior
    (their likelihood ratios multiply). ``earlier`` None, or ``joint_views`` off: ``post``."""
    if earlier is None or not s.joint_views:
        return post
    prior = s.vision_prior
    eps = 1e-9
    odds = (
        (post / max(eps, 1.0 - post))
        * (earlier / max(eps, 1.0 - earlier))
        / (prior / (1.0 - prior))
    )
    return odds / (1.0 + odds)


def produce_suggestions(
    top: Verdict | None, by_label: Callable[[str], Iterable[Product]]
) -> list[Candidate]:
    """Produce the camera's verdict shows, in its order, scored by its probability."""
    if not top:
        return []
    seen: set[str] = set()
    cands = []
    for label, prob in top:
        for p in by_label(label):
            if p.by_weight and p.id not in seen:
                seen.add(p.id)
                code = p.codes[0] if p.codes else p.id
                cands.append(Candidate(code, p.name, float(prob)))
    return cands


def produce_share(top: Verdict | None, by_label: Callable[[str], Iterable[Product]]) -> float:
    """How sure the camera is that it saw produce: the probability its top-k gives to labels
    of produce sold by weight, together (three close apples are one sure sighting of produce,
    however unsure the camera is which)."""
    if not top:
        return 0.0
    return min(
        1.0, sum(float(prob) for label, prob in top if any(p.by_weight for p in by_label(label)))
    )


def camera_confusion_from(
    verdicts: Mapping[str, Iterable], alpha: float = 0.1
) -> dict[str, dict[str, float]]:
    """The classifier's measured confusion, for ``FusionConfig.camera_confusion``.

    ``verdicts``: label -> the top-k ``(label, probability)`` lists of its validation photos
    (what the shipped model said about photos of that label). Returns label -> {top-1 label:
    its smoothed share}, with "" the share of a top-1 never seen for that label (additive
    smoothing ``alpha`` over every label measured). It describes the model, not one photo:
    a model that calls a fifth of its oranges satsumas makes "satsumas" weak evidence against
    an orange, however sure it sounds."""
    if alpha <= 0:
        raise ValueError(f"confusion smoothing alpha must be positive, got {alpha!r}")
    n = max(1, len(verdicts))
    out: dict[str, dict[str, float]] = {}
    for label, rows in verdicts.items():
        counts: dict[str, int] = {}
        total = 0
        for top in rows:
            if not top:
                continue
            first = str(top[0][0])
            counts[first] = counts.get(first, 0) + 1
            total += 1
        if not total:
            continue
        denom = total + alpha * n
        row = {k: (c + alpha) / denom for k, c in counts.items()}
        row[""] = alpha / denom
        out[str(label)] = row
    return out
