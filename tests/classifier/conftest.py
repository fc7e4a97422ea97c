"""Fixtures for the classifier tests: the shipped model, its labels, and the reference photos."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def grocery(shared_data: Path) -> Path:
    root = shared_data / "grocery-store"
    if not (root / "val.txt").is_file():
        pytest.skip(f"grocery-store photos not found at {root}")
    return root


@pytest.fixture(scope="session")
def classifier():
    from models.runtime import Classifier

    with Classifier(threads=1) as clf:
        yield clf


@pytest.fixture(scope="session")
def hierarchy():
    from cart.fusion.vision import Hierarchy

    return Hierarchy.load()


@pytest.fixture(scope="session")
def val_subset(grocery: Path) -> list[tuple[Path, str]]:
    """A fixed subset of the val split: every third photo (99 of 296)."""
    from cart.bench.classify import read_val

    return read_val(grocery)[::3]
