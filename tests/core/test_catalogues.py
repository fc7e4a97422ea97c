"""The shipped catalogues (cart/locale): every shopper-facing string in the code has a Swedish
translation with the same placeholders, and the catalogues hold nothing the code no longer says
(``./dev i18n`` was run after the last change of a string)."""

from __future__ import annotations

import string

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from cart.common import i18n
from cart.common.paths import REPO_ROOT

# The keywords ./dev i18n extracts with: Babel's own (_, ngettext, N_, ...) and the Phrase kinds.
KEYWORDS = {**DEFAULT_KEYWORDS, "Phrase": None, "Counted": (1, 2)}


@pytest.fixture(scope="module")
def extracted() -> dict[str | tuple[str, str], str]:
    """msgid (or (singular, plural)) -> where in cart/ it was found."""
    found: dict[str | tuple[str, str], str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        REPO_ROOT / "cart", [("**.py", "python")], keywords=KEYWORDS
    ):
        found.setdefault(message, f"{filename}:{lineno}")
    return found


def catalogue(code: str):
    with i18n.po_path(code).open("rb") as f:
        return read_po(f, locale=code)


def fields(text: str) -> set[str]:
    """The placeholder names (and their format specs) a brace-format string uses."""
    return {
        f"{name}:{spec}" for _, name, spec, _ in string.Formatter().parse(text) if name is not None
    }


def test_the_code_has_many_strings_to_translate(extracted):
    assert len(extracted) > 100
    assert "Pay" in extracted
    assert ("{n} line", "{n} lines") in extracted
    assert "Put the scanned {name} in the cart, or cancel the scan" in extracted


def test_every_string_has_a_swedish_translation_with_the_same_placeholders(extracted):
    sv = catalogue("sv")
    problems = []
    for msgid, where in extracted.items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        m = sv.get(key)
        if m is None or m.fuzzy:
            problems.append(f"{where}: {key!r} has no Swedish translation")
            continue
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if not all(strings):
            problems.append(f"{where}: {key!r} is not translated")
            continue
        for s in strings:
            if fields(s) != fields(ids[0]):
                problems.append(f"{where}: {key!r}: placeholders {fields(s)} != {fields(ids[0])}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("code", ["sv", "en"])
def test_a_catalogue_holds_only_what_the_code_says(extracted, code):
    ids = {m[0] if isinstance(m, tuple) else m for m in extracted}
    stale = [
        m.id
        for m in catalogue(code)
        if m.id and (m.id[0] if isinstance(m.id, tuple) else m.id) not in ids
    ]
    assert not stale, f"run ./dev i18n: {code} still has {stale}"


def test_english_entries_keep_their_placeholders():
    for m in catalogue("en"):
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        for s in m.string if isinstance(m.string, tuple) else (m.string,):
            assert not s or fields(s) == fields(ids[0]), m.id


def test_the_shipped_catalogues_speak():
    with i18n.language("sv"):
        assert i18n._("Pay") == "Betala"
        assert i18n.ngettext("{n} line", "{n} lines", 2).format(n=2) == "2 rader"
        n = i18n.Counted(
            "{n} question(s) to answer before paying", "{n} questions to answer before paying", n=1
        )
        assert i18n.say(n) == "1 fråga att svara på innan du betalar"
    # the journal's text stays what fusion always wrote; English says it properly
    assert n == "1 question(s) to answer before paying"
    assert i18n.say(n) == "1 question to answer before paying"
