"""The shopper's language: gettext catalogues, one current language for the whole screen.

Every shopper-facing sentence is written in English in the code and passed through :func:`_`
(or :func:`ngettext` when it counts something); the translations are gettext catalogues in
``cart/locale/<lang>/LC_MESSAGES/cart.po``. The ``.po`` files are the only ones committed: a
catalogue is compiled to the ``.mo`` form with Babel (``babel.messages.mofile``) in memory the
first time its language is used and read by the standard library's ``gettext``, so a compiled
catalogue can never be older than its source and a read-only root needs no build step.

English is the source language: its msgids are the English text, so an English catalogue only
needs entries where the wording differs. A msgid missing from a catalogue shows as the English
text (never an empty string or a traceback).

:func:`N_` marks a sentence for extraction without translating it (a table of messages defined
at import time, translated where it is shown). Extraction: ``./dev i18n`` (``pybabel extract``
with ``babel.cfg``, then ``pybabel update``; docs/I18N.md).

The current language is one process-wide setting (the cart has one screen and one shopper):
:func:`set_language` switches it, :func:`current_language` reads it; the pure core never reads
it (fusion emits message ids and parameters, the app layer translates them).
"""

from __future__ import annotations

import gettext
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "cart"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
SOURCE_LANGUAGE = "en"
DEFAULT_LANGUAGE = "en"

# The Babel locale each language formats numbers, money and dates in.
BABEL_LOCALES = {"en": "en", "sv": "sv_SE"}
# Each language's own name (the language button shows the other one's).
LANGUAGE_NAMES = {"en": "English", "sv": "Svenska"}

_lock = threading.Lock()
_catalogues: dict[str, gettext.NullTranslations] = {}
_current = DEFAULT_LANGUAGE


def po_path(code: str) -> Path:
    """The ``.po`` source of one language's catalogue."""
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages() -> tuple[str, ...]:
    """The languages the screen can speak: the source language and every one with a catalogue,
    sorted (``("en", "sv")``)."""
    codes = {SOURCE_LANGUAGE}
    if LOCALE_DIR.is_dir():
        codes.update(p.name for p in LOCALE_DIR.iterdir() if po_path(p.name).is_file())
    return tuple(sorted(codes))


def normalize(code: str) -> str:
    """``"sv_SE"``, ``"SV"``, ``"sv-SE.UTF-8"`` → ``"sv"``; raises ``ValueError`` with a sentence
    naming the languages there are for a language the cart cannot speak."""
    text = str(code).strip().lower().replace("-", "_").split(".")[0].split("_")[0]
    if text not in available_languages():
        known = ", ".join(available_languages())
        raise ValueError(f"language {code!r} is not one the cart speaks (there are: {known})")
    return text


def compile_catalogue(code: str) -> bytes:
    """One language's ``.po`` compiled to ``.mo`` bytes with Babel (fuzzy entries left out)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path(code).open("rb") as f:
        catalog = read_po(f, locale=BABEL_LOCALES.get(code, code), domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def catalogue(code: str) -> gettext.NullTranslations:
    """The compiled catalogue of one language (built once, then cached)."""
    code = normalize(code)
    with _lock:
        found = _catalogues.get(code)
        if found is None:
            if po_path(code).is_file():
                found = gettext.GNUTranslations(io.BytesIO(compile_catalogue(code)))
            else:  # the source language without a catalogue: the msgids are the text
                found = gettext.NullTranslations()
            _catalogues[code] = found
        return found


def set_language(code: str) -> str:
    """Make ``code`` the current language (its catalogue compiled now, so a bad catalogue fails
    here rather than mid-screen); returns the normalized code."""
    global _current
    code = normalize(code)
    catalogue(code)
    _current = code
    return code


def current_language() -> str:
    """The language the screen speaks now (``"en"``, ``"sv"``)."""
    return _current


def next_language(code: str | None = None) -> str:
    """The language after ``code`` (default: the current one) in :func:`available_languages`,
    round: what one touch of the language button switches to."""
    codes = available_languages()
    here = normalize(code) if code else _current
    return codes[(codes.index(here) + 1) % len(codes)]


def babel_locale(code: str | None = None) -> str:
    """The Babel locale the language (default: the current one) formats numbers in."""
    code = normalize(code) if code else _current
    return BABEL_LOCALES.get(code, code)


def language_name(code: str) -> str:
    """A language's name in itself: ``"Svenska"``, ``"English"``."""
    code = normalize(code)
    return LANGUAGE_NAMES.get(code, code)


def _(msgid: str) -> str:
    """``msgid`` in the current language (the English msgid where the catalogue lacks it)."""
    return catalogue(_current).gettext(msgid)


def gettext_in(code: str, msgid: str) -> str:
    """``msgid`` in a named language, whatever the current one is."""
    return catalogue(code).gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted sentence for ``n`` in the current language's plural rule."""
    return catalogue(_current).ngettext(singular, plural, n)


def N_(msgid: str) -> str:
    """Marks ``msgid`` for extraction and returns it untranslated (translate where shown)."""
    return msgid


@contextmanager
def language(code: str) -> Iterator[str]:
    """Speak ``code`` inside the block, then the language before it again (tests, a receipt
    printed in the store's language)."""
    before = current_language()
    try:
        yield set_language(code)
    finally:
        set_language(before)
