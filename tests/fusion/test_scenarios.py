"""The hand-written scenarios play through the simulated scale bridge and the real drivers and
do what their ``expect`` tables say; bad scenario files give one clear error per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart.sim.scenario import ScenarioError, check_expectations, load_scenario

SCENARIOS = sorted(
    (Path(__file__).resolve().parents[2] / "cart" / "sim" / "scenarios").glob("*.toml")
)


@pytest.fixture(scope="module")
def products(store):
    from cart.fusion.store import StoreProducts

    return StoreProducts(store)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_meets_its_expectations(path, store, products):
    from cart.sim.shopper import PROFILES
    from cart.sim.trips import TripRunner, scenario_vision

    trip, header = load_scenario(path, products)
    assert header["expect"], "every shipped scenario states what must happen"
    vision = scenario_vision("none" if header["camera"] == "none" else "perfect")
    runner = TripRunner(store, PROFILES[header["profile"]], scale="bridge", vision_factory=vision)
    result = runner.run(trip)
    assert check_expectations(header, result) == []


def test_scenarios_cover_every_cheat():
    text = "".join(p.read_text() for p in SCENARIOS)
    for cheat in ("never_scanned", "barcode_swap", "cheaper_plu", "scanned_not_placed"):
        assert f'cheat = "{cheat}"' in text


def test_bad_scenario_lists_every_problem(tmp_path, products):
    bad = tmp_path / "bad.toml"
    bad.write_text("""
profile = "sunny"
colour = 3
[[item]]
id = "x"
product = "no-such-product"
[[item]]
id = "y"
product = "arla-standard-milk"
cheat = "shoplifting"
[[step]]
do = "dance"
[[step]]
do = "scan"
items = ["nobody"]
""")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad, products)
    text = str(err.value)
    for needle in (
        "sunny",
        "unknown key 'colour'",
        "no-such-product",
        "shoplifting",
        "'do' must be one of",
        "unknown item(s) 'nobody'",
        "last step must be",
    ):
        assert needle in text, needle


def test_unreadable_scenario_is_an_error(tmp_path, products):
    bad = tmp_path / "broken.toml"
    bad.write_bytes(b"name = [unterminated\n")
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario(bad, products)
