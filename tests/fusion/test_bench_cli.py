"""``cart bench trips`` and ``cart trip``: the JSON line and its meaning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cart.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "cart" / "sim" / "scenarios"


@pytest.mark.slow
def test_bench_trips_prints_the_metrics_last(capsys):
    assert main(["bench", "trips", "--trips", "30", "--seed", "3", "--profile", "clean"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in (
        "exact_bill_rate",
        "review_rate",
        "catch_rate",
        "false_alerts_per_trip",
        "overcharged_minor",
        "undercharged_minor",
        "trips_per_s",
        "baseline",
    ):
        assert key in out, key
    assert out["trips"] == 30
    assert 0.0 <= out["exact_bill_rate"] <= 1.0
    # clean: honest shoppers, quiet scale. 30 trips hold about 24 honest ones, so one question
    # sent to staff (held-out camera calibration) costs 4 points: a floor for gross breakage.
    assert out["exact_bill_rate"] >= 0.8
    assert set(out["catch_rate"]) <= {
        "never_scanned",
        "barcode_swap",
        "cheaper_plu",
        "scanned_not_placed",
    }


def test_bench_trips_with_a_scenario(capsys):
    path = SCENARIOS / "cheat_never_scanned.toml"
    assert main(["bench", "trips", "--trips", "3", "--scenario", str(path), "--no-baseline"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["catch_rate"] == {"never_scanned": 1.0}


def test_cart_trip_shows_what_happened(capsys):
    path = SCENARIOS / "honest_mixed_orders.toml"
    assert main(["trip", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any("LineAdded" in ln for ln in lines)
    summary = json.loads(lines[-1])
    assert summary["exact"] and summary["expectations_met"]


def test_cart_trip_rejects_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "x.toml"
    bad.write_text("[[step]]\ndo = 'fly'\n")
    assert main(["trip", str(bad)]) == 2
    assert "'do' must be one of" in capsys.readouterr().err
