"""Fixtures for the barcode input tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def barcode_sets(shared_data) -> Path:
    path = shared_data / "barcodes"
    if not path.is_dir():
        pytest.skip(f"barcode photos not found at {path}")
    return path


@pytest.fixture(scope="session")
def grocery_photo(shared_data) -> Path:
    from cart.sim.camera import grocery_photos

    photos = grocery_photos(shared_data / "grocery-store")
    if not photos:
        pytest.skip("grocery-store photos not found")
    return photos[len(photos) // 2]
