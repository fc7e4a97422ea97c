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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
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
_active: gettext.NullTranslations = gettext.NullTranslations()  # the current one's catalogue


def po_path(code: str) -> Path:
    """The ``.po`` source of one language's catalogue."""
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages() -> tuple[str, ...]:
    """The languages the screen can speak: the source language and every one with a catalogue,
    sorted (``("en", "sv")``)."""
    return _available(LOCALE_DIR)


@lru_cache(maxsize=8)
def _available(folder: Path) -> tuple[str, ...]:
    codes = {SOURCE_LANGUAGE}
    if folder.is_dir():
        codes.update(p.name for p in folder.iterdir() if po_path(p.name).is_file())
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
    global _current, _active
    code = normalize(code)
    _active = catalogue(code)
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
    return _active.gettext(msgid)


def gettext_in(code: str, msgid: str) -> str:
    """``msgid`` in a named language, whatever the current one is."""
    return catalogue(code).gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted sentence for ``n`` in the current language's plural rule."""
    return _active.ngettext(singular, plural, n)


def N_(msgid: str) -> str:
    """Marks ``msgid`` for extraction and returns it untranslated (translate where shown)."""
    return msgid


class Phrase(str):
    """A sentence for the shopper that keeps its msgid and parameters.

    As a ``str`` it is the English text with the parameters filled in, so the journal, logs,
    comparisons and fingerprints see plain, language-neutral English (the core stays
    deterministic and never reads the current language); :func:`say` puts it in the shopper's
    language where it is shown. ``Phrase("Put the {name} in the cart", name=p.name)``; the
    msgid is extracted by ``./dev i18n`` (``Phrase`` is one of its keywords)."""

    msgid: str
    params: dict[str, object]
    plural: str | None = None  # a counted phrase (:func:`Counted`): its plural msgid

    def __new__(cls, msgid: str, /, **params: object) -> Phrase:
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self):
        return _phrase, (self.msgid, self.params, self.plural)


def _phrase(msgid: str, params: dict[str, object], plural: str | None = None) -> Phrase:
    phrase = Phrase(msgid, **params)
    phrase.plural = plural
    return phrase


def Counted(msgid: str, plural: str, /, *, n: int, **params: object) -> Phrase:  # noqa: N802
    """A :class:`Phrase` that counts ``n``: as a ``str`` the ``msgid`` filled in (whatever ``n``
    is: the core's text never changes), said with the language's plural form of ``msgid`` /
    ``plural`` (an English catalogue entry gives English its proper forms)."""
    return _phrase(msgid, {"n": n, **params}, plural)


class Localized(str):
    """A value that keeps one language-neutral text (what the journal, logs and comparisons
    see, as a ``str``) and is said differently in each language (:meth:`local`): a name with
    translations (:class:`LocalName`), an amount of money (``cart.common.money.Amount``).
    :func:`say` and :func:`localize` (a phrase's parameters) say it in the current language."""

    def local(self, code: str | None = None) -> str:
        return str(self)


class LocalName(Localized):
    """A catalogue name that has translations: as a ``str`` the one name the catalogue gives
    (what the journal and receipts keep), in :func:`say` the name in the shopper's language."""

    names: dict[str, str]

    def __new__(cls, name: str, names: dict[str, str]) -> LocalName:
        self = super().__new__(cls, name)
        self.names = dict(names)
        return self

    def __reduce__(self):
        return LocalName, (str(self), self.names)

    def local(self, code: str | None = None) -> str:
        return self.names.get(code or _current) or str(self)


def say(text: object) -> str:
    """Text for the shopper in the current language: a :class:`Phrase` translated with its
    parameters said too, a :class:`LocalName` in the language's name, any other string looked up
    as a msgid (constants written in full are their own msgids) and shown as it is when the
    catalogue does not know it. A translation whose placeholders do not fit falls back to the
    English (never a traceback on the screen)."""
    if isinstance(text, Phrase):
        params = {k: localize(v) for k, v in text.params.items()}
        if text.plural is not None:
            n = text.params.get("n", 1)
            template = ngettext(text.msgid, text.plural, n if isinstance(n, int) else 1)
        else:
            template = _(text.msgid)
        try:
            return template.format(**params) if params else template
        except (KeyError, IndexError, ValueError):
            return text.msgid.format(**params) if params else str(text)
    if isinstance(text, Localized):
        return text.local()
    if isinstance(text, Joined):
        return str(localize(text))
    if isinstance(text, str):
        return _(text) if text else text
    return str(text)


def local_name(name: str) -> str:
    """A catalogue name in the current language (never looked up as a msgid: a product called
    "Pay" stays "Pay")."""
    return name.local() if isinstance(name, Localized) else name


class Joined(str):
    """Phrases joined by a separator (``"; "``): as a ``str`` the English parts joined, in
    :func:`localize` each part in the language."""

    parts: tuple[str, ...]
    sep: str

    def __new__(cls, sep: str, parts: Iterable[str]) -> Joined:
        parts = tuple(parts)
        self = super().__new__(cls, sep.join(parts))
        self.parts, self.sep = parts, sep
        return self

    def __reduce__(self):
        return Joined, (self.sep, self.parts)


def localize(value: object) -> object:
    """A phrase in the language, a name in its language (any :class:`Localized`: money as the
    language writes it too), a date as the language writes it
    (Babel), anything else (a product name without translations, a code, a number) as it is:
    a phrase's parameters, an answer's label."""
    if isinstance(value, Phrase):
        return say(value)
    if isinstance(value, Localized):
        return value.local()
    if isinstance(value, Joined):
        return value.sep.join(str(localize(p)) for p in value.parts)
    if isinstance(value, date) and not isinstance(value, datetime):
        from babel.dates import format_date

        return format_date(value, format="medium", locale=babel_locale())
    return value


@contextmanager
def language(code: str) -> Iterator[str]:
    """Speak ``code`` inside the block, then the language before it again (tests, a receipt
    printed in the store's language)."""
    before = current_language()
    try:
        yield set_language(code)
    finally:
        set_language(before)
