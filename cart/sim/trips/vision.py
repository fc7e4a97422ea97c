"""The trip's camera: verdicts from a stated confusion model (``ModelledVision``), or the
scenarios' perfect and blind cameras."""

from __future__ import annotations

import random


class ModelledVision:
    """Camera verdicts drawn from a stated confusion model: the right fine label is top-1 with
    ``acc``; otherwise a label of the same coarse class (60 %) or any other label leads and the
    right one is second or third (70 %) or absent. Probabilities are drawn like a softmax's."""

    def __init__(self, labels: list[tuple[str, str]], acc: float, rng: random.Random) -> None:
        self.labels = sorted(set(labels))
        self.coarse: dict[str, list[str]] = {}
        for fine, coarse in self.labels:
            self.coarse.setdefault(coarse, []).append(fine)
        self.fine = [f for f, _ in self.labels]
        self.coarse_of = dict(self.labels)
        self.acc, self.rng = acc, rng

    def verdict(self, label: str | None) -> tuple[tuple[str, float], ...] | None:
        rng = self.rng
        if label is None or label not in self.coarse_of:
            # something the classifier was not trained on: a diffuse guess
            picks = rng.sample(self.fine, 5)
            ps = sorted((rng.uniform(0.05, 0.35) for _ in picks), reverse=True)
            total = sum(ps)
            ps = [p / total for p in ps] if total > 1 else ps  # a softmax's top-k: at most 1
            return tuple(zip(picks, ps, strict=True))
        others = [f for f in self.fine if f != label]
        if rng.random() < self.acc:
            p1 = rng.uniform(0.55, 0.99)
            rest = rng.sample(others, 4)
            ps = [p1] + sorted((rng.uniform(0, 1 - p1) / 4 for _ in rest), reverse=True)
            return tuple(zip([label] + rest, ps, strict=True))
        sib = [f for f in self.coarse[self.coarse_of[label]] if f != label]
        lead = rng.choice(sib) if sib and rng.random() < 0.6 else rng.choice(others)
        p1 = rng.uniform(0.35, 0.9)
        rest = rng.sample([f for f in others if f != lead], 4)
        if rng.random() < 0.7:
            rest[rng.randrange(2)] = label
        tail = sorted((rng.uniform(0, 1 - p1) / 2 for _ in rest), reverse=True)
        room = (1 - p1) / sum(tail) if sum(tail) > 1 - p1 else 1.0  # the top-k sum to at most 1
        ps = [p1] + [p * room for p in tail]
        return tuple(zip([lead] + rest, ps, strict=True))


class PerfectVision:
    """A camera that always names the right label (p = 0.95): for scenarios that test the
    reconciler's logic rather than the classifier. A thing it has no label for (the shopper's
    own bag) it cannot name: a flat verdict, no label above 0.1 (not sure of produce either)."""

    def verdict(self, label: str | None):
        if label is None:
            return (("Lemon", 0.1), ("Lime", 0.1))
        return ((label, 0.95), ("Lemon", 0.02))


class NoVision(PerfectVision):
    """A camera that never sees an item put in (hidden by the shopper's hand or another item),
    only one the shopper holds up to it when asked: for scenarios where the weight and the
    scans must decide."""

    blind = True


def scenario_vision(camera: str):
    """The camera a scenario asks for: perfect, none, or None (the bench's default)."""
    if camera == "perfect":
        return lambda seed: PerfectVision()
    if camera == "none":
        return lambda seed: NoVision()
    return None
