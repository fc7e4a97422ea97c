"""Risk score from the journal's rows, bands from the store's [spot_check], and the seeded draw:
reproducible, and at the configured rate."""

from __future__ import annotations

import math

import pytest

from cart.basket import risk
from cart.basket.issuer import decide, trip_seed
from cart.common import keys
from cart.store import spotcheck
from cart.store.loading import DEMO_STORE, CatalogError, load_store_bytes

STORE_TOML = (DEMO_STORE / "store.toml").read_text(encoding="utf-8")
CATALOG_TOML = (DEMO_STORE / "catalog.toml").read_text(encoding="utf-8")

HONEST = [("open_session", {}), ("add_line", {"line": "L1"}), ("check_out", {})]


def test_an_honest_trip_scores_zero():
    assert risk.risk_score(HONEST).score == 0.0


def test_each_signal_counts():
    rows = [
        ("raise_flag", {"flag": "F1", "kind": "scan_added"}),  # a question: 1
        ("raise_flag", {"flag": "F2", "kind": "looks_different"}),  # question + cheat: 3
        ("resolve_flag", {"flag": "F2", "by": "staff", "resolution": "approved"}),  # 2
        ("resolve_flag", {"flag": "F1", "by": "shopper", "resolution": "personal"}),  # 1
        ("fusion.personal_refused", {"grams": 900}),  # cheat: 2
    ] + [("fusion.small_change", {"grams": 3})] * 10  # 0.5 each, at most 2
    r = risk.risk_score(rows)
    assert r.score == 1 + 3 + 2 + 1 + 2 + 2
    assert r.signals == {
        "questions": 2,
        "cheats": 2,
        "staff_overrides": 1,
        "personal": 1,
        "unexplained_weights": 10,
    }


def test_age_checks_and_their_staff_approval_are_not_risk():
    rows = [
        ("raise_flag", {"flag": "F1", "kind": "age_check"}),
        ("resolve_flag", {"flag": "F1", "by": "staff", "resolution": "approved"}),
    ]
    assert risk.risk_score(rows).score == 0.0


def test_bands_and_rates():
    cfg = spotcheck.SpotCheckConfig()
    assert [cfg.band(s) for s in (0, 1.5, 2, 4.5, 5, 50)] == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    assert (cfg.rate("low"), cfg.rate("medium"), cfg.rate("high")) == (0.05, 0.10, 0.15)


@pytest.mark.parametrize(
    "table, why",
    [
        ("low = 1.5", "between 0 and 1"),
        ("low = 0.2\nmedium = 0.1", "must not fall"),
        ("medium_from = 6.0", "at least medium_from"),
        ('high = "lots"', "must be a number"),
        ("every = 0.1", "unknown key"),
        ("medium_from = 0", "above 0"),
    ],
)
def test_store_spot_check_settings_are_validated(table, why):
    bad = STORE_TOML + f"\n[spot_check]\n{table}\n"
    with pytest.raises(CatalogError) as e:
        load_store_bytes(bad.encode(), CATALOG_TOML.encode())
    assert any(p.entry == "spot_check" and why in str(p) for p in e.value.problems), e.value


def test_store_spot_check_settings_are_used():
    good = STORE_TOML + "\n[spot_check]\nlow = 0.02\nmedium = 0.2\nhigh = 0.5\nhigh_from = 8\n"
    store = load_store_bytes(good.encode(), CATALOG_TOML.encode())
    cfg = spotcheck.for_store(store)
    assert (cfg.low, cfg.medium, cfg.high, cfg.medium_from, cfg.high_from) == (
        0.02,
        0.2,
        0.5,
        2.0,
        8.0,
    )
    plain = load_store_bytes(STORE_TOML.encode(), CATALOG_TOML.encode())
    assert spotcheck.for_store(plain) == spotcheck.SpotCheckConfig()


def test_the_draw_is_reproducible_and_keyed():
    k = keys.generate("cart-1")
    seed = trip_seed(k.sign, "s", "cart-1", "abc")
    assert seed == trip_seed(k.sign, "s", "cart-1", "abc")
    a = decide(HONEST, spotcheck.SpotCheckConfig(), seed)
    assert a == decide(HONEST, spotcheck.SpotCheckConfig(), seed)
    # another session, another key: another draw
    assert seed != trip_seed(k.sign, "s", "cart-1", "abd")
    assert seed != trip_seed(keys.generate("cart-1").sign, "s", "cart-1", "abc")
    assert risk.drawn(seed, 1.0) and not risk.drawn(seed, 0.0)


@pytest.mark.parametrize(
    "band_rows, band, rate",
    [
        (HONEST, "low", 0.05),
        ([("raise_flag", {"kind": "scan_added"})] * 3, "medium", 0.10),
        ([("raise_flag", {"kind": "looks_different"})] * 2, "high", 0.15),
    ],
)
def test_the_rate_over_many_seeded_sessions_is_the_configured_rate(band_rows, band, rate):
    k = keys.generate("cart-1")
    cfg = spotcheck.SpotCheckConfig()
    n = 4000
    picked = 0
    for i in range(n):
        d = decide(band_rows, cfg, trip_seed(k.sign, "s", "cart-1", f"{i:016x}"))
        assert d.band == band and d.rate == rate
        picked += d.spot_check
    sigma = math.sqrt(rate * (1 - rate) / n)
    assert abs(picked / n - rate) <= 4 * sigma, (picked, n, rate)


def test_the_journal_keeps_the_first_exit_code_of_a_checked_out_session():
    from cart.basket.journal import Journal, JournalError

    with Journal(":memory:") as j:
        j.open_session("s1", 1, [(1, "open", {})])
        with pytest.raises(JournalError, match="not checked out"):
            j.record_exit_code("s1", 2, "CX1:A", {"spot_check": False})
        j.close_session("s1", 3, [(3, "check_out", {})], receipt={"totals": {}})
        assert j.exit_code("s1") is None
        assert j.record_exit_code("s1", 3, "CX1:A", {"spot_check": True}) == (
            "CX1:A",
            {"spot_check": True},
        )
        assert j.record_exit_code("s1", 4, "CX1:B", {"spot_check": False}) == (
            "CX1:A",
            {"spot_check": True},
        )
        assert j.prune(closed_before_ms=10) == 1 and j.exit_code("s1") is None
