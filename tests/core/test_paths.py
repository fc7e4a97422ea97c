"""Where the shared reference data is (cart.common.paths)."""

from __future__ import annotations

from pathlib import Path

from cart.common.paths import REPO_ROOT, grocery_store_dir, shared_data_root


def test_repo_root_is_this_checkout():
    assert Path(__file__).resolve().parents[2] == REPO_ROOT
    assert (REPO_ROOT / "pyproject.toml").is_file()


def test_shared_data_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CART_SHARED_DATA", str(tmp_path))
    assert shared_data_root() == tmp_path
    assert grocery_store_dir() == tmp_path / "grocery-store"


def test_shared_data_beside_the_repository_by_default(monkeypatch):
    monkeypatch.delenv("CART_SHARED_DATA", raising=False)
    assert shared_data_root() == REPO_ROOT.parent / "shared" / "data"
    monkeypatch.setenv("CART_SHARED_DATA", "")  # empty counts as unset
    assert shared_data_root() == REPO_ROOT.parent / "shared" / "data"
