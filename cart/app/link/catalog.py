"""The store's catalogue on the cart: signed bundles (``cart.store.bundle``) verified before
use, kept on disk, applied between trips, the running version reported.

- A bundle from the broker is verified (store key, store id, newer version, digest) and
  validated as a store; only then is it written (atomically: a temporary file, fsync, rename)
  to ``catalog_dir/bundle.json`` and offered to the cart with ``apply(store, version)``.
  Anything else is refused with a sentence in the log and a counter, and the cart keeps the
  catalogue it has: the last good one.
- At start, :meth:`CatalogueKeeper.saved` verifies the kept bundle again (a file changed on the
  card is refused like a tampered message) and gives the store to start with.
- *Between trips*: ``apply`` hands the store to the engine, which uses it from the next trip on
  (``cart.app.engine.FusionEngine.offer_store``); a trip under way keeps its prices, pinned by
  its catalogue digest in the journal, so a line keeps the price it was scanned at.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from cart.store.bundle import BundleRefused, bundle_store, open_bundle
from cart.store.model import Store

log = logging.getLogger(__name__)
BUNDLE_FILE = "bundle.json"


class CatalogueKeeper:
    def __init__(
        self,
        folder: str | Path,
        *,
        store_id: str,
        keys: Mapping[str, bytes],
        apply: Callable[[Store, int], None] = lambda store, version: None,
        staff: bytes | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.store_id, self.keys, self.apply, self.staff = store_id, dict(keys), apply, staff
        self.version = 0
        self.refused = 0
        self.last_refusal = ""

    def saved(self) -> Store | None:
        """The kept bundle's store (and its version becomes the running one), or None."""
        path = self.folder / BUNDLE_FILE
        if not path.exists():
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            bundle = open_bundle(doc, store_id=self.store_id, keys=self.keys, current_version=0)
            store = bundle_store(bundle, staff=self.staff, path=str(path))
        except (OSError, ValueError) as exc:  # BundleRefused and JSON errors are ValueErrors
            self._refuse(f"{path}: {exc}")
            return None
        self.version = bundle.version
        return store

    def offer(self, doc) -> bool:
        """A bundle from the store: True when it is taken (and handed to ``apply``)."""
        try:
            bundle = open_bundle(
                doc, store_id=self.store_id, keys=self.keys, current_version=self.version
            )
            store = bundle_store(bundle, staff=self.staff)
        except BundleRefused as exc:
            if "is not newer" in str(exc):  # the retained bundle again after a reconnect
                log.info("%s", exc)
                return False
            self._refuse(str(exc))
            return False
        self._save(doc)
        self.version = bundle.version
        log.info("catalogue v%d accepted: from the next trip on", bundle.version)
        self.apply(store, bundle.version)
        return True

    def _refuse(self, why: str) -> None:
        self.refused += 1
        self.last_refusal = why
        log.error("%s; the cart keeps catalogue v%d", why, self.version)

    def _save(self, doc) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path, tmp = self.folder / BUNDLE_FILE, self.folder / (BUNDLE_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
