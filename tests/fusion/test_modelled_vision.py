"""The trip bench's modelled camera speaks as the classifier does: a softmax's top-k."""

from __future__ import annotations

import random

from cart.common.events import VisionVerdict
from cart.fusion.vision import _checked_top
from cart.sim.trips.vision import ModelledVision

LABELS = [(f"Fine-{i}", f"coarse-{i % 7}") for i in range(40)]


def test_modelled_verdicts_are_a_softmax_top_k():
    # the camera's verdicts once summed to as much as 1.75 (the produce screen's suggestions
    # then refused them): right, confused and unknown items, each checked as the engine does
    cam = ModelledVision(LABELS, acc=0.6, rng=random.Random(5))
    for i in range(3000):
        label = None if i % 5 == 0 else LABELS[i % len(LABELS)][0]
        top = cam.verdict(label)
        assert top is not None and len(top) == 5
        assert _checked_top(VisionVerdict(0, top, "camera:basket")) == top
        ps = [p for _, p in top]
        assert ps == sorted(ps, reverse=True) and all(0 <= p <= 1 for p in ps)
        assert sum(ps) <= 1 + 1e-9
