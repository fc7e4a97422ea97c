"""The bench's camera: real inference of the shipped int8 model on the shared photos, and a
stated fallback when photos or model are absent."""

from __future__ import annotations

import json

import pytest

from cart.cli import main


def test_real_verdicts_per_class_and_none_for_products_without_one(shared_data):
    pytest.importorskip("ai_edge_litert.interpreter")
    from cart.sim.inferred_vision import InferredVision, infer_table

    table, info = infer_table(shared_data / "grocery-store", per_class_limit=1, train_per_class=1)
    assert info["model"].endswith("int8.tflite") and info["photos"] >= 60
    assert "Granny-Smith" in table
    for rows in table.values():
        for top in rows:
            assert len(top) == 5 and all(0.0 <= p <= 1.0 for _, p in top)
            assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    cam = InferredVision(table, seed=3)
    assert cam.verdict("Granny-Smith") in table["Granny-Smith"]
    assert cam.verdict(None) is None  # no class in the model (non-food): no verdict
    assert cam.verdict("Kitchen-Roll") is None
    # the same seed draws the same real verdicts (the bench is reproducible)
    a, b = InferredVision(table, 9), InferredVision(table, 9)
    assert [a.verdict("Granny-Smith") for _ in range(5)] == [
        b.verdict("Granny-Smith") for _ in range(5)
    ]


def test_bench_says_when_the_camera_is_modelled(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CART_SHARED_DATA", str(tmp_path))  # no photos there
    assert (
        main(
            ["bench", "trips", "--trips", "5", "--seed", "2", "--profile", "clean", "--no-baseline"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["vision"].startswith("modelled")
    assert "no grocery photos" in out["vision_detail"]["source"]
    assert main(["bench", "trips", "--trips", "5", "--vision", "measured", "--no-baseline"]) == 2
    assert "no grocery photos" in capsys.readouterr().err
