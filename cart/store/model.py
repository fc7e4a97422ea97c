"""The store's data types: its configuration (currency, tax, barcode layouts, a legacy shared staff
PIN hash), its catalogue (products, promotions, coupons) and its staff (``staff.toml``), all
immutable.

``cart.store.loading`` builds them from a store folder (``load_store``), validating everything
first; ``docs/CATALOG.md`` is the file schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cart.common.i18n import LocalName
from cart.common.money import Amount, Money, format_with_code
from cart.store.secrets import verify_pin
from cart.store.staff import SHARED, StaffMember

SOLD_BY = ("each", "weight")
TAX_MODES = ("inclusive", "exclusive")
PROMOTION_KINDS = ("multibuy", "x_for_y", "bogo", "loyalty_price", "per_kg_discount")
COUPON_KINDS = ("amount_off", "product_amount_off")
MEASURES = ("price", "weight", "count")
EXPIRED_POLICIES = ("block", "warn")  # [store] expired: what a past (17) expiry date does


@dataclass(frozen=True, slots=True)
class TaxClass:
    id: str
    name: str
    rate_bp: int  # basis points: 1200 = 12 %


@dataclass(frozen=True, slots=True)
class RcnLayout:
    """A restricted-circulation number layout: how a GTIN-13 with this prefix embeds a measure.

    ``pattern`` has 12 characters over the GTIN-13's first 12 digits (the 13th is the GTIN check
    digit): ``P`` item reference (including the prefix), ``C`` the price/weight check digit,
    ``V`` the embedded value. ``decimals``: digits after the decimal point of the value (in
    currency units for price, kilograms for weight).
    """

    prefix: str  # the first two digits of the GTIN-13 ("23"; "02" is UPC-A number system 2)
    measure: str  # "price" | "weight" | "count"
    pattern: str
    decimals: int


@dataclass(frozen=True, slots=True)
class StoreConfig:
    id: str
    name: str
    country: str
    currency: str
    minor_digits: int
    tax_mode: str  # "inclusive" | "exclusive"
    timezone: str
    staff_pin_hash: str  # legacy: one PIN for all staff; "" when the store has a staff.toml
    loyalty_program: str
    tax_classes: dict[str, TaxClass]
    rcn_country: str
    rcn_layouts: tuple[RcnLayout, ...]
    # "block": an item past its (17) expiry date needs staff approval; "warn": a warning only
    expired_policy: str = "block"
    # [journal] keep_days: finished trips are pruned from the cart's journal after this many days
    journal_keep_days: int = 30
    # [store] language: the language a trip starts in (cart.common.i18n), unless the cart's
    # profile or the command line says another
    language: str = "en"

    @property
    def tax_inclusive(self) -> bool:
        return self.tax_mode == "inclusive"

    @property
    def money(self) -> Money:
        """The screen's formatter for this store's currency."""
        return Money(self.currency, self.minor_digits)

    def format_money(self, minor: int) -> str:
        """``1234`` → ``"12.34 SEK"`` (:func:`cart.common.money.format_with_code`)."""
        return format_with_code(minor, self.currency, self.minor_digits)

    def amount(self, minor: int) -> Amount:
        """``1234`` as a phrase's parameter: ``"12.34 SEK"`` in the journal, ``"12,34 kr"`` on a
        Swedish screen (:class:`cart.common.money.Amount`)."""
        return Amount(minor, self.currency, self.minor_digits)

    def verify_staff_pin(self, pin: str) -> bool:
        """True when ``pin`` matches the legacy shared ``staff_pin_hash`` (none: never)."""
        return bool(self.staff_pin_hash) and verify_pin(self.staff_pin_hash, pin)


def _local_name(entry) -> None:
    """A catalogue entry with names in other languages: its ``name`` becomes a ``LocalName``
    (the one name wherever it is kept, the shopper's language's on the screen)."""
    if entry.names and not isinstance(entry.name, LocalName):
        object.__setattr__(entry, "name", LocalName(entry.name, dict(entry.names)))


@dataclass(frozen=True, slots=True)
class Promotion:
    """A product promotion. Which fields matter depends on ``kind`` (see docs/PRICING.md)."""

    id: str
    kind: str  # multibuy | x_for_y | bogo | loyalty_price | per_kg_discount
    name: str
    buy: int = 0  # multibuy, x_for_y, bogo: group size
    pay: int = 0  # x_for_y, bogo: units paid per group
    price: int = 0  # multibuy: price of a group; loyalty_price: member price (each or per kg)
    off_per_kg: int = 0  # per_kg_discount: minor units off per kg
    loyalty_only: bool = False  # applies only when a loyalty card is identified
    # the name in other languages (catalog.toml ``name_sv = "..."``), as a product's
    names: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _local_name(self)


@dataclass(frozen=True, slots=True)
class Coupon:
    code: str  # the coupon's barcode (GTIN-13, GS1 prefix 99), as printed
    gtin: str  # the same, as GTIN-14, the look-up key
    name: str
    kind: str  # amount_off | product_amount_off
    amount: int  # minor units off
    min_spend: int = 0  # amount_off: basket total (after promotions) needed
    product: str = ""  # product_amount_off: the product id
    # the name in other languages (catalog.toml ``name_sv = "..."``), as a product's
    names: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _local_name(self)


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """A product as the catalogue defines it (GTINs, PLU, price, tax class). Fusion reasons over
    its own projection of it, ``cart.fusion.products.Product`` (``cart.fusion.store.from_core``)."""

    id: str
    name: str
    sold_by: str  # "each" | "weight"
    price: int  # minor units: per item (each) or per kilogram (weight)
    tax_class: str
    gtins: tuple[str, ...] = ()  # as GTIN-14 (look-up keys)
    plu: str = ""  # IFPS PLU, 4 digits or 5 starting with 9 (organic)
    unit_weight_g: int = 0  # expected weight of one item (each) or a typical piece (weight)
    weight_tolerance_g: int = 0  # +- tolerance of one item's weight
    tare_g: int = 0  # weight of the container that comes with it (tray, jar)
    label: str = ""  # the classifier's fine class name; "" for items it does not know
    age_min: int = 0  # minimum buyer age; 0 = not restricted
    promotions: tuple[str, ...] = ()
    organic: bool = False
    # a variable measure trade item (GS1 General Specifications 2.1.11.2): a label on it may
    # carry its weight (310n) or price (392n). Always true for products sold by weight.
    variable_measure: bool = False
    # the name in other languages, (language, name) pairs (catalog.toml ``name_sv = "..."``);
    # ``name`` then becomes a ``cart.common.i18n.LocalName``: the one name wherever it is kept
    # (journal, receipt), the shopper's language's on the screen
    names: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _local_name(self)

    @property
    def by_weight(self) -> bool:
        return self.sold_by == "weight"


@dataclass(frozen=True)
class Catalog:
    """Products, promotions and coupons, with look-ups. Build it with :func:`load_store`."""

    products: tuple[CatalogProduct, ...]
    promotions: dict[str, Promotion]
    coupons: dict[str, Coupon]  # by GTIN-14
    digest: str  # sha256 of the catalogue and store files, to pin a session to its prices
    _by_id: dict[str, CatalogProduct] = field(repr=False, default_factory=dict)
    _by_gtin: dict[str, CatalogProduct] = field(repr=False, default_factory=dict)
    _by_plu: dict[str, CatalogProduct] = field(repr=False, default_factory=dict)
    _by_label: dict[str, tuple[CatalogProduct, ...]] = field(repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        labels: dict[str, list[CatalogProduct]] = {}
        for p in self.products:
            self._by_id[p.id] = p
            for g in p.gtins:
                self._by_gtin[g] = p
            if p.plu:
                self._by_plu[p.plu] = p
            if p.label:
                labels.setdefault(p.label, []).append(p)
        self._by_label.update({k: tuple(v) for k, v in labels.items()})

    def __len__(self) -> int:
        return len(self.products)

    def get(self, product_id: str) -> CatalogProduct | None:
        return self._by_id.get(product_id)

    def __getitem__(self, product_id: str) -> CatalogProduct:
        return self._by_id[product_id]

    def by_gtin(self, gtin: str) -> CatalogProduct | None:
        """Any GTIN form (8, 12, 13 or 14 digits); matched as GTIN-14."""
        if not gtin.isdigit() or len(gtin) > 14:
            return None
        return self._by_gtin.get(gtin.zfill(14))

    def by_plu(self, plu: str) -> CatalogProduct | None:
        return self._by_plu.get(plu)

    def by_label(self, label: str) -> tuple[CatalogProduct, ...]:
        """Products the classifier label stands for (conventional and organic may share one)."""
        return self._by_label.get(label, ())

    def coupon(self, gtin: str) -> Coupon | None:
        if not gtin.isdigit() or len(gtin) > 14:
            return None
        return self.coupons.get(gtin.zfill(14))

    @property
    def labels(self) -> frozenset[str]:
        return frozenset(self._by_label)

    def search(self, text: str, limit: int = 10) -> tuple[CatalogProduct, ...]:
        """Products whose name, in any of its languages, contains ``text`` (case-insensitive),
        for the produce search."""
        t = text.casefold().strip()
        if not t:
            return ()

        def names(p: CatalogProduct) -> tuple[str, ...]:
            return (p.name.casefold(), *(n.casefold() for _, n in p.names))

        hits = [p for p in self.products if any(t in n for n in names(p))]
        hits.sort(key=lambda p: (not any(n.startswith(t) for n in names(p)), p.name))
        return tuple(hits[:limit])


@dataclass(frozen=True)
class Store:
    """A validated store: its config and catalogue.

    ``sources`` are the exact bytes of ``store.toml`` and ``catalog.toml`` it was loaded from;
    the journal keeps a copy per digest so a session always replays with the prices it had.
    ``staff`` (from ``staff.toml``, ``cart.store.staff``) is deliberately not among them: staff
    hashes never reach a journal, and a store loaded from a journal's copy has no staff.
    """

    config: StoreConfig
    catalog: Catalog
    path: Path
    sources: tuple[bytes, bytes] = field(default=(b"", b""), repr=False, compare=False)
    staff: tuple[StaffMember, ...] = field(default=(), repr=False, compare=False)

    @property
    def digest(self) -> str:
        return self.catalog.digest

    def staff_pins(self) -> dict[str, str]:
        """staff id -> PIN hash, for fusion's staff gate: the staff file's members, else the
        legacy shared ``staff_pin_hash`` under ``"*"`` (any id), else none (nobody logs in)."""
        if self.staff:
            return {m.id: m.hash for m in self.staff}
        return {SHARED: self.config.staff_pin_hash} if self.config.staff_pin_hash else {}

    def verify_staff_pin(self, pin: str, staff_id: str = SHARED) -> bool:
        """True when ``pin`` is ``staff_id``'s (or the shared) PIN."""
        pins = self.staff_pins()
        h = pins.get(staff_id) or pins.get(SHARED)
        return h is not None and bool(h) and verify_pin(h, pin)


@dataclass(frozen=True, slots=True)
class StoreProfile:
    """The ``[store]`` section of a hardware profile: where the store and journal live."""

    path: Path
    journal: str
    journal_synchronous: str = "FULL"
    demo: bool = False  # [store] demo = true: a demo cart (the demo PIN is allowed)
