"""Fixtures for the core tests: the demo store and small hand-written stores."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cart.store.loading import DEMO_STORE, load_store

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
STAFF_PIN = "1234"  # the PIN of STORE_TOML's hash

STORE_TOML = """
[store]
id = "test-store"
name = "Test Store"
country = "{country}"
currency = "{currency}"
minor_digits = 2
tax_mode = "{tax_mode}"
timezone = "{timezone}"
staff_pin_hash = "pbkdf2_sha256$200000$00112233445566778899aabbccddeeff$98cd56f19733a361768b76706415776c6f3e161aef907b7e88c5ea3fe5639ab7"

[tax.food]
name = "Food"
rate_bp = {food_bp}

[tax.standard]
name = "Standard"
rate_bp = {std_bp}

[rcn]
country = "{rcn}"
"""

CATALOG_TOML = """
[[product]]
id = "milk"
name = "Milk 1 l"
gtins = ["7310000100017"]
sold_by = "each"
price_each = 1295
unit_weight_g = 1050
weight_tolerance_g = 25
tax_class = "food"
label = "Arla-Standard-Milk"

[[product]]
id = "banana"
name = "Banana"
plu = "4011"
sold_by = "weight"
price_per_kg = 2495
unit_weight_g = 180
weight_tolerance_g = 50
tax_class = "food"
label = "Banana"
"""


def write_store(tmp: Path, catalog: str = CATALOG_TOML, **kw) -> Path:
    """A store folder with a store.toml built from STORE_TOML and the given catalogue text."""
    params = {
        "country": "SE",
        "currency": "SEK",
        "tax_mode": "inclusive",
        "timezone": "Europe/Stockholm",
        "food_bp": 1200,
        "std_bp": 2500,
        "rcn": "se",
    }
    params.update(kw)
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "store.toml").write_text(STORE_TOML.format(**params), encoding="utf-8")
    (tmp / "catalog.toml").write_text(textwrap.dedent(catalog), encoding="utf-8")
    return tmp


@pytest.fixture(scope="session")
def store():
    return load_store(DEMO_STORE)


@pytest.fixture
def make_store(tmp_path):
    counter = iter(range(1000))

    def make(catalog: str = CATALOG_TOML, **kw):
        return write_store(tmp_path / f"store{next(counter)}", catalog, **kw)

    return make
