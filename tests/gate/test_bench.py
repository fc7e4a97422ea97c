"""`cart bench spotcheck`: the measured spot-check rate per band, a JSON line last."""

from __future__ import annotations

import json

from cart.cli import main


def test_bench_spotcheck_prints_rates_per_band(capsys):
    assert main(["bench", "spotcheck", "--trips", "400", "--seed", "3"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert result["bench"] == "spotcheck" and result["trips_per_band"] == 400
    assert set(result["bands"]) == {"low", "medium", "high"}
    for band, r in result["bands"].items():
        assert (
            r["trips"] == 400
            and r["configured"] == {"low": 0.05, "medium": 0.10, "high": 0.15}[band]
        )
        assert r["ratio"] == result["ratio"][band]
    assert result["bands"]["low"]["mean_score"] < 2 <= result["bands"]["medium"]["mean_score"]
    assert result["bands"]["high"]["mean_score"] >= 5
    # the same seed, the same draws
    assert main(["bench", "spotcheck", "--trips", "400", "--seed", "3"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == result
    assert main(["bench", "spotcheck", "--trips", "0"]) == 2
