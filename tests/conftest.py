"""Shared fixtures. Area-specific fixtures live in each area's own conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The simulators register their pyserial URL schemes (simscanner://, scalesim://) when imported;
# production code never imports them, so the tests do, for the profiles they build.
import cart.sim.scale  # noqa: F401
import cart.sim.scanner  # noqa: F401
from cart.common import i18n
from cart.common.paths import shared_data_root

SHARED_DATA = shared_data_root()

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (reference photos); tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """The screen's language is process-wide: every test starts and ends in the default."""
    i18n.set_language(i18n.DEFAULT_LANGUAGE)
    yield
    i18n.set_language(i18n.DEFAULT_LANGUAGE)
