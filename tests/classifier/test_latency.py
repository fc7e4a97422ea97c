"""Timing candidate backbones in turns (the conversion itself needs the train extra)."""

from __future__ import annotations

from models.runtime import DEFAULT_MODEL, FLOAT_MODEL
from models.training.latency import BACKBONES, time_models


def test_models_are_timed_in_turns_on_one_thread():
    times = time_models({"int8": DEFAULT_MODEL, "float": FLOAT_MODEL}, rounds=4, warmup=1)
    assert set(times) == {"int8", "float"}
    assert all(len(t) == 4 and all(x > 0 for x in t) for t in times.values())


def test_each_candidate_has_its_reference_input_size():
    assert {k: v[2] for k, v in BACKBONES.items()} == {"lite0": 224, "lite1": 240, "lite2": 260}
