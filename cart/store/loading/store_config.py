"""Validating ``store.toml``: the ``[store]`` table, tax classes, restricted-circulation
barcode layouts, spot-check rates and journal settings."""

from __future__ import annotations

import re

from cart.store.loading.fields import (
    _CURRENCY_RE,
    _ID_RE,
    Problem,
    _Entry,
)
from cart.store.model import (
    EXPIRED_POLICIES,
    MEASURES,
    TAX_MODES,
    RcnLayout,
    StoreConfig,
    TaxClass,
)
from cart.store.secrets import PIN_HASH_FORMAT, is_pin_hash, weakness


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
