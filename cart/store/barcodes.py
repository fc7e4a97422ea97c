"""What a scanned code means: GTINs, restricted-circulation price/weight codes, GS1 element
strings, GS1 Digital Link URIs and produce PLUs, parsed with biip.

:func:`interpret` turns any string into an :class:`Interpretation` and never raises: a code it
cannot accept comes back with ``ok == False`` and a ``reason``. A code with a wrong check digit is
always rejected and never matched to a product. :func:`lookup` then matches an interpretation to
the store's catalogue (products and coupons).

A code means only what GS1 and the store say it means. biip parses; where biip is lenient (it
reads what it can and drops or pads the rest) the checks here refuse, each with the GS1 rule it
stands on (GS1 General Specifications, "GenSpecs", release 24; GS1 Digital Link URI Syntax
1.x, "DL"):

- a price (392n) without the trade measure it prices (GenSpecs 4.14.2, mandatory association),
  and a weight or price in the code of a product the catalogue does not sell by measure
  (:func:`match`; GenSpecs 2.1.11.2, variable measure trade items);
- contradictions: one AI twice with different values, two GTINs ((01) with (02), (37) or (255)),
  two net weights, two prices (GenSpecs 4.14.1, invalid pairs; 4.14.3, repeated AIs); in a
  Digital Link any key given twice (DL 1.2, section 4);
- unknown AIs and empty values, in element strings and in Digital Link query parameters;
- a Digital Link whose (01) is not 14 digits, whose scheme is not ``http``/``https`` in one
  case, or that carries a key qualifier of its primary key as a query parameter (DL 1.2);
- a GTIN read from a symbology that does not carry GTINs: a plain QR, Code 128 or Code 39 with
  13 digits is just 13 digits (GenSpecs 2.1.2: GTINs are carried by EAN/UPC, ITF-14, GS1 DataBar,
  GS1-128 and the GS1 modes of QR Code and Data Matrix).

Pure: the only notion of "today" (for expiry dates) comes from the ``t_ms`` the caller passes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from cart.common.text import has_invisible, printable
from cart.store.model import RcnLayout

__all__ = ["Interpretation", "ScanMatch", "interpret", "lookup", "match", "printable"]

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
    # GS1 UK variable measure numbers: prefix 20 or 28, the rest of a 5-digit VM prefix, a
    # 2-digit item reference, the price verifier digit, the price in pence (docs/BARCODE.md).
    "gb": (
        RcnLayout("20", "price", "PPPPPPPCVVVV", 2),
        RcnLayout("28", "price", "PPPPPPPCVVVV", 2),
    ),
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
    # Why the item may be sold only after staff approve it ("" when not): an expiry date (17)
    # in the past under the store's ``expired = "block"`` policy. The code is still accepted
    # (``ok``), so the layers above can raise a staff question instead of refusing it.
    needs_staff: str = ""

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
    def needs_staff(self) -> str:
        """Why staff must approve before this item is sold ("" when not needed); see
        :attr:`Interpretation.needs_staff`."""
        return self.interpretation.needs_staff if self.ok else ""

    @property
    def needs_weighing(self) -> bool:
        """A product sold by weight whose code carries neither weight nor price (a PLU or a
        plain GTIN): it must be weighed (``WeighProduce``) before it can go on the bill."""
        p, it = self.product, self.interpretation
        return p is not None and p.by_weight and it.weight_g is None and it.price is None


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
        return Interpretation(
            text=text[:MAX_CODE_LEN],
            symbology="",
            reason=f"cannot interpret: {type(exc).__name__}: {exc}",
        )


def _reject(text: str, sym: str, reason: str) -> Interpretation:
    return Interpretation(text=text, symbology=sym, kind="rejected", reason=reason)


def _interpret(code, symbology, config, t_ms) -> Interpretation:
    if not isinstance(code, str):
        return _reject(repr(code)[:MAX_CODE_LEN], "", f"not text: {type(code).__name__}")
    if not isinstance(symbology, str):
        symbology = ""
    if len(code) > MAX_CODE_LEN:
        return _reject(code[:MAX_CODE_LEN], "", f"too long ({len(code)} characters)")
    text = code.strip(" \t\r\n")
    split = _split_symbology(text, symbology)
    if isinstance(split, Interpretation):
        return split
    text, sym_id = split
    sym = sym_id.value if sym_id else ""
    if not text:
        return _reject(text, sym, "empty code")
    # Nothing invisible belongs in a product code; GS (FNC1 as a separator) is GS1's own.
    bad = next((c for c in text if c != "\x1d" and has_invisible(c)), None)
    if bad is not None:
        what = "control" if ord(bad) < 0xA0 else "invisible"
        return _reject(text, sym, f"contains {what} character {printable(bad)!r}")

    if sym == "]E3" and text.isascii() and text.isdigit():
        # EAN/UPC with a 2- or 5-digit add-on (periodicals, books): price the main code.
        main = {15: 13, 18: 13, 10: 8, 13: 8}.get(len(text))
        if main is None:
            return _reject(text, sym, f"EAN with add-on: unexpected length {len(text)}")
        it = _by_content(text[:main], sym, config, t_ms, addon=True)
        note = f"add-on {text[main:]} ignored"
        return replace(it, warnings=(*it.warnings, note)) if it.ok else it
    if sym in ("]E1", "]E2"):
        return _reject(text, sym, "an EAN add-on alone is not a product code")
    gs1 = _by_gs1_symbology(text, sym, sym_id, config, t_ms)
    return gs1 if gs1 is not None else _by_content(text, sym, config, t_ms)


def _split_symbology(text: str, symbology: str):
    """``(text without its AIM prefix, SymbologyIdentifier or None)``, from the separate
    ``symbology`` or a ``]Xn`` prefix of the text; a rejection when the identifier is malformed."""
    from biip import ParseError
    from biip.symbology import SymbologyIdentifier

    source = symbology.strip() if symbology.strip() else (text if text.startswith("]") else "")
    if not source:
        return text, None
    try:
        if not source.startswith("]") or len(source) < 3:
            raise ValueError
        sym_id = SymbologyIdentifier.extract(source)
    except (ParseError, IndexError, ValueError):
        return _reject(text, "", f"malformed AIM symbology identifier {printable(source[:4])!r}")
    if source is text:
        text = text[len(sym_id.value) :]
    return text, sym_id


def _by_gs1_symbology(text, sym, sym_id, config, t_ms) -> Interpretation | None:
    """What a GS1 symbology's identifier says the data is (None: decide by the content)."""
    from biip.symbology import GS1Symbology

    gs1 = sym_id.gs1_symbology if sym_id else None
    if sym_id is not None and gs1 is None:
        return _from_plain_symbology(text, sym, sym_id, config, t_ms)
    if gs1 is None:
        return None
    if gs1 in GS1Symbology.with_gtin() and gs1 not in GS1Symbology.with_gs1_messages():
        return _from_digits(text, sym, config, gtin_only=True)
    if gs1 in GS1Symbology.with_gs1_digital_link_uri() and text.lower().startswith("http"):
        return _from_digital_link(text, sym, config, t_ms)
    if gs1 in GS1Symbology.with_gs1_messages():
        return _from_gs1_message(text, sym, config, t_ms)
    return None


def _from_plain_symbology(text, sym, sym_id, config, t_ms) -> Interpretation:
    """A symbology that is not a GS1 one (plain QR ``]Q1``, Code 128 ``]C0``, Code 39 ``]A0``,
    Data Matrix ``]d1`` ...). It carries no GTIN and no GS1 element string (a 4- or 5-digit
    PLU is read as a PLU): GenSpecs 2.1.2 and
    5.1 name the carriers of GTINs, and 13 digits in a Code 128 are just 13 digits that anyone
    can print. A plain QR Code or Data Matrix may carry a GS1 Digital Link URI (DL 1.2, 7)."""
    from biip.symbology import ISOSymbology

    iso = sym_id.iso_symbology
    if text[:8].lower().startswith(("http://", "https://")) and iso in (
        ISOSymbology.QR_CODE,
        ISOSymbology.DATA_MATRIX,
    ):
        return _from_digital_link(text, sym, config, t_ms)
    if text.isascii() and text.isdigit() and len(text) in (4, 5):
        # A PLU is a store convention, not a GTIN: stores print shelf and bag labels with the
        # 4- or 5-digit IFPS number in whatever symbology their printer makes. It names the
        # produce only; the price comes from the catalogue and the weight from the scale.
        return _from_plu(text, sym)
    names = {
        ISOSymbology.QR_CODE: "QR Code",
        ISOSymbology.CODE_128: "Code 128",
        ISOSymbology.CODE_39: "Code 39",
        ISOSymbology.DATA_MATRIX: "Data Matrix",
    }
    name = names.get(iso, str(getattr(iso, "name", iso)).replace("_", " ").title())
    return _reject(
        text,
        sym,
        f"a {name} code ({sym}) is not a product code: only EAN/UPC, "
        "ITF-14, GS1 DataBar, GS1-128 and GS1 QR/Data Matrix carry GTINs",
    )


def _by_content(text, sym, config, t_ms, *, addon: bool = False) -> Interpretation:
    """What the characters themselves say the code is (a URI, GS1 data, a GTIN or a PLU)."""
    low = text[:8].lower()
    if low.startswith(("http://", "https://")):
        return _from_digital_link(text, sym, config, t_ms)
    if text.startswith("("):
        return _from_gs1_message(text, sym, config, t_ms, hri=True)
    if addon:
        return _from_digits(text, sym, config, gtin_only=True)
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
    if not sym and len(text) >= 16 and text.startswith("01") and text[2:16].isdigit():
        # An element string from a scanner set up without AIM identifiers (GS1-128, DataBar):
        # (01) has a fixed length, so what follows it is read unambiguously as more AIs.
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
        return _reject(
            text,
            sym,
            f"not a GTIN: expected 8, 12, 13 or 14 digits, got {text!r}"
            if len(text) < 20
            else "not a GTIN",
        )
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
        return Interpretation(
            text=text, symbology=sym, kind="gtin", gtin=readings[0], alt_gtins=tuple(readings[1:])
        )
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
    # Every layout has value digits: loaded patterns match P{2,}C?V{3,6}, and so do the built-in
    # layouts.
    assert vs is not None, f"RCN layout pattern {layout.pattern!r} has no V"
    value = g13[vs]
    if cs is not None:
        want = gs1_price_weight_check_digit(value)
        got = int(g13[cs])
        if want != got:
            return _reject(
                text,
                sym,
                f"invalid {layout.measure} check digit in {text}: expected {want}, got {got}",
            )
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
            return _reject(
                text, sym, f"embedded price {value} has more decimals than {config.currency}"
            )
        else:
            price = n // 10 ** (-shift)
    elif layout.measure == "weight":
        weight = n * 10 ** (3 - layout.decimals)
    else:
        count = n
    return Interpretation(
        text=text, symbology=sym, kind="rcn", gtin=key, price=price, weight_g=weight, count=count
    )


def _from_digital_link(text, sym, config, t_ms) -> Interpretation:
    from biip import ParseError
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI

    problem = _digital_link_problem(text)
    if problem:
        return _reject(text, sym, f"not a GS1 Digital Link: {problem}")
    try:
        dl = GS1DigitalLinkURI.parse(text)
    except (ParseError, ValueError) as exc:
        return _reject(text, sym, f"not a GS1 Digital Link: {printable(str(exc), 200)}")
    counts: dict[str, int] = {}
    for es in dl.element_strings:
        counts[es.ai.ai] = counts.get(es.ai.ai, 0) + 1
    twice = sorted(ai for ai, n in counts.items() if n > 1)
    if twice:  # biip keeps a path key that the query repeats; DL 1.2 section 4 forbids it
        return _reject(text, sym, f"not a GS1 Digital Link: ({twice[0]}) given twice")
    return _from_elements(text, sym, dl.element_strings, config, t_ms, "digital_link")


# The key qualifiers of a GTIN in a Digital Link path, in the two orders DL 1.2 allows them
# (GS1 Barcode Syntax Dictionary, "dlpkey" of AI 01).
_GTIN_QUALIFIERS = (("22", "10", "21"), ("235",))


def _known_ai(key: str) -> bool:
    from biip import ParseError
    from biip.gs1_application_identifiers import GS1ApplicationIdentifier

    try:
        return GS1ApplicationIdentifier.extract(key).ai == key
    except ParseError:
        return False


def _digital_link_problem(text: str) -> str:
    """What DL 1.x forbids and biip lets through ("" when nothing): biip reads the scheme in
    any case, pads a short GTIN, and drops empty, unknown and repeated query parameters, each
    of which makes the same URI mean something other than what it says."""
    from urllib.parse import unquote, unquote_plus, urlsplit

    scheme = text.split(":", 1)[0]
    if scheme not in ("http", "https", "HTTP", "HTTPS"):  # DL 1.2, 6.1: mixed case is not one
        return f"scheme {printable(scheme, 8)!r} must be http or https"
    parts = urlsplit(text)
    segments = [unquote(seg) for seg in parts.path.split("/")[1:]]
    path_ais: dict[str, str] = {}
    # The primary key is the rightmost AI that starts a key/value run to the end (DL 1.2, 4.4).
    for i in range(len(segments) - 2, -1, -2):
        if not (segments[i].isdigit() and _known_ai(segments[i])):
            break
        path_ais[segments[i]] = segments[i + 1]
    gtin = path_ais.get("01")
    query: dict[str, str] = {}
    for item in parts.query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        key = unquote_plus(key)
        if not key.isdigit():
            continue  # non-AI attributes are ignored (DL 1.2, 4.8)
        if not _known_ai(key):
            return f"unknown AI ({printable(key, 8)}) in the query"
        value = unquote_plus(value)
        if not value:
            return f"empty value for AI ({key})"
        if key in query or key in path_ais:
            return f"({key}) given twice"
        query[key] = value
    if gtin is None:
        gtin = query.get("01")
    if gtin is not None and not (len(gtin) == 14 and gtin.isdigit()):
        return f"a GTIN in a Digital Link has 14 digits, got {printable(gtin, 20)!r}"
    if "01" in path_ais:
        chosen = next(
            (q for q in _GTIN_QUALIFIERS if any(k in path_ais for k in q)), _GTIN_QUALIFIERS[0]
        )
        misplaced = next((k for k in chosen if k in query), None)
        if misplaced:
            return f"key qualifier ({misplaced}) belongs in the path, not the query"
    return ""


def _from_gs1_message(text, sym, config, t_ms, *, hri: bool = False) -> Interpretation:
    import re

    from biip import ParseError
    from biip.gs1_messages import GS1Message

    if hri:  # biip drops "(10)" with nothing after it; an empty value is not a value
        empty = re.search(r"\((\d{2,4})\)(?=\(|$)", text)
        if empty:
            return _reject(text, sym, f"empty value for AI ({empty[1]})")
    try:
        msg = GS1Message.parse_hri(text) if hri else GS1Message.parse(text)
    except (ParseError, ValueError) as exc:
        return _reject(text, sym, f"not a GS1 element string: {printable(str(exc), 200)}")
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
                return _reject(text, sym, es.gtin_error or f"invalid GTIN in (01): {es.value}")
            found["gtin"] = es.gtin.as_gtin_14()
            continue
        problem = _measure_element(ai, es, minor, found)
        if problem is None and ai in ("17", "15", "16", "12"):
            problem = _date_element(ai, es, t_ms, config, found, warnings)
        if problem:
            return _reject(text, sym, problem)
    if not found["gtin"]:
        return _reject(text, sym, "GS1 data without a GTIN (01)")
    staff = ""
    if found["expired"] and (config is None or config.expired_policy == "block"):
        staff = f"expired on {found['expiry']}: staff must approve the sale"
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
                return f"({ai}) given twice with different values"
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
            return f"two product identities: (01) with ({other})"
    for family, what in (
        ("310", "net weights"),
        ("320", "net weights"),
        ("392", "prices"),
        ("393", "prices"),
    ):
        found = [a for a in ais if a.startswith(family) and len(a) == 4]
        if len(found) > 1:
            return f"two {what}: " + " and ".join(f"({a})" for a in found)
    prices = [a for a in ais if a[:3] in ("392", "393", "395") and len(a) == 4]
    if any(a.startswith("392") for a in prices) and any(a.startswith("393") for a in prices):
        return "two prices: (392n) and (393n)"
    if prices and not any(_measure_family(a) for a in ais):
        return (
            f"a price ({prices[0]}) without the trade measure it prices: GS1 allows one only "
            "with (30), (31nn), (32nn), (35nn) or (36nn)"
        )
    return ""


def _measure_element(ai: str, es, minor: int, found: dict) -> str | None:
    """A net weight (310n) or price (392n, 393n) element into ``found``; the reason it is
    refused, or None."""
    if ai.startswith("310"):
        if es.decimal is None:
            return f"invalid net weight ({ai}) {es.value}"
        grams = (es.decimal * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        found["weight_g"] = int(grams)
    elif ai.startswith("392"):
        if es.decimal is None:
            return f"invalid price ({ai}) {es.value}"
        amount = es.decimal * (10**minor)
        if amount != amount.to_integral_value():
            return f"price ({ai}) {es.decimal} has more decimals than the currency"
        found["price"] = int(amount)
    elif ai.startswith("393"):
        return f"price with ISO currency ({ai}) is not accepted here"
    elif ai.startswith("395"):
        return f"price per unit of measure ({ai}) is not accepted here"
    return None


def _date_element(ai: str, es, t_ms, config, found: dict, warnings: list[str]) -> str | None:
    """An expiry (17), best-before (15), sell-by (16) or due (12) date; the reason it is
    refused, or None. A past expiry date marks the code expired."""
    if es.date is None:
        return f"invalid date ({ai}) {es.value}"
    if ai == "17":
        found["expiry"] = es.date.isoformat()
    if t_ms is not None and es.date < _local_date(t_ms, config):
        if ai == "17":
            found["expired"] = True
            warnings.append(f"expired on {es.date.isoformat()}")
        elif ai in ("15", "16"):
            warnings.append(f"past its best-before/sell-by date {es.date.isoformat()}")
    return None


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
            if it.price is not None or it.weight_g is not None:
                return ScanMatch(it, reason="a coupon code carries no price or weight")
            return ScanMatch(it, coupon=c)
        p = cat.by_gtin(g)
        if p is None:
            continue
        problem = _measure_problem(it, p, g)
        if problem:
            return ScanMatch(it, product=p, reason=problem)
        return ScanMatch(it, product=p)
    return ScanMatch(it, reason=f"unknown product {it.gtin.lstrip('0') or it.gtin}")


def in_store_number(gtin14: str) -> bool:
    """A restricted circulation number (GenSpecs 2.1.11.1, Figure 1.4.3-1): a GTIN-13 with
    GS1 prefix 20-29 (GTIN-14 ``02...``) or a UPC-A with number system 2 (``002...``)."""
    return len(gtin14) == 14 and (gtin14[:2] == "02" or gtin14[:3] == "002")


def _measure_problem(it: Interpretation, p: CatalogProduct, gtin14: str) -> str:
    """Why a weight or price inside the code cannot be billed for ``p`` ("" when it can).

    A price or weight in a code is the item's only where the item is a variable measure trade
    item (GenSpecs 2.1.11.2): the catalogue says so (``variable_measure``, always for products
    sold by weight), or it is the store's own in-store number. Otherwise anyone could print the
    carton's GTIN with (3922) 0.01 next to it."""
    if it.price is None and it.weight_g is None:
        return ""
    if not (p.variable_measure or p.by_weight or it.kind == "rcn" or in_store_number(gtin14)):
        what = "price" if it.price is not None else "weight"
        return (
            f"a {what} in the code of {p.name}, which has a fixed price "
            "(not variable measure in the catalogue)"
        )
    if it.weight_g is not None and it.price is None and not p.by_weight:
        return f"a weight label on {p.name}, which is sold each"
    return ""
