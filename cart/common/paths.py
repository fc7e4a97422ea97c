"""Where the repository and the shared reference data are.

The shared data (the Grocery Store photos, barcode sets) is not in the repository: it is
``$CART_SHARED_DATA`` when that is set (and not empty), else ``../shared/data`` beside the
repository. Every user asks here; ``models.runtime`` and ``models.preprocess`` (which import no
``cart`` code) are given paths by their callers instead.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_root() -> Path:
    """``$CART_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("CART_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def grocery_store_dir() -> Path:
    """The Grocery Store dataset's folder in the shared data (``classes.csv``, ``train/``,
    ``val/``)."""
    return shared_data_root() / "grocery-store"
