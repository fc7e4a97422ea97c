"""Pricing: rounding, promotions, coupons, tax and the totals identity."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart.basket.fold import Basket, OpenSession
from cart.pricing.engine import LineInput, price_lines
from cart.pricing.rounding import allocate, allocate_latest, round_half_up, weight_amount
from cart.sim.eventgen import event_stream
from cart.store.loading import load_store
from tests.core.conftest import CATALOG_TOML, T0

PROMO_CATALOG = (
    CATALOG_TOML
    + """
[[product]]
id = "yoghurt"
name = "Yoghurt"
gtins = ["7310000100024"]
sold_by = "each"
price_each = 2000
unit_weight_g = 1050
tax_class = "food"
promotions = ["three-for-two", "member"]

[[product]]
id = "juice"
name = "Juice"
gtins = ["7310000100031"]
sold_by = "each"
price_each = 3000
unit_weight_g = 900
tax_class = "food"
promotions = ["two-for-50"]

[[product]]
id = "mango"
name = "Mango"
plu = "4051"
sold_by = "each"
price_each = 1500
unit_weight_g = 350
weight_tolerance_g = 80
tax_class = "food"
promotions = ["bogo"]

[[product]]
id = "tomato"
name = "Tomato"
plu = "4664"
sold_by = "weight"
price_per_kg = 4495
tax_class = "food"
promotions = ["ten-off-kg"]

[[product]]
id = "batteries"
name = "Batteries"
gtins = ["7310000200014"]
sold_by = "each"
price_each = 4995
unit_weight_g = 100
tax_class = "standard"

[[promotion]]
id = "three-for-two"
kind = "x_for_y"
name = "3 for 2"
buy = 3
pay = 2

[[promotion]]
id = "member"
kind = "loyalty_price"
name = "Member price"
price = 1500

[[promotion]]
id = "two-for-50"
kind = "multibuy"
name = "2 for 50"
buy = 2
price = 5000

[[promotion]]
id = "bogo"
kind = "bogo"
name = "Buy one get one"

[[promotion]]
id = "ten-off-kg"
kind = "per_kg_discount"
name = "10 off per kg"
off_per_kg = 1000

[[coupon]]
code = "9900000200022"
name = "20 off over 200"
kind = "amount_off"
amount = 2000
min_spend = 20000

[[coupon]]
code = "9900000100056"
name = "5 off juice"
kind = "product_amount_off"
amount = 500
product = "juice"
"""
)


@pytest.fixture
def promo_store(make_store):
    return load_store(make_store(PROMO_CATALOG))


def price(store, items, coupons=(), loyalty=False):
    cat = store.catalog
    lines = []
    for i, (pid, n) in enumerate(items):
        p = cat[pid]
        if p.by_weight:
            lines.append(LineInput(f"L{i}", p, 1, n))
        else:
            lines.append(LineInput(f"L{i}", p, n))
    cps = [cat.coupon(c) for c in coupons]
    return price_lines(lines, cat, store.config, cps, loyalty)


def test_round_half_up_and_weight_amounts():
    assert round_half_up(5, 10) == 1 and round_half_up(4, 10) == 0 and round_half_up(15, 10) == 2
    assert weight_amount(2495, 1234) == 3079  # 30.7883 -> 30.79
    assert weight_amount(2495, 1000) == 2495
    assert weight_amount(1000, 1) == 1  # 1.0 öre exactly
    assert weight_amount(500, 1) == 1  # 0.5 öre rounds up
    assert weight_amount(499, 1) == 0  # 0.499 öre rounds down
    with pytest.raises(ValueError):
        round_half_up(-1, 2)


@given(st.integers(0, 10**6), st.integers(0, 100_000))
def test_weight_amount_is_the_half_up_rule(price_per_kg, grams):
    # the integer and float forms it replaced (price_lines, the trip scorer's whole grams)
    assert weight_amount(price_per_kg, grams) == (2 * price_per_kg * grams + 1000) // 2000
    assert weight_amount(price_per_kg, grams) == math.floor(price_per_kg * grams / 1000.0 + 0.5)


def test_weighed_lines_are_priced_with_weight_amount(store):
    banana = store.catalog["banana"]
    for grams in (1, 2, 412, 499, 500, 1234, 99_999):
        r = price_lines([LineInput("L1", banana, 1, grams)], store.catalog, store.config)
        assert r.lines[0].amount == weight_amount(banana.price, grams)


def test_x_for_y_and_loyalty_price_best_wins(promo_store):
    r = price(promo_store, [("yoghurt", 3)])
    assert (r.totals.subtotal, r.totals.savings, r.totals.total) == (6000, 2000, 4000)
    assert r.lines[0].promotion == "3 for 2"
    # with a card, member price (3 x 5.00 off = 15.00)... 3-for-2 (20.00) is still better
    r = price(promo_store, [("yoghurt", 3)], loyalty=True)
    assert r.totals.savings == 2000
    # two yoghurts: no 3-for-2, the member price gives 2 x 5.00
    r = price(promo_store, [("yoghurt", 2)], loyalty=True)
    assert r.totals.savings == 1000 and r.lines[0].promotion == "Member price"
    assert price(promo_store, [("yoghurt", 2)]).totals.savings == 0


def test_multibuy_over_several_lines_lands_on_the_latest(promo_store):
    r = price(promo_store, [("juice", 1), ("milk", 1), ("juice", 2)])
    # 3 juices: one pair for 50.00 (saves 10.00), the third at full price
    assert r.totals.savings == 1000
    assert [ln.savings for ln in r.lines] == [0, 0, 1000]


def test_bogo_and_per_kg_discount(promo_store):
    r = price(promo_store, [("mango", 3)])
    assert r.totals.savings == 1500 and r.totals.total == 3000
    r = price(promo_store, [("tomato", 512)])
    assert r.lines[0].amount == 2301  # 44.95/kg x 0.512 = 23.0144
    assert r.lines[0].savings == 512  # 10.00/kg x 0.512
    assert r.totals.total == 1789


def test_coupons(promo_store):
    # under the minimum spend: kept, worth 0, with a note
    r = price(promo_store, [("milk", 1)], coupons=["9900000200022"])
    assert r.totals.coupon_savings == 0 and "spend" in r.coupons[0].note
    r = price(promo_store, [("batteries", 5)], coupons=["9900000200022"])
    assert r.totals.coupon_savings == 2000 and r.totals.total == 5 * 4995 - 2000
    # product coupon: only with the product, never more than is left to pay for it
    r = price(promo_store, [("milk", 1)], coupons=["9900000100056"])
    assert r.coupons[0].amount == 0 and r.coupons[0].note
    r = price(promo_store, [("juice", 1)], coupons=["9900000100056"])
    assert r.totals.coupon_savings == 500 and r.totals.total == 2500


def test_inclusive_tax_per_class(promo_store):
    r = price(promo_store, [("milk", 1), ("batteries", 1)])
    taxes = {t.tax_class: t.tax for t in r.totals.taxes}
    assert taxes == {"food": 139, "standard": 999}  # 1295*12/112=138.75; 4995*25/125=999
    assert r.totals.total == 1295 + 4995 and r.totals.tax == 139 + 999


def test_exclusive_tax(make_store):
    s = load_store(
        make_store(
            PROMO_CATALOG,
            country="US",
            currency="USD",
            tax_mode="exclusive",
            timezone="America/New_York",
            food_bp=225,
            std_bp=800,
            rcn="us",
        )
    )
    r = price(s, [("milk", 1), ("batteries", 1)])
    taxes = {t.tax_class: t.tax for t in r.totals.taxes}
    assert taxes == {"food": 29, "standard": 400}  # 1295*0.0225=29.14; 4995*0.08=399.6
    assert r.totals.total == 1295 + 4995 + 29 + 400


def test_allocation_is_exact():
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(0, [5, 5]) == [0, 0]
    assert allocate_latest(25, [10, 10, 10]) == [5, 10, 10]


@given(st.integers(0, 10**6), st.lists(st.integers(0, 10**5), min_size=1, max_size=30))
def test_allocate_sums_to_total_and_respects_weights(total, weights):
    total = min(total, sum(weights))
    shares = allocate(total, weights)
    assert sum(shares) == total
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))
    latest = allocate_latest(total, weights)
    assert sum(latest) == total and all(0 <= s <= w for s, w in zip(latest, weights, strict=True))


def _check_identity(snap, inclusive: bool):
    t = snap.totals
    lines_sum = sum(ln.amount for ln in snap.lines)
    assert t.subtotal == lines_sum
    assert t.total == lines_sum - t.savings + (0 if inclusive else t.tax)
    assert t.savings == t.promotion_savings + t.coupon_savings
    assert t.promotion_savings == sum(ln.savings for ln in snap.lines)
    assert all(ln.total == ln.amount - ln.savings >= 0 for ln in snap.lines)
    assert t.total >= 0 and t.tax >= 0
    assert sum(x.tax for x in t.taxes) == t.tax


@pytest.fixture(scope="module")
def both_stores(tmp_path_factory):
    from tests.core.conftest import write_store

    base = tmp_path_factory.mktemp("stores")
    return {
        False: load_store(write_store(base / "incl", PROMO_CATALOG)),
        True: load_store(write_store(base / "excl", PROMO_CATALOG, tax_mode="exclusive")),
    }


@given(seed=st.integers(0, 2**32), n=st.integers(1, 120), exclusive=st.booleans())
def test_total_identity_for_any_basket(both_stores, seed, n, exclusive):
    s = both_stores[exclusive]
    b = Basket(s, "p")
    b.apply(OpenSession(T0))
    for ev in itertools.islice(event_stream(s, seed, T0), n):
        b.apply(ev)
    _check_identity(b.snapshot(), not exclusive)


@given(seed=st.integers(0, 2**32), n=st.integers(1, 80))
def test_total_identity_in_the_demo_store(store, seed, n):
    b = Basket(store, "p")
    b.apply(OpenSession(T0))
    for ev in itertools.islice(event_stream(store, seed, T0), n):
        b.apply(ev)
    _check_identity(b.snapshot(), True)
