"""GS1 Digital Link URIs: what DL 1.x forbids and biip lets through, then their element
strings."""

from __future__ import annotations

from cart.common.i18n import Phrase
from cart.common.text import printable
from cart.store.barcodes.gs1_elements import _from_elements
from cart.store.barcodes.results import Interpretation, _reject


def _from_digital_link(text, sym, config, t_ms) -> Interpretation:
    from biip import ParseError
    from biip.gs1_digital_link_uris import GS1DigitalLinkURI

    problem = _digital_link_problem(text)
    if problem:
        return _reject(text, sym, Phrase("not a GS1 Digital Link: {problem}", problem=problem))
    try:
        dl = GS1DigitalLinkURI.parse(text)
    except (ParseError, ValueError) as exc:
        error = printable(str(exc), 200)
        return _reject(text, sym, Phrase("not a GS1 Digital Link: {problem}", problem=error))
    counts: dict[str, int] = {}
    for es in dl.element_strings:
        counts[es.ai.ai] = counts.get(es.ai.ai, 0) + 1
    twice = sorted(ai for ai, n in counts.items() if n > 1)
    if twice:  # biip keeps a path key that the query repeats; DL 1.2 section 4 forbids it
        twice_ = Phrase("({ai}) given twice", ai=twice[0])
        return _reject(text, sym, Phrase("not a GS1 Digital Link: {problem}", problem=twice_))
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
        return Phrase("scheme {scheme} must be http or https", scheme=repr(printable(scheme, 8)))
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
            return Phrase("unknown AI ({ai}) in the query", ai=printable(key, 8))
        value = unquote_plus(value)
        if not value:
            return Phrase("empty value for AI ({ai})", ai=key)
        if key in query or key in path_ais:
            return Phrase("({ai}) given twice", ai=key)
        query[key] = value
    if gtin is None:
        gtin = query.get("01")
    if gtin is not None and not (len(gtin) == 14 and gtin.isdigit()):
        return Phrase(
            "a GTIN in a Digital Link has 14 digits, got {gtin}", gtin=repr(printable(gtin, 20))
        )
    if "01" in path_ais:
        chosen = next(
            (q for q in _GTIN_QUALIFIERS if any(k in path_ais for k in q)), _GTIN_QUALIFIERS[0]
        )
        misplaced = next((k for k in chosen if k in query), None)
        if misplaced:
            return Phrase("key qualifier ({ai}) belongs in the path, not the query", ai=misplaced)
    return ""
