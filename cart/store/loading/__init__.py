"""Loading a store: its two hand-editable TOML files, validated before anything is used.

A store is a folder with (schema in ``docs/CATALOG.md``):

- ``store.toml``: ``[store]`` (id, name, currency, minor units, tax mode, time zone, staff PIN
  hash), ``[tax.<class>]`` rates, ``[rcn]`` restricted-circulation barcode layouts.
- ``catalog.toml``: ``[[product]]``, ``[[promotion]]`` and ``[[coupon]]`` entries.
- ``staff.toml`` (optional): ``[[staff]]`` id and argon2id PIN hash per staff member
  (``cart.store.staff``). Read with the folder, never kept in ``Store.sources`` (the bytes a
  journal copies).

Staff secrets are judged when a store is loaded from its folder: a hash below the floor of
``cart.store.secrets.weakness`` is a load error. A store rebuilt from a journal's copy
(``load_store_bytes``) checks only their form: an old session must still replay.

Every problem is collected (file, entry, field, message) and reported together in one
:class:`CatalogError`; nothing is half-loaded. The types it builds are in ``cart.store.model``.
"""

from cart.store.loading.fields import CatalogError, Problem
from cart.store.loading.load import (
    CATALOG_FILE,
    DEMO_STORE,
    STORE_FILE,
    load_store,
    load_store_bytes,
    store_profile,
)

__all__ = [
    "CATALOG_FILE",
    "DEMO_STORE",
    "STORE_FILE",
    "CatalogError",
    "Problem",
    "load_store",
    "load_store_bytes",
    "store_profile",
]
