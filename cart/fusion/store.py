"""The core store seen through fusion's small product interface.

``StoreProducts(store)`` implements ``cart.fusion.products.ProductSource`` on a
``cart.store.model.Store``: codes are interpreted by ``cart.store.barcodes.lookup`` (EAN/UPC,
GS1, in-store weight and price labels, PLUs), so fusion never parses a barcode itself. Coarse
classifier labels
come from ``models/labels.csv`` when it is there.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cart.fusion.products import Lookup, Product, Refused

_LABELS = Path(__file__).resolve().parents[2] / "models" / "labels.csv"


def coarse_labels(path: Path = _LABELS) -> dict[str, str]:
    """Fine class name -> coarse class name (empty when the labels file is absent)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            return {row["name"]: row["coarse"] for row in csv.DictReader(f)}
    except (OSError, KeyError):
        return {}


# Rejections of a code that is itself broken (a misread, a damaged label): scanning it again
# may read it right. Any other rejection is what the code says, and is told as it is.
_MISREAD = ("check digit", "cannot interpret", "empty code", "malformed aim")


def misread(reason: str) -> bool:
    """``reason`` (``Interpretation.reason``) says the code was read wrong, not that it means
    something this store refuses."""
    low = reason.lower()
    return any(w in low for w in _MISREAD)


def scan_code(gtin14: str) -> str:
    """The digits a scanner reads for a GTIN-14 key (EAN-13 when it has a leading zero)."""
    return gtin14[1:] if len(gtin14) == 14 and gtin14.startswith("0") else gtin14


def from_core(p, coarse: dict[str, str]) -> Product:
    codes = tuple(scan_code(g) for g in p.gtins) + ((p.plu,) if p.plu else ())
    return Product(
        id=p.id,
        name=p.name,
        price_minor=int(p.price),
        by_weight=bool(p.by_weight),
        unit_weight_g=float(p.unit_weight_g),
        tolerance_g=float(p.weight_tolerance_g),
        tare_g=float(p.tare_g),
        label=p.label or None,
        coarse=coarse.get(p.label) if p.label else None,
        age_restricted=p.age_min > 0,
        codes=codes,
    )


class StoreProducts:
    def __init__(self, store) -> None:
        self.store = store
        coarse = coarse_labels()
        self._products = {p.id: from_core(p, coarse) for p in store.catalog.products}
        self._by_label: dict[str, tuple[Product, ...]] = {}
        for p in self._products.values():
            if p.label:
                self._by_label[p.label] = (*self._by_label.get(p.label, ()), p)
        self._cache: dict[tuple[str, str], Lookup | Refused] = {}
        self._coupons: dict[tuple[str, str], object] = {}

    def read(self, code: str, symbology: str = "", t_ms: int | None = None) -> Lookup | Refused:
        """``cart.store.barcodes.lookup`` with the scan's symbology and time: the product and
        what its label carries, or why the code is refused. Only interpretations that cannot
        depend on the date (plain GTINs, in-store numbers, PLUs, rejections) are kept: a GS1
        element string or Digital Link may carry an expiry date, so it is read again each
        time."""
        key = (code, symbology)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        from cart.store.barcodes import lookup

        m = lookup(self.store, code, symbology, t_ms)
        it = m.interpretation
        found: Lookup | Refused
        if m.ok and m.product is not None:
            found = Lookup(
                self._products[m.product.id],
                code,
                weight_g=float(it.weight_g) if it.weight_g is not None else None,
                price_minor=int(it.price) if it.price is not None else None,
                needs_staff=m.needs_staff,
                warnings=it.warnings,
            )
        elif not it.ok:
            found = Refused(code, it.reason, misread=misread(it.reason))
        elif m.product is not None:  # a weight or price the product may not carry
            found = Refused(code, m.reason)
        else:  # unknown here, or a coupon (the session applies coupons before fusion)
            found = Refused(code)
        if it.kind in ("gtin", "rcn", "plu", "rejected") and len(self._cache) < 4096:
            self._cache[key] = found
        return found

    def lookup(self, code: str, symbology: str = "", t_ms: int | None = None) -> Lookup | None:
        found = self.read(code, symbology, t_ms)
        return found if isinstance(found, Lookup) else None

    def coupon(self, code: str, symbology: str = ""):
        key = (code, symbology)
        if key in self._coupons:
            return self._coupons[key]
        from cart.store.barcodes import lookup

        m = lookup(self.store, code, symbology)
        c = m.coupon if m.ok else None
        if len(self._coupons) < 4096:
            self._coupons[key] = c
        return c

    def get(self, product_id: str) -> Product | None:
        return self._products.get(product_id)

    def by_label(self, label: str) -> tuple[Product, ...]:
        return self._by_label.get(label, ())

    def products(self) -> Iterable[Product]:
        return iter(self._products.values())
