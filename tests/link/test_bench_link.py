"""``cart bench link`` end to end on a few carts: its JSON line last, exactly once, both runs."""

from __future__ import annotations

import json

import pytest

from cart.cli import main


@pytest.mark.slow
def test_bench_link_prints_its_numbers_last(capsys, pg):  # pg: skip (or fail in CI) without it
    assert (
        main(
            [
                "bench",
                "link",
                "--carts",
                "3",
                "--trips",
                "2",
                "--pool",
                "3",
                "--paced-trips",
                "1",
                "--pace-s",
                "0",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["bench"] == "link"
    assert out["paced"]["exactly_once"] and out["paced"]["trips"] == 3
    for run in ("single", "bridge"):
        r = out[run]
        assert r["exactly_once"] and r["trips"] == 6
        assert r["receipts"] == 6 and r["records"] == r["records_expected"] >= 18
        assert r["delay_ms"]["p50"] > 0 and r["broker_rss_kib"] > 0 and r["service_rss_kib"] > 0
