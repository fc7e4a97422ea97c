"""``interpret``: the AIM symbology identifier, what a symbology says the data is, and the
plain codes (GTINs, restricted-circulation price/weight codes, produce PLUs). GS1 element
strings and Digital Link URIs are read by ``gs1_elements`` and ``digital_link``."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from cart.common.i18n import N_, Joined, Phrase
from cart.common.text import has_invisible, printable
from cart.store.barcodes.digital_link import _from_digital_link
from cart.store.barcodes.gs1_elements import _from_gs1_message
from cart.store.barcodes.results import Interpretation, _reject
from cart.store.model import RcnLayout

if TYPE_CHECKING:
    from cart.store.model import StoreConfig

MAX_CODE_LEN = 512


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
        error = type(exc).__name__ + ": " + str(exc)
        return Interpretation(
            text=text[:MAX_CODE_LEN],
            symbology="",
            reason=Phrase("cannot interpret: {error}", error=error),
        )


def _interpret(code, symbology, config, t_ms) -> Interpretation:
    if not isinstance(code, str):
        return _reject(
            repr(code)[:MAX_CODE_LEN], "", Phrase("not text: {type}", type=type(code).__name__)
        )
    if not isinstance(symbology, str):
        symbology = ""
    if len(code) > MAX_CODE_LEN:
        return _reject(code[:MAX_CODE_LEN], "", Phrase("too long ({n} characters)", n=len(code)))
    text = code.strip(" \t\r\n")
    split = _split_symbology(text, symbology)
    if isinstance(split, Interpretation):
        return split
    text, sym_id = split
    sym = sym_id.value if sym_id else ""
    if not text:
        return _reject(text, sym, Phrase("empty code"))
    # Nothing invisible belongs in a product code; GS (FNC1 as a separator) is GS1's own.
    bad = next((c for c in text if c != "\x1d" and has_invisible(c)), None)
    if bad is not None:
        char = repr(printable(bad))
        if ord(bad) < 0xA0:
            return _reject(text, sym, Phrase("contains control character {char}", char=char))
        return _reject(text, sym, Phrase("contains invisible character {char}", char=char))

    if sym == "]E3" and text.isascii() and text.isdigit():
        # EAN/UPC with a 2- or 5-digit add-on (periodicals, books): price the main code.
        main = {15: 13, 18: 13, 10: 8, 13: 8}.get(len(text))
        if main is None:
            return _reject(text, sym, Phrase("EAN with add-on: unexpected length {n}", n=len(text)))
        it = _by_content(text[:main], sym, config, t_ms, addon=True)
        note = Phrase("add-on {addon} ignored", addon=text[main:])
        return replace(it, warnings=(*it.warnings, note)) if it.ok else it
    if sym in ("]E1", "]E2"):
        return _reject(text, sym, Phrase("an EAN add-on alone is not a product code"))
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
        return _reject(
            text,
            "",
            Phrase("malformed AIM symbology identifier {id}", id=repr(printable(source[:4]))),
        )
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
        Phrase(
            "a {name} code ({sym}) is not a product code: only EAN/UPC, "
            "ITF-14, GS1 DataBar, GS1-128 and GS1 QR/Data Matrix carry GTINs",
            name=name,
            sym=sym,
        ),
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
        return _reject(text, sym, Phrase("not a product code ({n} digits)", n=len(text)))
    if "\x1d" in text and text[:2].isdigit():
        return _from_gs1_message(text, sym, config, t_ms)
    if not sym and len(text) >= 16 and text.startswith("01") and text[2:16].isdigit():
        # An element string from a scanner set up without AIM identifiers (GS1-128, DataBar):
        # (01) has a fixed length, so what follows it is read unambiguously as more AIs.
        return _from_gs1_message(text, sym, config, t_ms)
    return _reject(text, sym, Phrase("not a product code"))


def _from_plu(text: str, sym: str) -> Interpretation:
    if len(text) == 5:
        if text[0] != "9":
            return _reject(
                text, sym, Phrase("5-digit PLU {plu} must start with 9 (organic)", plu=text)
            )
        base = text[1:]
    else:
        base = text
    if not ("3000" <= base <= "4999"):
        return _reject(
            text, sym, Phrase("PLU {plu} is outside the IFPS produce range 3000-4999", plu=text)
        )
    return Interpretation(text=text, symbology=sym, kind="plu", plu=text, organic=len(text) == 5)


def _from_digits(text: str, sym: str, config, *, gtin_only: bool) -> Interpretation:
    from biip import ParseError
    from biip.gtin import Gtin
    from biip.upc import Upc

    if not (text.isascii() and text.isdigit()) or len(text) not in (8, 12, 13, 14):
        return _reject(
            text,
            sym,
            Phrase("not a GTIN: expected 8, 12, 13 or 14 digits, got {text}", text=repr(text))
            if len(text) < 20
            else Phrase("not a GTIN"),
        )
    if len(text) == 8:
        readings: list[str] = []
        errors: list[str] = []
        if sym != "]E0":  # ]E0 with 8 digits is UPC-E; EAN-8 is ]E4
            try:
                readings.append(Gtin.parse(text).as_gtin_14())
            except ParseError as exc:
                errors.append(Phrase("as EAN-8: {error}", error=str(exc)))
        if sym != "]E4" and text[0] in "01":
            try:
                readings.append(Gtin.parse(Upc.parse(text).as_upc_a()).as_gtin_14())
            except ParseError as exc:
                errors.append(Phrase("as UPC-E: {error}", error=str(exc)))
        if not readings:
            return _reject(
                text, sym, Joined("; ", errors) if errors else Phrase("invalid 8-digit code")
            )
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


# A wrong check digit of the measure inside an in-store number, by the layout's measure.
_CHECK_DIGIT = {
    "price": N_("invalid price check digit in {code}: expected {want}, got {got}"),
    "weight": N_("invalid weight check digit in {code}: expected {want}, got {got}"),
    "count": N_("invalid count check digit in {code}: expected {want}, got {got}"),
}


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
                Phrase(
                    _CHECK_DIGIT.get(layout.measure, _CHECK_DIGIT["count"]),
                    code=text,
                    want=want,
                    got=got,
                ),
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
                text,
                sym,
                Phrase(
                    "embedded price {value} has more decimals than {currency}",
                    value=value,
                    currency=config.currency,
                ),
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
