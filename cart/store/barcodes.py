"""What a scanned code means: GTINs, restricted-circulation price/weight codes, GS1 element
strings, GS1 Digital Link URIs and produce PLUs, parsed with biip.

:func:`interpret` turns any string into an :class:`Interpretation` and never raises: a code it
cannot accept comes back with ``ok == False`` and a ``reason``. A code with a wrong check digit is
always rejected and never matched to a product. :func:`lookup` then matches an interpretation to
the store's catalogue (products and coupons).

Pure: the only notion of "today" (for expiry dates) comes from the ``t_ms`` the caller passes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from cart.store.model import RcnLayout

if TYPE_CHECKING:
    from cart.store.model import CatalogProduct, Coupon, Store, StoreConfig

MAX_CODE_LEN = 512

# Restricted-circulation layouts by country (GS1 member organisation rules). A store picks one
# with ``[rcn] country = "se"`` or lists its own ``[[rcn.layout]]`` tables (docs/CATALOG.md).
# GS1 Sweden: 20-22 price (2/1/0 decimals), 23-25 weight in kg (3/2/1 decimals), no price
# check digit.
_SWEDEN = (
    RcnLayout("20", "price", "PPPPPPPPVVVV", 2),
    RcnLayout("21", "price", "PPPPPPPPVVVV", 1),
    RcnLayout("22", "price", "PPPPPPPPVVVV", 0),
    RcnLayout("23", "weight", "PPPPPPPPVVVV", 3),
    RcnLayout("24", "weight", "PPPPPPPPVVVV", 2),
    RcnLayout("25", "weight", "PPPPPPPPVVVV", 1),
)
BUILTIN_RCN_LAYOUTS: dict[str, tuple[RcnLayout, ...]] = {
    "se": _SWEDEN,
    "no": _SWEDEN,  # Norway follows the Swedish layout.
    # GS1 UK: prefix 20, 5-digit item, price check digit, 4-digit price in pence.
    "gb": (RcnLayout("20", "price", "PPPPPPPCVVVV", 2),),
    # GS1 Germany: price 22-23, count 25-26, weight 28-29, each with a price check digit.
    "de": (
        RcnLayout("22", "price", "PPPPPPCVVVVV", 2),
        RcnLayout("23", "price", "PPPPPPCVVVVV", 2),
        RcnLayout("25", "count", "PPPPPPCVVVVV", 0),
        RcnLayout("26", "count", "PPPPPPCVVVVV", 0),
        RcnLayout("28", "weight", "PPPPPPCVVVVV", 3),
        RcnLayout("29", "weight", "PPPPPPCVVVVV", 3),
    ),
    # US/Canada: UPC-A number system 2 (GTIN-13 "02..."): 2 IIIII C PPPP K, price in cents.
    "us": (RcnLayout("02", "price", "PPPPPPPCVVVV", 2),),
}


@dataclass(frozen=True, slots=True)
class Interpretation:
    """What a code means, before it is matched to the catalogue. JSON-able via ``to_dict``."""

    text: str  # the code as interpreted (AIM identifier removed, surrounding blanks stripped)
    symbology: str = ""  # AIM symbology identifier ("]E0"), "" if none
    kind: str = "rejected"  # gtin | rcn | plu | gs1 | digital_link | rejected
    reason: str = ""  # why it was rejected; "" when accepted
    gtin: str = ""  # GTIN-14 look-up key (for an RCN: with the embedded measure zeroed)
    alt_gtins: tuple[str, ...] = ()  # other readings (an 8-digit code: EAN-8 or UPC-E)
    plu: str = ""
    organic: bool = False
    price: int | None = None  # embedded price, minor units
    weight_g: int | None = None  # embedded net weight, grams
    count: int | None = None  # embedded count
    expiry: str = ""  # ISO date from AI (17)
    expired: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reason

    def to_dict(self) -> dict:
        d = asdict(self)
        d["alt_gtins"] = list(self.alt_gtins)
        d["warnings"] = list(self.warnings)
        d["ok"] = self.ok
        return d


@dataclass(frozen=True, slots=True)
class ScanMatch:
    """An interpretation matched to the catalogue: a product, a coupon, or a reason why not."""

    interpretation: Interpretation
    product: CatalogProduct | None = None
    coupon: Coupon | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason and (self.product is not None or self.coupon is not None)

    @property
    def needs_weighing(self) -> bool:
        """A product sold by weight whose code carries neither weight nor price (a PLU or a
        plain GTIN): it must be weighed (``WeighProduce``) before it can go on the bill."""
        p, it = self.product, self.interpretation
        return (p is not None and p.by_weight and it.weight_g is None and it.price is None)



def printable(text: str, limit: int = 80) -> str:
    """``text`` safe to print or show: control and escape characters as ``\\xNN``, cut at limit."""
    out = []
    for ch in text[:limit]:
        o = ord(ch)
        if o < 32 or o == 127 or 0x80 <= o < 0xA0:
            out.append(f"\\x{o:02x}" if o < 256 else f"\\u{o:04x}")
        else:
            out.append(ch)
    return "".join(out) + ("…" if len(text) > limit else "")


# ---------------------------------------------------------------------------------------------


def interpret(
    code: str,
    symbology: str = "",
    *,
    config: StoreConfig | None = None,
    t_ms: int | None = None,
) -> Interpretation:
    """Interpret a scanned code. Never raises; a rejection carries the reason.

    ``symbology`` is the AIM identifier if the driver removed it from ``code`` (``]E0``); a
    code may also still carry it at its start. ``config`` supplies the restricted-circulation
    layouts, the currency's minor units and the time zone; ``t_ms`` is "now" for expiry checks.
    """
    try:
        return _interpret(code, symbology, config, t_ms)
    except Exception as exc:  # noqa: BLE001 - a scanner must never crash the cart
        text = code if isinstance(code, str) else repr(code)
        return Interpretation(text=text[:MAX_CODE_LEN], symbology="",
                              reason=f"cannot interpret: {type(exc).__name__}: {exc}")


def _reject(text: str, sym: str, reason: str) -> Interpretation:
    return Interpretation(text=text, symbology=sym, kind="rejected", reason=reason)


def _interpret(code, symbology, config, t_ms) -> Interpretation:
    from biip import ParseError
    from biip.symbology import GS1Symbology, SymbologyIdentifier

    if not isinstance(code, str):
        return _reject(repr(code)[:MAX_CODE_LEN], "", f"not text: {type(code).__name__}")
    if not isinstance(symbology, str):
        symbology = ""
    if len(code) > MAX_CODE_LEN:
        return _reject(code[:MAX_CODE_LEN], "", f"too long ({len(code)} characters)")
    text = code.strip(" \t\r\n")
    sym_id = None
    source = symbology.strip() if symbology.strip() else (text if text.startswith("]") else "")
    if source:
        try:
            if not source.startswith("]") or len(source) < 3:
                raise ValueError
            sym_id = SymbologyIdentifier.extract(source)
        except (ParseError, IndexError, ValueError):
            return _reject(text, "", "malformed AIM symbology identifier "
                                     f"{printable(source[:4])!r}")
        if source is text:
            text = text[len(sym_id.value):]
    sym = sym_id.value if sym_id else ""
    if not text:
        return _reject(text, sym, "empty code")
    bad = next((c for c in text if (ord(c) < 32 and c != "\x1d") or ord(c) == 127
                or 0x80 <= ord(c) < 0xA0), None)
    if bad is not None:
        return _reject(text, sym, f"contains control character {printable(bad)!r}")

    addon_note = ""
    if sym == "]E3" and text.isascii() and text.isdigit():
        # EAN/UPC with a 2- or 5-digit add-on (periodicals, books): price the main code.
        main = {15: 13, 18: 13, 10: 8, 13: 8}.get(len(text))
        if main is None:
            return _reject(text, sym, f"EAN with add-on: unexpected length {len(text)}")
        text, addon_note = text[:main], f"add-on {text[main:]} ignored"
        sym_id = None
    elif sym in ("]E1", "]E2"):
        return _reject(text, sym, "an EAN add-on alone is not a product code")

    gs1 = sym_id.gs1_symbology if sym_id else None
    if gs1 is not None:
        if gs1 in GS1Symbology.with_gtin() and gs1 not in GS1Symbology.with_gs1_messages():
            return _from_digits(text, sym, config, gtin_only=True)
        if gs1 in GS1Symbology.with_gs1_digital_link_uri() and text.lower().startswith("http"):
            return _from_digital_link(text, sym, config, t_ms)
        if gs1 in GS1Symbology.with_gs1_messages():
            return _from_gs1_message(text, sym, config, t_ms)
    low = text[:8].lower()
    if low.startswith(("http://", "https://")):
        return _from_digital_link(text, sym, config, t_ms)
    if text.startswith("("):
        return _from_gs1_message(text, sym, config, t_ms, hri=True)
    if addon_note:
        it = _from_digits(text, sym, config, gtin_only=True)
        return replace(it, warnings=(*it.warnings, addon_note)) if it.ok else it
    if text.isascii() and text.isdigit():
        if len(text) in (4, 5):
            return _from_plu(text, sym)
        if len(text) in (8, 12, 13, 14):
            return _from_digits(text, sym, config, gtin_only=False)
        if len(text) >= 16 and text.startswith("01"):
            return _from_gs1_message(text, sym, config, t_ms)
        return _reject(text, sym, f"not a product code ({len(text)} digits)")
    if "\x1d" in text and text[:2].isdigit():
        return _from_gs1_message(text, sym, config, t_ms)
    return _reject(text, sym, "not a product code")


def _from_plu(text: str, sym: str) -> Interpretation:
    if len(text) == 5:
        if text[0] != "9":
            return _reject(text, sym, f"5-digit PLU {text} must start with 9 (organic)")
        base = text[1:]
    else:
        base = text
    if not ("3000" <= base <= "4999"):
        return _reject(text, sym, f"PLU {text} is outside the IFPS produce range 3000-4999")
    return Interpretation(text=text, symbology=sym, kind="plu", plu=text, organic=len(text) == 5)


def _from_digits(text: str, sym: str, config, *, gtin_only: bool) -> Interpretation:
    from biip import ParseError
    from biip.gtin import Gtin
    from biip.upc import Upc

    if not (text.isascii() and text.isdigit()) or len(text) not in (8, 12, 13, 14):
        return _reject(text, sym, f"not a GTIN: expected 8, 12, 13 or 14 digits, got {text!r}"
                       if len(text) < 20 else "not a GTIN")
    if len(text) == 8:
        readings: list[str] = []
        errors: list[str] = []
        if sym != "]E0":  # ]E0 with 8 digits is UPC-E; EAN-8 is ]E4
            try:
                readings.append(Gtin.parse(text).as_gtin_14())
            except ParseError as exc:
                errors.append(f"as EAN-8: {exc}")
        if sym != "]E4" and text[0] in "01":
            try:
                readings.append(Gtin.parse(Upc.parse(text).as_upc_a()).as_gtin_14())
            except ParseError as exc:
                errors.append(f"as UPC-E: {exc}")
        if not readings:
            return _reject(text, sym, "; ".join(errors) or "invalid 8-digit code")
        return Interpretation(text=text, symbology=sym, kind="gtin", gtin=readings[0],
                              alt_gtins=tuple(readings[1:]))
    try:
        gtin = Gtin.parse(text)
    except ParseError as exc:
        return _reject(text, sym, str(exc))
    g14 = gtin.as_gtin_14()
    if g14[0] == "0" and config is not None and config.rcn_layouts:
        g13 = g14[1:]
        for layout in config.rcn_layouts:
            if g13.startswith(layout.prefix):
                return _from_rcn(text, sym, g13, layout, config)
    return Interpretation(text=text, symbology=sym, kind="gtin", gtin=g14)


def _slice(pattern: str, ch: str) -> slice | None:
    if ch not in pattern:
        return None
    return slice(pattern.index(ch), pattern.rindex(ch) + 1)


def _from_rcn(text, sym, g13: str, layout: RcnLayout, config) -> Interpretation:
    from biip.checksums import gs1_price_weight_check_digit, gs1_standard_check_digit

    vs, cs = _slice(layout.pattern, "V"), _slice(layout.pattern, "C")
    value = g13[vs]
    if cs is not None:
        want = gs1_price_weight_check_digit(value)
        got = int(g13[cs])
        if want != got:
            return _reject(text, sym, f"invalid {layout.measure} check digit in {text}: "
                                      f"expected {want}, got {got}")
    digits = list(g13[:12])
    digits[vs] = "0" * len(value)
    if cs is not None:
        digits[cs] = str(gs1_price_weight_check_digit("0" * len(value)))
    payload = "".join(digits)
    key = "0" + payload + str(gs1_standard_check_digit(payload))
    n = int(value)
    price = weight = count = None
    if layout.measure == "price":
        shift = config.minor_digits - layout.decimals
        if shift >= 0:
            price = n * 10**shift
        elif n % 10 ** (-shift):
            return _reject(text, sym, f"embedded price {value} has more decimals than "
                                      f"{config.currency}")
        else:
            price = n // 10 ** (-shift)
    elif layout.measure == "weight":
        weight = n * 10 ** (3 - layout.decimals)
    else:
        count = n
    return Interpretation(text=text, symbology=sym, kind="rcn", gtin=key, price=price,
                          weight_g=weight, count=count)


def _from_digital_link(text, sym, config, t_ms) -> Interpretation:
    from biip import ParseError
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI

    try:
        dl = GS1DigitalLinkURI.parse(text)
    except (ParseError, ValueError) as exc:
        return _reject(text, sym, f"not a GS1 Digital Link: {exc}")
    return _from_elements(text, sym, dl.element_strings, config, t_ms, "digital_link")


def _from_gs1_message(text, sym, config, t_ms, *, hri: bool = False) -> Interpretation:
    from biip import ParseError
    from biip.gs1_messages import GS1Message

    try:
        msg = GS1Message.parse_hri(text) if hri else GS1Message.parse(text)
    except (ParseError, ValueError) as exc:
        return _reject(text, sym, f"not a GS1 element string: {exc}")
    return _from_elements(text, sym, msg.element_strings, config, t_ms, "gs1")


def _local_date(t_ms: int, config) -> dt.date:
    tz: dt.tzinfo = dt.UTC
    if config is not None:
        import zoneinfo

        tz = zoneinfo.ZoneInfo(config.timezone)
    return dt.datetime.fromtimestamp(t_ms / 1000, tz).date()


def _from_elements(text, sym, elements, config, t_ms, kind) -> Interpretation:
    gtin = ""
    price = weight = None
    expiry = ""
    expired = False
    warnings: list[str] = []
    minor = config.minor_digits if config is not None else 2
    for es in elements:
        ai = es.ai.ai
        if ai == "01":
            if es.gtin is None:
                return _reject(text, sym, es.gtin_error or f"invalid GTIN in (01): {es.value}")
            gtin = es.gtin.as_gtin_14()
        elif ai.startswith("310"):
            if es.decimal is None:
                return _reject(text, sym, f"invalid net weight ({ai}) {es.value}")
            grams = (es.decimal * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
            weight = int(grams)
        elif ai.startswith("392"):
            if es.decimal is None:
                return _reject(text, sym, f"invalid price ({ai}) {es.value}")
            amount = es.decimal * (10**minor)
            if amount != amount.to_integral_value():
                return _reject(text, sym, f"price ({ai}) {es.decimal} has more decimals than "
                                          f"the currency")
            price = int(amount)
        elif ai.startswith("393"):
            return _reject(text, sym, f"price with ISO currency ({ai}) is not accepted here")
        elif ai in ("17", "15", "16", "12"):
            if es.date is None:
                return _reject(text, sym, f"invalid date ({ai}) {es.value}")
            if ai == "17":
                expiry = es.date.isoformat()
            if t_ms is not None and es.date < _local_date(t_ms, config):
                if ai == "17":
                    expired = True
                    warnings.append(f"expired on {es.date.isoformat()}")
                elif ai in ("15", "16"):
                    warnings.append(f"past its best-before/sell-by date {es.date.isoformat()}")
    if not gtin:
        return _reject(text, sym, "GS1 data without a GTIN (01)")
    return Interpretation(text=text, symbology=sym, kind=kind, gtin=gtin, price=price,
                          weight_g=weight, expiry=expiry, expired=expired,
                          warnings=tuple(warnings))


# ---------------------------------------------------------------------------------------------


def lookup(store: Store, code: str, symbology: str = "", t_ms: int | None = None) -> ScanMatch:
    """Interpret ``code`` with the store's rules and match it to a product or coupon."""
    it = interpret(code, symbology, config=store.config, t_ms=t_ms)
    return match(store, it)


def match(store: Store, it: Interpretation) -> ScanMatch:
    """Match an accepted interpretation to the catalogue. Never raises."""
    if not it.ok:
        return ScanMatch(it, reason=it.reason)
    cat = store.catalog
    if it.kind == "plu":
        p = cat.by_plu(it.plu)
        if p is None:
            what = "organic PLU" if it.organic else "PLU"
            return ScanMatch(it, reason=f"{what} {it.plu} is not sold in this store")
        return ScanMatch(it, product=p)
    for g in (it.gtin, *it.alt_gtins):
        c = cat.coupon(g)
        if c is not None:
            return ScanMatch(it, coupon=c)
        p = cat.by_gtin(g)
        if p is None:
            continue
        if it.weight_g is not None and not p.by_weight:
            return ScanMatch(it, product=p, reason=f"a weight label on {p.name}, "
                                                   "which is sold each")
        return ScanMatch(it, product=p)
    return ScanMatch(it, reason=f"unknown product {it.gtin.lstrip('0') or it.gtin}")
