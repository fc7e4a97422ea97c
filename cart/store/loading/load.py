"""Loading a store folder or the bytes of its files (``load_store``, ``load_store_bytes``), and
a profile's ``[store]`` table (``store_profile``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cart.store.loading.catalog import _validate_catalog
from cart.store.loading.fields import CatalogError, Problem, _Entry, _parse_toml
from cart.store.loading.store_config import _validate_store
from cart.store.model import Store, StoreProfile
from cart.store.staff import STAFF_FILE, StaffMember, parse_staff

STORE_FILE = "store.toml"
CATALOG_FILE = "catalog.toml"
DEMO_STORE = Path(__file__).resolve().parent.parent / "demo"


def store_profile(section: Any, file: str = "profile", base: Path | None = None) -> StoreProfile:
    """Validate a profile's ``[store]`` table. Relative paths are taken from ``base``."""
    problems: list[Problem] = []
    e = _Entry(section, file, "store", problems, {"path", "journal", "journal_synchronous", "demo"})
    path = e.text("path", max_len=400)
    journal = e.text("journal", max_len=400)
    sync = e.text("journal_synchronous", "FULL")
    demo = e.get("demo", bool, False, what="true or false")
    if sync is not None and sync not in ("FULL", "NORMAL", "EXTRA"):
        e.fail("journal_synchronous", "must be FULL, EXTRA or NORMAL")
    if problems:
        raise CatalogError(problems)
    folder = Path(path)
    if base is not None and not folder.is_absolute():
        folder = base / folder
    if base is not None and journal != ":memory:" and not Path(journal).is_absolute():
        journal = str(base / journal)
    return StoreProfile(folder, journal, sync, bool(demo))


def load_store(path: str | Path = DEMO_STORE) -> Store:
    """Load and validate a store folder (or its ``store.toml`` / ``catalog.toml``).

    Raises :class:`CatalogError` listing every problem; returns only a fully valid store.
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    problems: list[Problem] = []
    data: dict[str, bytes] = {}
    for name in (STORE_FILE, CATALOG_FILE, STAFF_FILE):
        try:
            data[name] = (folder / name).read_bytes()
        except FileNotFoundError as exc:
            if name != STAFF_FILE:
                problems.append(Problem(name, "file", "", f"cannot read: {exc.strerror or exc}"))
        except OSError as exc:
            problems.append(Problem(name, "file", "", f"cannot read: {exc.strerror or exc}"))
    if problems:
        raise CatalogError(problems)
    return load_store_bytes(
        data[STORE_FILE], data[CATALOG_FILE], path=folder, staff=data.get(STAFF_FILE, b"")
    )


def load_store_bytes(
    store_toml: bytes,
    catalog_toml: bytes,
    *,
    path: str | Path = "<memory>",
    staff: bytes | None = None,
) -> Store:
    """Validate a store from the bytes of its files (e.g. the copy kept in a journal).

    ``staff``: the bytes of ``staff.toml`` (``b""``: a folder without one); given (a store
    folder), the staff secrets are also judged for strength. Without it (a journal's copy) a
    legacy ``staff_pin_hash`` need only be well formed."""
    problems: list[Problem] = []
    store_doc = _parse_toml(store_toml, STORE_FILE, problems)
    catalog_doc = _parse_toml(catalog_toml, CATALOG_FILE, problems)
    if problems:
        raise CatalogError(problems)
    members: tuple[StaffMember, ...] = ()
    if staff is not None:
        members, found = parse_staff(staff)
        problems += [Problem(STAFF_FILE, e, f, m) for e, f, m in found]
    config = _validate_store(store_doc, STORE_FILE, problems, strict=staff is not None)
    if config is not None and config.staff_pin_hash and members:
        problems.append(
            Problem(
                STORE_FILE,
                "store",
                "staff_pin_hash",
                f"the store has {STAFF_FILE}: delete this legacy shared PIN",
            )
        )
    tax_ids = set(config.tax_classes) if config else set()
    digest = hashlib.sha256(store_toml + b"\0" + catalog_toml).hexdigest()
    catalog = _validate_catalog(catalog_doc, CATALOG_FILE, tax_ids, problems, digest)
    if problems or config is None or catalog is None:
        raise CatalogError(problems)
    return Store(
        config=config,
        catalog=catalog,
        path=Path(path),
        sources=(bytes(store_toml), bytes(catalog_toml)),
        staff=tuple(members),
    )
