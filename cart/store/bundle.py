"""Catalogue and price bundles: a store's ``store.toml`` and ``catalog.toml``, versioned and
signed with the store's Ed25519 key, as the store pushes them to its carts (docs/LINK.md).

A bundle is a ``cart.common.wire`` envelope of kind ``catalog`` whose body is::

    {"store": "S", "version": 42, "t_ms": 1767225600000,
     "files": {"store.toml": "<base64>", "catalog.toml": "<base64>"}, "digest": "<sha256 hex>"}

:func:`open_bundle` refuses (:class:`BundleRefused`, a sentence) anything that is not signed by
one of the store's keys, is for another store, is not newer than the version the cart runs, does
not match its digest, or does not validate as a store (``cart.store.loading``): the cart then
keeps the catalogue it has. The staff file is never in a bundle: it stays on the cart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cart.common import wire
from cart.store.model import Store

FILES = ("store.toml", "catalog.toml")


class BundleRefused(ValueError):
    """A bundle the cart will not use (why, in a sentence); it keeps its last good catalogue."""


@dataclass(frozen=True, slots=True)
class Bundle:
    store_id: str
    version: int
    t_ms: int
    store_toml: bytes
    catalog_toml: bytes
    digest: str


def digest_of(store_toml: bytes, catalog_toml: bytes) -> str:
    """The digest a store is known by (the same as ``cart.store.loading``'s)."""
    return hashlib.sha256(bytes(store_toml) + b"\0" + bytes(catalog_toml)).hexdigest()


def make_bundle(folder: str | Path, version: int, t_ms: int, key) -> dict[str, Any]:
    """Sign the store folder's two files as bundle ``version`` with the store's ``key``
    (``cart.common.keys.CartKey``). The folder is validated first (CatalogError)."""
    from cart.store.loading import load_store

    store = load_store(folder)
    data = {name: (Path(folder) / name).read_bytes() for name in FILES}
    if int(version) < 1:
        raise ValueError("a bundle version is a positive integer")
    body = {
        "store": store.config.id,
        "version": int(version),
        "t_ms": int(t_ms),
        "files": {name: base64.b64encode(raw).decode() for name, raw in data.items()},
        "digest": digest_of(data["store.toml"], data["catalog.toml"]),
    }
    return wire.sign_envelope("catalog", body, key)


def open_bundle(
    doc: Any, *, store_id: str, keys: Mapping[str, bytes], current_version: int
) -> Bundle:
    """The verified bundle, or BundleRefused. Signature first: nothing unsigned is parsed."""
    try:
        body = wire.verify_envelope(doc, "catalog", keys)
    except wire.SignatureRefused as exc:
        raise BundleRefused(f"catalogue refused: {exc}") from None
    version, files = body.get("version"), body.get("files")
    if body.get("store") != store_id:
        raise BundleRefused(
            f"catalogue refused: it is for store {body.get('store')!r}, not {store_id!r}"
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleRefused("catalogue refused: its version is not a positive integer")
    if version <= current_version:
        raise BundleRefused(
            f"catalogue refused: version {version} is not newer than {current_version}"
        )
    if not isinstance(files, Mapping) or sorted(files) != sorted(FILES):
        raise BundleRefused(f"catalogue refused: it must hold exactly {', '.join(FILES)}")
    try:
        raw = {n: base64.b64decode(files[n], validate=True) for n in FILES}
    except (binascii.Error, TypeError, ValueError):
        raise BundleRefused("catalogue refused: a file is not base64") from None
    digest = digest_of(raw["store.toml"], raw["catalog.toml"])
    if body.get("digest") != digest:
        raise BundleRefused("catalogue refused: its files do not match its digest")
    t_ms = body.get("t_ms")
    return Bundle(
        store_id,
        version,
        t_ms if isinstance(t_ms, int) else 0,
        raw["store.toml"],
        raw["catalog.toml"],
        digest,
    )


def bundle_store(bundle: Bundle, *, staff: bytes | None = None, path: str = "") -> Store:
    """The bundle as a validated store (the cart's own ``staff.toml`` bytes beside it)."""
    from cart.store.loading import CatalogError, load_store_bytes

    try:
        store = load_store_bytes(
            bundle.store_toml,
            bundle.catalog_toml,
            path=path or f"catalogue bundle v{bundle.version}",
            staff=staff,
        )
    except CatalogError as exc:
        raise BundleRefused(
            f"catalogue v{bundle.version} refused: it does not validate: {exc}"
        ) from None
    if store.config.id != bundle.store_id:
        raise BundleRefused(
            f"catalogue v{bundle.version} refused: its store.toml is for {store.config.id!r}"
        )
    return store
