"""Training in resumable chunks: a run stopped after any epoch and resumed from its checkpoint
ends exactly where an uninterrupted run ends (needs the ``train`` extra; skipped without it)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.training import checkpoint  # noqa: E402
from models.training.loop import Features, Loop  # noqa: E402
from models.training.net import EfficientNetLite0  # noqa: E402

CLASSES = 4


def args(**kw):
    base = dict(
        train_from=15,
        epochs=3,
        batch=8,
        lr=1e-3,
        weight_decay=0.01,
        label_smoothing=0.1,
        dropout=0.3,
        seed=5,
        views=2,
        ema=0.9,
    )
    return argparse.Namespace(**(base | kw))


def data() -> Features:
    rng = np.random.default_rng(0)
    views = [rng.normal(size=(30, 192, 7, 7)).astype(np.float16) for _ in range(2)]
    y = np.arange(30) % CLASSES
    fit = list(range(24))
    return Features(
        views,
        fit,
        y[fit],
        np.asarray(views[0][24:]),
        y[24:],
        views[1][:10].astype(np.float16),
        y[:10],
        np.array([0, 0, 1, 1]),
    )


def fresh(a) -> Loop:
    torch.manual_seed(a.seed)
    model = EfficientNetLite0(CLASSES, dropout=a.dropout)
    model.train_from = a.train_from
    return Loop(model, a, data())


def weights(loop: Loop) -> list:
    return [v.clone() for v in loop.model.state_dict().values()]


def test_a_stopped_run_resumes_to_the_same_model(tmp_path):
    a = args()
    straight = fresh(a)
    for _ in range(a.epochs):
        straight.epoch()

    first = fresh(a)
    first.epoch()
    checkpoint.save(tmp_path, first.state())
    del first
    resumed = fresh(a)  # a new process: new model, optimiser and random state
    resumed.restore(checkpoint.load(tmp_path))
    for _ in range(a.epochs - 1):
        resumed.epoch()

    for x, y in zip(weights(straight), weights(resumed), strict=True):
        assert torch.equal(x, y)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history]
    assert straight.best[0] == resumed.best[0]
    assert straight.select_on == "heldout"
    assert {"val", "heldout", "ema"} <= set(straight.history[-1])


def test_a_checkpoint_write_replaces_the_last_one_whole(tmp_path):
    assert checkpoint.load(tmp_path) is None
    checkpoint.save(tmp_path, {"history": [1]})
    checkpoint.save(tmp_path, {"history": [1, 2]})
    assert checkpoint.load(tmp_path)["history"] == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == [checkpoint.CHECKPOINT]


def test_the_run_key_names_settings_and_data_not_chunking():
    a = args()
    k = checkpoint.run_key(a, "data1", "held1")
    assert k == checkpoint.run_key(args(), "data1", "held1")
    assert k != checkpoint.run_key(args(lr=2e-3), "data1", "held1")
    assert k != checkpoint.run_key(a, "data2", "held1")
    assert k != checkpoint.run_key(a, "data1", None)
    chunked = argparse.Namespace(**vars(a), epochs_per_run=1, threads=1, resume=True)
    assert checkpoint.run_key(chunked, "data1", "held1") == k


def test_data_hash_follows_photo_bytes_and_labels(tmp_path):
    p = tmp_path / "a.jpg"
    p.write_bytes(b"one")
    h = checkpoint.data_hash([(p, 1, 0)])
    assert checkpoint.data_hash([(p, 2, 0)]) != h
    p.write_bytes(b"two")
    assert checkpoint.data_hash([(p, 1, 0)]) != h
