"""Money formatting: integer minor units to text, integer arithmetic only.

The one formatter for amounts everywhere (receipts, the command line, the screen). An amount is
an ``int`` of minor units (öre, cents); ``digits`` is the number of minor-unit digits (2 for
SEK/EUR, 0 for JPY). Renderings:

- :func:`format_number`: ``1234`` → ``"12.34"`` (receipts: the currency is in the header);
- :func:`format_with_code`: ``1234`` → ``"12.34 SEK"`` (command line, the journal's coupon
  notes);
- :class:`Amount`: an amount inside a sentence (``Phrase("spend {amount} to use", amount=...)``):
  as a ``str`` the :func:`format_with_code` form (the journal's), said as :meth:`Money.format`
  writes it in the shopper's language (``200,00 kr``);
- :meth:`Money.format`: the screen, in the shopper's language (``cart.common.i18n``) through
  Babel's CLDR currency patterns: ``"€12.34"`` or ``"SEK 12.34"`` in English, ``"12,34 kr"`` or
  ``"12,34 €"`` in Swedish; :meth:`Money.number` the same number without the currency.

The first two are the journal's and the receipt's language-neutral forms and never change with
the language. On the screen the amount is exact (a ``Decimal`` of the minor units, never a
float), shown with the store's number of digits, grouped as the locale groups; where the
currency symbol is letters (``SEK``) and the pattern puts it against the digits, a space goes
between them (CLDR's currency spacing, which Babel leaves out). No-break spaces become plain
spaces: the screen is a terminal. Negative amounts keep their sign in front (``-12,34 kr``,
``-€0.50``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import get_currency_symbol

from cart.common import i18n

# Symbols the screen's large digits (Textual's Digits) can draw.
CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}
_SPACES = str.maketrans({"\xa0": " ", "\u202f": " "})


def format_number(minor: int, digits: int) -> str:
    """``1234`` with 2 digits → ``"12.34"``; ``-5`` → ``"-0.05"``; 0 digits → ``"1234"``."""
    minor = int(minor)
    whole, frac = divmod(abs(minor), 10**digits)
    text = f"{whole}.{frac:0{digits}d}" if digits else f"{whole}"
    return ("-" if minor < 0 else "") + text


def format_with_code(minor: int, currency: str, digits: int) -> str:
    """``1234`` → ``"12.34 SEK"``."""
    return f"{format_number(minor, digits)} {currency}"


@lru_cache(maxsize=64)
def _patterns(locale: str, digits: int):
    """The locale's currency and decimal patterns with exactly ``digits`` fraction digits."""
    loc = Locale.parse(locale)
    money = copy.copy(loc.currency_formats["standard"])
    number = copy.copy(loc.decimal_formats[None])
    money.frac_prec = number.frac_prec = (digits, digits)
    return loc, money, number


def _spaced(text: str, symbol: str) -> str:
    """CLDR currency spacing: ``SEK12.34`` → ``SEK 12.34``, ``12.34SEK`` → ``12.34 SEK``."""
    i = text.find(symbol)
    if i < 0:
        return text
    end = i + len(symbol)
    if symbol[-1].isalpha() and end < len(text) and text[end].isdigit():
        return text[:end] + " " + text[end:]
    if symbol[0].isalpha() and i > 0 and text[i - 1].isdigit():
        return text[:i] + " " + text[i:]
    return text


@lru_cache(maxsize=8192)
def format_money(minor: int, currency: str, digits: int, locale: str) -> str:
    """``minor`` units of ``currency`` as ``locale`` writes money: ``(1250, "SEK", 2,
    "sv_SE")`` → ``"12,50 kr"``."""
    loc, pattern, _ = _patterns(locale, digits)
    amount = Decimal(int(minor)).scaleb(-digits)
    text = pattern.apply(amount, loc, currency=currency, currency_digits=False)
    return _spaced(text, get_currency_symbol(currency, loc)).translate(_SPACES)


@lru_cache(maxsize=8192)
def format_decimal_number(minor: int, digits: int, locale: str) -> str:
    """``minor`` units as ``locale`` writes the number: ``(-123456, 2, "sv_SE")`` →
    ``"-1 234,56"``."""
    loc, _, pattern = _patterns(locale, digits)
    return pattern.apply(Decimal(int(minor)).scaleb(-digits), loc).translate(_SPACES)


def format_fixed(minor: int, digits: int) -> str:
    """A fixed-point number in the current language: ``format_fixed(1234, 3)`` → ``"1.234"``
    in English, ``"1,234"`` in Swedish (weights in kilograms from grams)."""
    return format_decimal_number(minor, digits, i18n.babel_locale())


@dataclass(frozen=True, slots=True)
class Money:
    """How the screen formats an amount: currency code and number of minor-unit digits, in the
    current language's locale (``cart.common.i18n.babel_locale``)."""

    currency: str = "EUR"
    exponent: int = 2

    def number(self, minor: int) -> str:
        """``1234`` → ``12.34`` / ``12,34`` (no currency)."""
        return format_decimal_number(minor, self.exponent, i18n.babel_locale())

    @property
    def symbol(self) -> str | None:
        """The symbol the large digits can draw (``€``), None for one they cannot (``kr``)."""
        return CURRENCY_SYMBOLS.get(self.currency)

    @property
    def unit(self) -> str:
        """The currency as the current locale names it: ``"kr"``, ``"SEK"``, ``"€"``."""
        return get_currency_symbol(self.currency, i18n.babel_locale())

    def format(self, minor: int, *, sign: bool = False) -> str:
        """``1234`` → ``€12.34``, ``12,34 kr``; negative amounts keep their sign (``-€0.50``);
        ``sign``: a positive amount gets a ``+``."""
        minor = int(minor)
        text = format_money(minor, self.currency, self.exponent, i18n.babel_locale())
        return ("+" + text) if sign and minor > 0 else text


class Amount(i18n.Localized):
    """An amount of money as a phrase's parameter: as a ``str`` ``"200.00 SEK"``
    (:func:`format_with_code`: the journal, receipts and logs keep it), said in the current
    language as the screen writes money (:meth:`Money.format`: ``"200,00 kr"``,
    ``"SEK 200.00"``)."""

    minor: int
    currency: str
    digits: int

    def __new__(cls, minor: int, currency: str, digits: int = 2) -> Amount:
        self = super().__new__(cls, format_with_code(minor, currency, digits))
        self.minor, self.currency, self.digits = int(minor), currency, digits
        return self

    def __reduce__(self):
        return Amount, (self.minor, self.currency, self.digits)

    def local(self, code: str | None = None) -> str:
        locale = i18n.babel_locale(code)
        return format_money(self.minor, self.currency, self.digits, locale)
