"""Weight learning: robust, bounded, seeded by the catalogue, persisted atomically."""

from __future__ import annotations

import json
import random

from hypothesis import given
from hypothesis import strategies as st

from cart.fusion.learning import WeightModel
from cart.fusion.products import Product

JAR = Product("jar", "Jam jar", 300, unit_weight_g=400.0, tolerance_g=20.0)


def test_learns_a_product_heavier_than_its_catalogue_weight():
    m = WeightModel()
    rng = random.Random(1)
    for _ in range(60):
        m.observe(JAR, rng.gauss(412.0, 2.0))
    e = m.estimate(JAR)
    assert abs(e.mean_g - 412.0) < 2.0
    assert e.sigma_g < 10.0  # tighter than the catalogue's ±20 g once it has seen real jars


def test_one_outlier_moves_the_mean_by_a_bounded_amount():
    m = WeightModel()
    for _ in range(20):
        m.observe(JAR, 400.0)
    before = m.estimate(JAR).mean_g
    m.observe(JAR, 5000.0)  # a hand resting on the basket
    after = m.estimate(JAR)
    assert after.mean_g - before <= m.clip_sigma * 10.0 / (20 + m.prior_n + 1) + 1e-6


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=200))
def test_estimates_stay_within_bounds(xs):
    m = WeightModel()
    for x in xs:
        e = m.observe(JAR, x)
        assert 400.0 - 40.0 - 1e-9 <= e.mean_g <= 400.0 + 40.0 + 1e-9  # ±max(tol, 10 %)
        assert m.min_sigma_g - 1e-9 <= e.sigma_g <= 2 * 10.0 + 1e-9


def test_produce_is_not_learned():
    banana = Product(
        "banana", "Banana", 2495, by_weight=True, unit_weight_g=180.0, tolerance_g=55.0
    )
    m = WeightModel()
    m.observe(banana, 1200.0)
    assert m.estimate(banana) == WeightModel.seed(banana)


def test_save_and_load_round_trip(tmp_path):
    m = WeightModel()
    for g in (405.0, 407.0, 406.0):
        m.observe(JAR, g)
    path = tmp_path / "weights.json"
    m.save(path)
    m2 = WeightModel()
    assert m2.load(path, {"jar": JAR}) == []
    assert m2.estimate(JAR) == m.estimate(JAR)
    assert not (tmp_path / "weights.json.tmp").exists()


def test_corrupt_or_out_of_bounds_files_are_ignored_with_a_reason(tmp_path):
    path = tmp_path / "weights.json"
    path.write_text("{not json")
    m = WeightModel()
    (problem,) = m.load(path, {"jar": JAR})
    assert "unreadable" in problem and m.estimate(JAR) == WeightModel.seed(JAR)
    path.write_text(
        json.dumps(
            {
                "format": "cart.fusion.weights/1",
                "products": {"jar": {"mean_g": 900.0, "sigma_g": 5, "n": 3}},
            }
        )
    )
    (problem,) = m.load(path, {"jar": JAR})
    assert "out of bounds" in problem and m.estimate(JAR) == WeightModel.seed(JAR)
    path.write_text(
        json.dumps(
            {
                "format": "cart.fusion.weights/1",
                "products": {"gone": {"mean_g": 1.0, "sigma_g": 1, "n": 1}},
            }
        )
    )
    (problem,) = m.load(path, {"jar": JAR})
    assert "not in the catalogue" in problem


def test_the_reconciler_learns_from_confirmed_placements(store):
    from .conftest import DeviceCart

    cart = DeviceCart(store)
    p = cart.fs.products.get("dish-soap")  # catalogue: 545 ± 15 g
    for i in range(6):
        cart.scan("dish-soap")
        cart.place(f"soap{i}", 556.0)
    e = cart.fs.rec.weights.estimate(p)
    assert e.n >= 5 and e.mean_g > 548.0
