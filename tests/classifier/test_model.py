"""The shipped model: its files, its labels, and its accuracy on a fixed val subset."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from cart.bench.classify import scores
from models.preprocess import prepare_file
from models.runtime import DEFAULT_MODEL, FLOAT_MODEL, Classifier, load_labels

# Measured on this 99-photo subset (every third val photo) with the shipped int8 model:
# fine top-1 0.859 (85/99), fine top-3 0.919 (91/99), coarse top-1 0.929 (92/99).
# The floors leave about four photos of slack for interpreter and CPU differences.
FLOOR_FINE_TOP1 = 0.81
FLOOR_FINE_TOP3 = 0.87
FLOOR_COARSE_TOP1 = 0.88


def test_model_files_are_small_litert_models():
    assert DEFAULT_MODEL.stat().st_size <= 6 * 1024 * 1024
    assert DEFAULT_MODEL.read_bytes()[4:8] == b"TFL3"
    assert FLOAT_MODEL.read_bytes()[4:8] == b"TFL3"


def test_labels_are_the_dataset_classes(grocery):
    labels = load_labels()
    with open(grocery / "classes.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in list(csv.reader(f))[1:] if r]
    assert len(labels) == len(rows) == 81
    for lb, row in zip(labels, sorted(rows, key=lambda r: int(r[1])), strict=True):
        assert (lb.name, lb.fine_id, lb.coarse, lb.coarse_id) == (
            row[0],
            int(row[1]),
            row[2],
            int(row[3]),
        )
    assert len({lb.coarse for lb in labels}) == 43


def test_int8_accuracy_on_val_subset(classifier, val_subset):
    inputs = [prepare_file(p) for p, _ in val_subset]
    acc, _, _ = scores(classifier, inputs, [t for _, t in val_subset], warmup=0)
    assert acc["fine_top1"] >= FLOOR_FINE_TOP1, acc
    assert acc["fine_top3"] >= FLOOR_FINE_TOP3, acc
    assert acc["coarse_top1"] >= FLOOR_COARSE_TOP1, acc


def test_int8_agrees_with_float_model(classifier, val_subset):
    inputs = [prepare_file(p) for p, _ in val_subset[::2]]
    with Classifier(FLOAT_MODEL) as f:
        pf = np.stack([f.probabilities_prepared(x) for x in inputs])
    pq = np.stack([classifier.probabilities_prepared(x) for x in inputs])
    assert np.mean(pf.argmax(1) == pq.argmax(1)) >= 0.9
    assert np.abs(pf - pq).max(axis=1).mean() < 0.1
    np.testing.assert_allclose(pq.sum(1), 1.0, atol=1e-6)


def test_probabilities_follow_the_picture(classifier, grocery):
    """The model is not answering from a prior: different photos get different answers."""
    a = classifier.classify_file(grocery / "val/Fruit/Banana/Banana_003.jpg", k=1)
    paths = sorted(Path(grocery / "val/Packages/Milk").rglob("*.jpg"))[:1]
    b = classifier.classify_file(paths[0], k=1)
    assert a[0][0] == "Banana"
    assert b[0][0] != "Banana"
