"""GS1 element strings: parsing, repeats and contradictions, and the measures, prices and
dates a cart bills by."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from cart.common.i18n import N_, Phrase
from cart.common.text import printable
from cart.store.barcodes.results import Interpretation, _reject


def _from_gs1_message(text, sym, config, t_ms, *, hri: bool = False) -> Interpretation:
    import re

    from biip import ParseError
    from biip.gs1_messages import GS1Message

    if hri:  # biip drops "(10)" with nothing after it; an empty value is not a value
        empty = re.search(r"\((\d{2,4})\)(?=\(|$)", text)
        if empty:
            return _reject(text, sym, Phrase("empty value for AI ({ai})", ai=empty[1]))
    try:
        msg = GS1Message.parse_hri(text) if hri else GS1Message.parse(text)
    except (ParseError, ValueError) as exc:
        return _reject(
            text, sym, Phrase("not a GS1 element string: {error}", error=printable(str(exc), 200))
        )
    return _from_elements(text, sym, msg.element_strings, config, t_ms, "gs1")


def _local_date(t_ms: int, config) -> dt.date:
    tz: dt.tzinfo = dt.UTC
    if config is not None:
        import zoneinfo

        tz = zoneinfo.ZoneInfo(config.timezone)
    return dt.datetime.fromtimestamp(t_ms / 1000, tz).date()


def _from_elements(text, sym, elements, config, t_ms, kind) -> Interpretation:
    elements = _distinct(elements)
    if isinstance(elements, str):
        return _reject(text, sym, elements)
    problem: str | None = _contradiction(elements)
    if problem:
        return _reject(text, sym, problem)
    found: dict = {"gtin": "", "price": None, "weight_g": None, "expiry": "", "expired": False}
    warnings: list[str] = []
    minor = config.minor_digits if config is not None else 2
    for es in elements:
        ai = es.ai.ai
        if ai == "01":
            if es.gtin is None:
                why = es.gtin_error or Phrase("invalid GTIN in (01): {value}", value=es.value)
                return _reject(text, sym, why)
            found["gtin"] = es.gtin.as_gtin_14()
            continue
        problem = _measure_element(ai, es, minor, found)
        if problem is None and ai in ("17", "15", "16", "12"):
            problem = _date_element(ai, es, t_ms, config, found, warnings)
        if problem:
            return _reject(text, sym, problem)
    if not found["gtin"]:
        return _reject(text, sym, Phrase("GS1 data without a GTIN (01)"))
    staff = ""
    if found["expired"] and (config is None or config.expired_policy == "block"):
        staff = Phrase(
            "expired on {date}: staff must approve the sale",
            date=dt.date.fromisoformat(found["expiry"]),
        )
    return Interpretation(
        text=text, symbology=sym, kind=kind, warnings=tuple(warnings), needs_staff=staff, **found
    )


def _distinct(elements) -> list | str:
    """The element strings with exact repeats dropped, or why they contradict each other.

    GenSpecs 4.14.3: an AI may repeat only with the same value (biip keeps both readings, and
    the last one would win)."""
    seen: dict[str, str] = {}
    out = []
    for es in elements:
        ai = es.ai.ai
        if ai in seen:
            if seen[ai] != es.value:
                return Phrase("({ai}) given twice with different values", ai=ai)
            continue
        seen[ai] = es.value
        out.append(es)
    return out


def _measure_family(ai: str) -> bool:
    """A trade measure a price can be the price of: (30) count, 31nn, 32nn, 35nn, 36nn."""
    return ai == "30" or (len(ai) == 4 and ai[:2] in ("31", "32", "35", "36"))


def _contradiction(elements) -> str:
    """Pairs GS1 forbids and associations it requires (GenSpecs 4.14.1 and 4.14.2, as listed
    with "ex=" and "req=" in the GS1 Barcode Syntax Dictionary), for the AIs a cart bills by:
    one product identity, one net weight, one price, and no price without its measure."""
    ais = [es.ai.ai for es in elements]
    if "01" in ais:
        other = next((a for a in ("02", "37", "255") if a in ais), None)
        if other:
            return Phrase("two product identities: (01) with ({other})", other=other)
    for family, what in (
        ("310", N_("two net weights: {ais} and {last}")),
        ("320", N_("two net weights: {ais} and {last}")),
        ("392", N_("two prices: {ais} and {last}")),
        ("393", N_("two prices: {ais} and {last}")),
    ):
        found = [f"({a})" for a in ais if a.startswith(family) and len(a) == 4]
        if len(found) > 1:
            return Phrase(what, ais=" and ".join(found[:-1]), last=found[-1])
    prices = [a for a in ais if a[:3] in ("392", "393", "395") and len(a) == 4]
    if any(a.startswith("392") for a in prices) and any(a.startswith("393") for a in prices):
        return Phrase("two prices: (392n) and (393n)")
    if prices and not any(_measure_family(a) for a in ais):
        return Phrase(
            "a price ({ai}) without the trade measure it prices: GS1 allows one only "
            "with (30), (31nn), (32nn), (35nn) or (36nn)",
            ai=prices[0],
        )
    return ""


def _measure_element(ai: str, es, minor: int, found: dict) -> str | None:
    """A net weight (310n) or price (392n, 393n) element into ``found``; the reason it is
    refused, or None."""
    if ai.startswith("310"):
        if es.decimal is None:
            return Phrase("invalid net weight ({ai}) {value}", ai=ai, value=es.value)
        grams = (es.decimal * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        found["weight_g"] = int(grams)
    elif ai.startswith("392"):
        if es.decimal is None:
            return Phrase("invalid price ({ai}) {value}", ai=ai, value=es.value)
        amount = es.decimal * (10**minor)
        if amount != amount.to_integral_value():
            return Phrase(
                "price ({ai}) {value} has more decimals than the currency",
                ai=ai,
                value=str(es.decimal),
            )
        found["price"] = int(amount)
    elif ai.startswith("393"):
        return Phrase("price with ISO currency ({ai}) is not accepted here", ai=ai)
    elif ai.startswith("395"):
        return Phrase("price per unit of measure ({ai}) is not accepted here", ai=ai)
    return None


def _date_element(ai: str, es, t_ms, config, found: dict, warnings: list[str]) -> str | None:
    """An expiry (17), best-before (15), sell-by (16) or due (12) date; the reason it is
    refused, or None. A past expiry date marks the code expired."""
    if es.date is None:
        return Phrase("invalid date ({ai}) {value}", ai=ai, value=es.value)
    if ai == "17":
        found["expiry"] = es.date.isoformat()
    if t_ms is not None and es.date < _local_date(t_ms, config):
        if ai == "17":
            found["expired"] = True
            warnings.append(Phrase("expired on {date}", date=es.date))
        elif ai in ("15", "16"):
            warnings.append(Phrase("past its best-before/sell-by date {date}", date=es.date))
    return None
