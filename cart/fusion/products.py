"""The small product interface fusion needs, and a plain in-memory catalogue implementing it.

Fusion does not parse barcodes or price anything: it asks a ``ProductSource`` what a code means
(``lookup``) and which products a classifier label shows (``by_label``). ``cart.fusion.store``
adapts the core catalogue to this interface; tests and the trip simulator may also use
``SimpleCatalogue`` directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    name: str
    price_minor: int  # each, or per kg when ``by_weight``
    by_weight: bool = False
    unit_weight_g: float = 0.0  # each: the item's weight; by weight: a typical piece
    tolerance_g: float = 0.0  # catalogue tolerance of ``unit_weight_g`` (treated as ±2 σ)
    tare_g: float = 0.0  # by weight: the store bag / container subtracted when declared
    label: str | None = None  # classifier fine label that shows this product, if any
    coarse: str | None = None  # classifier coarse label
    age_restricted: bool = False
    codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a scanned code means: a product, and what the code itself carries."""

    product: Product
    code: str
    weight_g: float | None = None  # net weight printed in the code (pre-packed, GS1 310n)
    price_minor: int | None = None  # price printed in the code (pre-packed)
    needs_staff: str = ""  # why staff must approve the sale ("" when not: an expired item)
    warnings: tuple[str, ...] = ()  # what to tell the shopper about the code (expired, ...)

    @property
    def labelled(self) -> bool:
        """The code carries the item's own weight or price (a deli, bakery or pre-packed label):
        it is billed by the label, and the scale checks the label."""
        return self.weight_g is not None or self.price_minor is not None


@dataclass(frozen=True, slots=True)
class Refused:
    """A code that was read but is not accepted: broken (``misread``: scan it again), not
    something this store sells as coded (``reason``, e.g. a price printed on a fixed-price
    product), or simply unknown here (``reason`` empty)."""

    code: str
    reason: str = ""
    misread: bool = False


class ProductSource(Protocol):
    def lookup(self, code: str) -> Lookup | None: ...

    def read(self, code: str, symbology: str = "", t_ms: int | None = None) -> Lookup | Refused:
        """A scanned code, read as the scanner reported it (its AIM ``symbology``) at ``t_ms``
        (expiry dates): what it bills, or why it is refused."""
        ...

    def get(self, product_id: str) -> Product | None: ...

    def by_label(self, label: str) -> tuple[Product, ...]: ...

    def products(self) -> Iterable[Product]: ...


@dataclass
class SimpleCatalogue:
    """Products by code and by classifier label (exact codes only; no barcode parsing)."""

    items: list[Product] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_code: dict[str, Product] = {}
        self._by_id: dict[str, Product] = {}
        self._by_label: dict[str, list[Product]] = {}
        for p in self.items:
            if p.id in self._by_id:
                raise ValueError(f"duplicate product id {p.id!r}")
            self._by_id[p.id] = p
            for c in p.codes:
                if c in self._by_code:
                    raise ValueError(f"code {c!r} is used by {self._by_code[c].id!r} and {p.id!r}")
                self._by_code[c] = p
            if p.label:
                self._by_label.setdefault(p.label, []).append(p)

    def lookup(self, code: str) -> Lookup | None:
        p = self._by_code.get(code)
        return Lookup(p, code) if p else None

    def read(self, code: str, symbology: str = "", t_ms: int | None = None) -> Lookup | Refused:
        return self.lookup(code) or Refused(code)

    def get(self, product_id: str) -> Product | None:
        return self._by_id.get(product_id)

    def by_label(self, label: str) -> tuple[Product, ...]:
        return tuple(self._by_label.get(label, ()))

    def products(self) -> Iterable[Product]:
        return iter(self.items)
