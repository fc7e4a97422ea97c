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

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cart.store.model import (
    COUPON_KINDS,
    EXPIRED_POLICIES,
    MEASURES,
    PROMOTION_KINDS,
    SOLD_BY,
    TAX_MODES,
    Catalog,
    CatalogProduct,
    Coupon,
    Promotion,
    RcnLayout,
    Store,
    StoreConfig,
    StoreProfile,
    TaxClass,
)
from cart.store.secrets import PIN_HASH_FORMAT, is_pin_hash, weakness
from cart.store.staff import STAFF_FILE, StaffMember, parse_staff

STORE_FILE = "store.toml"
CATALOG_FILE = "catalog.toml"
DEMO_STORE = Path(__file__).resolve().parent / "demo"

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_MAX_MONEY = 10**9  # minor units; no single price on a cart is above this
_MAX_GRAMS = 100_000


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a store file."""

    file: str
    entry: str  # e.g. "product[3] 'banana'", "store", "tax.food"
    field: str  # e.g. "price_per_kg"; "" when the whole entry is wrong
    message: str

    def __str__(self) -> str:
        where = f"{self.entry}: {self.field}" if self.field else self.entry
        return f"{self.file}: {where}: {self.message}"


class CatalogError(ValueError):
    """A store folder, store config or catalogue that does not validate. ``problems`` lists all."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        super().__init__(f"{len(lines)} problem(s):\n" + "\n".join(lines))


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


# ---------------------------------------------------------------------------------------------
# Loading and validation


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


def _parse_toml(data: bytes, name: str, problems: list[Problem]) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, "file", "", f"not UTF-8 text at byte {exc.start}"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(name, "file", "", f"not valid TOML: {exc}"))
    except RecursionError:
        problems.append(Problem(name, "file", "", "not readable TOML: nested too deeply"))
    return {}


class _Entry:
    """Field access for one table that records problems instead of raising."""

    def __init__(self, data: Any, file: str, entry: str, problems: list[Problem], allowed):
        self.file, self.entry, self.problems = file, entry, problems
        if not isinstance(data, dict):
            self.fail("", f"must be a table, got {type(data).__name__}")
            data = {}
        self.data = data
        for key in data:
            if key not in allowed:
                self.fail(key, "unknown key")

    def fail(self, fld: str, msg: str) -> None:
        self.problems.append(Problem(self.file, self.entry, fld, msg))

    def get(self, key, kind, default=..., *, check=None, what=""):
        if key not in self.data:
            if default is ...:
                self.fail(key, "missing")
                return None
            return default
        v = self.data[key]
        ok = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
        if not ok:
            name = what or getattr(kind, "__name__", str(kind))
            self.fail(key, f"must be {name}, got {v!r}")
            return None
        if check is not None:
            msg = check(v)
            if msg:
                self.fail(key, msg)
                return None
        return v

    def text(self, key, default=..., *, pattern=None, max_len=120):
        def check(v):
            if not v.strip():
                return "must not be empty"
            if len(v) > max_len:
                return f"longer than {max_len} characters"
            if any(ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in v):
                return "contains control characters"
            if pattern is not None and not pattern.match(v):
                return f"{v!r} does not match {pattern.pattern}"
            return ""

        return self.get(key, str, default, check=check, what="a string")

    def integer(self, key, default=..., *, lo=0, hi=_MAX_MONEY):
        def check(v):
            if v < lo:
                return f"must be >= {lo}, got {v}"
            if v > hi:
                return f"must be <= {hi}, got {v}"
            return ""

        return self.get(key, int, default, check=check, what="an integer")


def _gtin14(code: Any) -> tuple[str | None, str]:
    """Validate a GTIN with biip; (GTIN-14, "") or (None, reason)."""
    from biip import ParseError
    from biip.gtin import Gtin

    if not isinstance(code, str) or not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return None, f"{code!r} is not a GTIN (8, 12, 13 or 14 digits)"
    try:
        return Gtin.parse(code).as_gtin_14(), ""
    except ParseError as exc:
        return None, str(exc)


def _validate_store(
    doc: dict, file: str, problems: list[Problem], *, strict: bool = False
) -> StoreConfig | None:
    top = _Entry(doc, file, "file", problems, {"store", "tax", "rcn", "spot_check", "journal"})
    s = _Entry(
        doc.get("store") or {},
        file,
        "store",
        problems,
        {
            "id",
            "name",
            "country",
            "currency",
            "minor_digits",
            "tax_mode",
            "timezone",
            "staff_pin_hash",
            "loyalty_program",
            "expired",
        },
    )
    if "store" not in doc:
        top.fail("store", "missing")
    sid = s.text("id", pattern=_ID_RE)
    name = s.text("name")
    country = s.text("country", pattern=re.compile(r"^[A-Z]{2}$"))
    currency = s.text("currency", pattern=_CURRENCY_RE)
    minor = s.integer("minor_digits", lo=0, hi=3)
    tax_mode = s.text("tax_mode")
    if tax_mode is not None and tax_mode not in TAX_MODES:
        s.fail("tax_mode", f"must be one of {', '.join(TAX_MODES)}, got {tax_mode!r}")
    tz = s.text("timezone")
    if tz is not None:
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            s.fail("timezone", f"unknown time zone {tz!r}")
    pin = s.text("staff_pin_hash", "", max_len=400)  # legacy shared PIN; staff.toml replaces it
    if pin and not is_pin_hash(pin):
        s.fail("staff_pin_hash", f"must be {PIN_HASH_FORMAT}")
    elif pin and strict and weakness(pin):
        s.fail("staff_pin_hash", weakness(pin))
    loyalty = s.text("loyalty_program", "")
    expired = s.text("expired", "block")
    if expired is not None and expired not in EXPIRED_POLICIES:
        s.fail("expired", f"must be one of {', '.join(EXPIRED_POLICIES)}, got {expired!r}")
        expired = None

    taxes = _validate_taxes(doc.get("tax"), top, problems)
    rcn_country, layouts = _validate_rcn(doc.get("rcn", {}), file, problems)

    from cart.store import spotcheck  # [spot_check]: the exit gate's audit rates

    for fld, msg in spotcheck.problems(doc.get("spot_check")):
        problems.append(Problem(file, "spot_check", fld, msg))

    jr = _Entry(doc.get("journal", {}), file, "journal", problems, {"keep_days"})
    keep_days = jr.integer("keep_days", 30, lo=1, hi=3650)

    values = (sid, name, country, currency, minor, tax_mode, tz, pin, loyalty, expired)
    if rcn_country is None or any(v is None for v in values):
        return None
    if len(problems) and any(p.file == file for p in problems):
        return None
    return StoreConfig(
        id=sid,
        name=name,
        country=country,
        currency=currency,
        minor_digits=minor,
        tax_mode=tax_mode,
        timezone=tz,
        staff_pin_hash=pin,
        loyalty_program=loyalty,
        tax_classes=taxes,
        rcn_country=rcn_country,
        rcn_layouts=tuple(layouts),
        expired_policy=expired,
        journal_keep_days=keep_days if keep_days is not None else 30,
    )


def _validate_taxes(tax_doc: object, top: _Entry, problems: list[Problem]) -> dict[str, TaxClass]:
    """The ``[tax.<class>]`` tables: the valid tax classes by id (at least one is required)."""
    taxes: dict[str, TaxClass] = {}
    if not isinstance(tax_doc, dict) or not tax_doc:
        top.fail("tax", "at least one [tax.<class>] table is required")
        tax_doc = {}
    for tid, tdata in tax_doc.items():
        t = _Entry(tdata, top.file, f"tax.{tid}", problems, {"name", "rate_bp"})
        if not _ID_RE.match(tid):
            t.fail("", f"tax class id {tid!r} must match {_ID_RE.pattern}")
        rate = t.integer("rate_bp", lo=0, hi=10_000)
        tname = t.text("name", tid)
        if rate is not None and tname is not None:
            taxes[tid] = TaxClass(tid, tname, rate)
    return taxes


def _validate_rcn(
    rcn_doc: object, file: str, problems: list[Problem]
) -> tuple[str | None, list[RcnLayout]]:
    """The ``[rcn]`` table: its country (None when invalid) and its barcode layouts.

    Layouts are the ``[[rcn.layout]]`` tables when given, else the country's built-in ones; no
    two may share a prefix.
    """
    from cart.store.barcodes import BUILTIN_RCN_LAYOUTS

    rcn = _Entry(rcn_doc, file, "rcn", problems, {"country", "layout"})
    rcn_country = rcn.text("country", "", pattern=re.compile(r"^[a-z]{2}$"))
    layouts: list[RcnLayout] = []
    if "layout" in rcn.data:
        layouts = _validate_layouts(rcn, problems)
    elif rcn_country:
        if rcn_country not in BUILTIN_RCN_LAYOUTS:
            rcn.fail(
                "country",
                f"no built-in layouts for {rcn_country!r}; "
                f"known: {', '.join(sorted(BUILTIN_RCN_LAYOUTS))}; or give [[rcn.layout]]",
            )
        else:
            layouts = list(BUILTIN_RCN_LAYOUTS[rcn_country])
    seen: set[str] = set()
    for lay in layouts:
        if lay.prefix in seen:
            rcn.fail("layout", f"prefix {lay.prefix} has two layouts")
        seen.add(lay.prefix)
    return rcn_country, layouts


def _validate_layouts(rcn: _Entry, problems: list[Problem]) -> list[RcnLayout]:
    """The valid ``[[rcn.layout]]`` tables of the ``[rcn]`` table."""
    raw = rcn.data["layout"]
    if not isinstance(raw, list):
        rcn.fail("layout", "must be an array of tables ([[rcn.layout]])")
        raw = []
    layouts: list[RcnLayout] = []
    for i, ldata in enumerate(raw):
        lay = _validate_layout(ldata, rcn.file, f"rcn.layout[{i}]", problems)
        if lay is not None:
            layouts.append(lay)
    return layouts


def _validate_layout(ldata, file, entry, problems) -> RcnLayout | None:
    e = _Entry(ldata, file, entry, problems, {"prefix", "measure", "pattern", "decimals"})
    prefix = e.text("prefix", pattern=re.compile(r"^(0[2]|2[0-9])$"))
    measure = e.text("measure")
    if measure is not None and measure not in MEASURES:
        e.fail("measure", f"must be one of {', '.join(MEASURES)}")
        measure = None
    pattern = e.text("pattern", pattern=re.compile(r"^P{2,}C?V{3,6}$"))
    if pattern is not None and len(pattern) != 12:
        e.fail("pattern", f"must have 12 characters, got {len(pattern)}")
        pattern = None
    if pattern is not None and "C" in pattern and pattern.count("V") not in (4, 5):
        e.fail("pattern", "a price/weight check digit (C) needs a 4- or 5-digit value")
        pattern = None
    decimals = e.integer("decimals", lo=0, hi=3)
    if None in (prefix, measure, pattern, decimals):
        return None
    return RcnLayout(prefix, measure, pattern, decimals)


_PRODUCT_KEYS = {
    "id",
    "name",
    "gtins",
    "plu",
    "sold_by",
    "price_each",
    "price_per_kg",
    "unit_weight_g",
    "weight_tolerance_g",
    "tare_g",
    "label",
    "tax_class",
    "age_min",
    "promotions",
    "variable_measure",
}
_PROMO_KEYS = {"id", "kind", "name", "buy", "pay", "price", "off_per_kg", "loyalty_only"}
_COUPON_KEYS = {"code", "name", "kind", "amount", "min_spend", "product"}


def _entries(doc, key, file, problems) -> list:
    v = doc.get(key, [])
    if not isinstance(v, list):
        problems.append(Problem(file, key, "", f"must be an array of tables ([[{key}]])"))
        return []
    return v


def _validate_catalog(doc, file, tax_ids, problems, digest) -> Catalog | None:
    n_before = len(problems)
    _Entry(doc, file, "file", problems, {"product", "promotion", "coupon"})
    promotions = _validate_promotions(doc, file, problems)
    products, seen = _validate_products(doc, file, tax_ids, promotions, problems)
    coupons = _validate_coupons(doc, file, seen, problems)
    if len(problems) > n_before:
        return None
    return Catalog(tuple(products), promotions, coupons, digest)


@dataclass(slots=True)
class _SeenCodes:
    """The product ids, GTINs and PLUs met so far in the catalogue, to find duplicates.

    ``gtins`` and ``plus`` map to the product id as written (whatever the file holds there).
    """

    ids: dict[str, int]  # product id -> index of its [[product]] entry
    gtins: dict[str, object]  # GTIN-14 -> product id
    plus: dict[str, object]  # PLU -> product id


def _validate_promotions(
    doc: dict[str, Any], file: str, problems: list[Problem]
) -> dict[str, Promotion]:
    """The ``[[promotion]]`` entries: the valid promotions by id (the last of a duplicate id)."""
    promotions: dict[str, Promotion] = {}
    for i, pdata in enumerate(_entries(doc, "promotion", file, problems)):
        pid = pdata.get("id") if isinstance(pdata, dict) else None
        e = _Entry(pdata, file, f"promotion[{i}] {pid!r}", problems, _PROMO_KEYS)
        promo = _validate_promotion(e)
        if promo is not None:
            if promo.id in promotions:
                e.fail("id", f"duplicate promotion id {promo.id!r}")
            promotions[promo.id] = promo
    return promotions


def _validate_products(
    doc: dict[str, Any],
    file: str,
    tax_ids: set[str],
    promotions: dict[str, Promotion],
    problems: list[Problem],
) -> tuple[list[CatalogProduct], _SeenCodes]:
    """The ``[[product]]`` entries (at least one): the valid products, and the ids and codes
    of all entries."""
    products: list[CatalogProduct] = []
    seen = _SeenCodes({}, {}, {})
    raw_products = _entries(doc, "product", file, problems)
    if not raw_products:
        problems.append(Problem(file, "product", "", "the catalogue has no products"))
    for i, pdata in enumerate(raw_products):
        pid = pdata.get("id") if isinstance(pdata, dict) else None
        e = _Entry(pdata, file, f"product[{i}] {pid!r}", problems, _PRODUCT_KEYS)
        prod = _validate_product(e, tax_ids, promotions)
        _check_duplicates(e, i, pdata, seen)
        if prod is not None:
            products.append(prod)
    return products, seen


def _check_duplicates(e: _Entry, i: int, pdata: object, seen: _SeenCodes) -> None:
    """Report a product id, GTIN or PLU of entry ``i`` already met, and record them in ``seen``.

    Duplicates are checked on the raw entry, so an otherwise bad entry still reports the codes
    it would clash on.
    """
    raw = pdata if isinstance(pdata, dict) else {}
    rid: object = raw.get("id")
    if isinstance(rid, str):
        if rid in seen.ids:
            e.fail("id", f"duplicate product id (also product[{seen.ids[rid]}])")
        else:
            seen.ids[rid] = i
    raw_gtins = raw.get("gtins")
    for g in raw_gtins if isinstance(raw_gtins, list) else []:
        g14, _ = _gtin14(g)
        if g14 is None:
            continue
        if g14 in seen.gtins and seen.gtins[g14] != rid:
            e.fail("gtins", f"GTIN {g} is also on product {seen.gtins[g14]!r}")
        seen.gtins.setdefault(g14, rid)
    rplu = raw.get("plu")
    if isinstance(rplu, str) and rplu:
        if rplu in seen.plus:
            e.fail("plu", f"PLU {rplu} is also on product {seen.plus[rplu]!r}")
        else:
            seen.plus[rplu] = rid


def _validate_coupons(
    doc: dict[str, Any], file: str, seen: _SeenCodes, problems: list[Problem]
) -> dict[str, Coupon]:
    """The ``[[coupon]]`` entries: the valid coupons by GTIN-14 (a code may be neither another
    coupon's nor a product's GTIN)."""
    coupons: dict[str, Coupon] = {}
    for i, cdata in enumerate(_entries(doc, "coupon", file, problems)):
        code = cdata.get("code") if isinstance(cdata, dict) else None
        e = _Entry(cdata, file, f"coupon[{i}] {code!r}", problems, _COUPON_KEYS)
        c = _validate_coupon(e, seen.ids)
        if c is None:
            continue
        if c.gtin in coupons:
            e.fail("code", "duplicate coupon code")
        if c.gtin in seen.gtins:
            e.fail("code", f"coupon code is also product {seen.gtins[c.gtin]!r}'s GTIN")
        coupons[c.gtin] = c
    return coupons


def _validate_promotion(e: _Entry) -> Promotion | None:
    pid = e.text("id", pattern=_ID_RE)
    kind = e.text("kind")
    name = e.text("name")
    if kind is not None and kind not in PROMOTION_KINDS:
        e.fail("kind", f"must be one of {', '.join(PROMOTION_KINDS)}, got {kind!r}")
        return None
    loyalty = e.get("loyalty_only", bool, kind == "loyalty_price", what="true or false")
    buy = pay = price = off = 0
    if kind == "multibuy":
        buy, price = e.integer("buy", lo=2, hi=100), e.integer("price", lo=0)
        need = {"buy": buy, "price": price}
    elif kind == "x_for_y":
        buy, pay = e.integer("buy", lo=2, hi=100), e.integer("pay", lo=1, hi=99)
        need = {"buy": buy, "pay": pay}
        if buy is not None and pay is not None and pay >= buy:
            e.fail("pay", f"must be less than buy ({buy})")
            return None
    elif kind == "bogo":
        buy, pay = 2, 1
        need = {}
        for k in ("buy", "pay"):
            if k in e.data:
                e.fail(k, "bogo is always buy 2 pay 1; use x_for_y for other groups")
    elif kind == "loyalty_price":
        price = e.integer("price", lo=0)
        need = {"price": price}
    elif kind == "per_kg_discount":
        off = e.integer("off_per_kg", lo=1)
        need = {"off_per_kg": off}
    else:
        need = {}
    if None in (pid, kind, name, loyalty) or None in need.values():
        return None
    return Promotion(
        pid, kind, name, buy=buy, pay=pay, price=price, off_per_kg=off, loyalty_only=loyalty
    )


def _validate_product(
    e: _Entry, tax_ids: set[str], promotions: dict[str, Promotion]
) -> CatalogProduct | None:
    n_before = len(e.problems)
    pid = e.text("id", pattern=_ID_RE)
    name = e.text("name")
    sold_by = e.text("sold_by")
    if sold_by is not None and sold_by not in SOLD_BY:
        e.fail("sold_by", f"must be 'each' or 'weight', got {sold_by!r}")
        sold_by = None
    price = _product_price(e, sold_by)
    gtins = _product_gtins(e)
    plu = e.text("plu", "", pattern=re.compile(r"^(?:[3-4]\d{3}|9[3-4]\d{3})$"))
    if plu == "" and not gtins:
        e.fail("gtins", "a product needs at least one GTIN or a PLU")
    unit_w = e.integer("unit_weight_g", 0 if sold_by == "weight" else ..., lo=0, hi=_MAX_GRAMS)
    if sold_by == "each" and unit_w == 0:
        e.fail("unit_weight_g", "a product sold each needs its expected weight (> 0 g)")
    tol = e.integer("weight_tolerance_g", 0, lo=0, hi=_MAX_GRAMS)
    if sold_by == "each" and unit_w and tol is not None and tol >= unit_w:
        e.fail("weight_tolerance_g", f"must be less than unit_weight_g ({unit_w})")
    tare = e.integer("tare_g", 0, lo=0, hi=_MAX_GRAMS)
    label = e.text("label", "", pattern=_LABEL_RE)
    tax = e.text("tax_class")
    if tax is not None and tax_ids and tax not in tax_ids:
        e.fail("tax_class", f"unknown tax class {tax!r} (store has: {', '.join(sorted(tax_ids))})")
    age = e.integer("age_min", 0, lo=0, hi=99)
    variable = e.get("variable_measure", bool, sold_by == "weight", what="true or false")
    if sold_by == "weight" and variable is False:
        e.fail("variable_measure", "a product sold by weight is always variable measure")
    promos = _product_promotions(e, sold_by, promotions)
    # A price is None only with a problem recorded (sold_by or its price field invalid).
    if len(e.problems) > n_before or price is None:
        return None
    return CatalogProduct(
        id=pid,
        name=name,
        sold_by=sold_by,
        price=price,
        tax_class=tax,
        gtins=tuple(gtins),
        plu=plu,
        unit_weight_g=unit_w,
        weight_tolerance_g=tol,
        tare_g=tare,
        label=label,
        age_min=age,
        promotions=promos,
        organic=len(plu) == 5,
        variable_measure=bool(variable),
    )


def _product_price(e: _Entry, sold_by: str | None) -> int | None:
    """The price field of how the product is sold (price_each or price_per_kg), None when it
    is invalid or how the product is sold is not known; the other price field is refused."""
    price = None
    if sold_by == "each":
        price = e.integer("price_each", lo=0)
        if "price_per_kg" in e.data:
            e.fail("price_per_kg", "only for products sold by weight")
    elif sold_by == "weight":
        price = e.integer("price_per_kg", lo=0)
        if "price_each" in e.data:
            e.fail("price_each", "only for products sold each")
    return price


def _product_gtins(e: _Entry) -> list[str]:
    """The product's valid GTINs as GTIN-14, each once."""
    raw_gtins = e.get("gtins", list, [], what="a list of strings")
    gtins: list[str] = []
    for g in raw_gtins or []:
        g14, why = _gtin14(g)
        if g14 is None:
            e.fail("gtins", why)
        elif g14 in gtins:
            e.fail("gtins", f"{g!r} listed twice")
        else:
            gtins.append(g14)
    return gtins


def _product_promotions(
    e: _Entry, sold_by: str | None, promotions: dict[str, Promotion]
) -> tuple[str, ...]:
    """The product's valid promotion ids, in the order listed; each must be a known promotion,
    and a per-kg discount only on a product sold by weight."""
    promos = e.get("promotions", list, [], what="a list of promotion ids")
    valid: list[str] = []
    for p in promos or []:
        if not isinstance(p, str) or p not in promotions:
            e.fail("promotions", f"unknown promotion {p!r}")
        elif promotions[p].kind == "per_kg_discount" and sold_by != "weight":
            e.fail("promotions", f"{p!r} is a per-kg discount but the product is sold each")
        else:
            valid.append(p)
    return tuple(valid)


def _validate_coupon(e: _Entry, product_ids: dict[str, int]) -> Coupon | None:
    n_before = len(e.problems)
    code = e.text("code")
    g14 = None
    if code is not None:
        g14, why = _gtin14(code)
        if g14 is None:
            e.fail("code", why)
        elif not g14[1:].startswith("99"):
            e.fail("code", "a coupon code must be a GTIN-13 with the GS1 coupon prefix 99")
    name = e.text("name")
    kind = e.text("kind")
    if kind is not None and kind not in COUPON_KINDS:
        e.fail("kind", f"must be one of {', '.join(COUPON_KINDS)}, got {kind!r}")
    amount = e.integer("amount", lo=1)
    min_spend = e.integer("min_spend", 0, lo=0)
    product = e.text("product", "" if kind != "product_amount_off" else ...)
    if product and product not in product_ids:
        e.fail("product", f"unknown product {product!r}")
    if kind == "amount_off" and product:
        e.fail("product", "only for product_amount_off")
    # g14 is None only with a problem recorded (code missing or not a GTIN).
    if len(e.problems) > n_before or g14 is None:
        return None
    return Coupon(code, g14, name, kind, amount, min_spend, product)
