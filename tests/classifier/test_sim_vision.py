"""Simulated camera verdicts come from the shipped model's real outputs."""

from __future__ import annotations

import json

import pytest

from cart.sim.vision import TABLE, MeasuredVision
from models.verdicts import build_table


def test_table_covers_every_class_and_matches_the_shipped_model(classifier, grocery):
    table = MeasuredVision.load_table()
    assert set(table) == {lb.name for lb in classifier.labels}
    raw = json.loads(TABLE.read_text())
    assert raw["model"] == "grocery_lite0_int8.tflite"
    val_classes = [c for c, e in raw["classes"].items() if e["split"] == "val"]
    assert len(val_classes) == 60
    # recompute the first photo of the val split: same verdict as recorded
    from models.bench import read_val

    path, label = read_val(grocery)[0]
    want = table[label][0]
    got = classifier.classify_file(path, k=5)
    assert [lb for lb, _ in got] == [lb for lb, _ in want]
    assert [round(p, 4) for _, p in got] == pytest.approx([p for _, p in want], abs=1e-3)


def test_build_table_on_a_subset(classifier, grocery, tmp_path):
    # a small data folder: the real classes and the first val lines
    (tmp_path / "classes.csv").write_text((grocery / "classes.csv").read_text())
    lines = (grocery / "val.txt").read_text().splitlines()[:3]
    (tmp_path / "val.txt").write_text("\n".join(lines) + "\n")
    for ln in lines:
        rel = ln.split(",")[0].strip()
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).symlink_to(grocery / rel)
    (tmp_path / "train.txt").write_text("")
    table = build_table(tmp_path, classifier)
    assert sum(len(e["verdicts"]) for e in table["classes"].values()) == 3


def test_measured_vision_draws_real_verdicts_reproducibly():
    table = MeasuredVision.load_table()
    a = MeasuredVision(table, seed=3)
    b = MeasuredVision(table, seed=3)
    seq_a = [a.verdict("Banana") for _ in range(20)]
    assert seq_a == [b.verdict("Banana") for _ in range(20)]
    assert all(v in table["Banana"] for v in seq_a)
    for unknown in (None, "", "Kitchen-Roll"):
        v = a.verdict(unknown)
        assert len(v) == 5 and sum(p for _, p in v) <= 0.5 + 1e-6


def test_bad_tables_are_rejected(tmp_path):
    for text in ('{}', '{"classes": {"A": {"verdicts": []}}}',
                 '{"classes": {"A": {"verdicts": [[["A", 1.5]]]}}}'):
        (tmp_path / "t.json").write_text(text)
        with pytest.raises(ValueError):
            MeasuredVision.load_table(tmp_path / "t.json")
    with pytest.raises(FileNotFoundError):
        MeasuredVision.load_table(tmp_path / "missing.json")


def test_trip_bench_finds_the_measured_camera():
    from cart.catalog import load_store
    from cart.sim.bench import vision_factory

    factory = vision_factory(load_store(), "measured")
    assert factory is not None
    cam = factory(7)
    assert cam.verdict("Banana")
