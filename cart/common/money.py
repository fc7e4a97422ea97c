"""Money formatting: integer minor units to text, integer arithmetic only.

The one formatter for amounts everywhere (receipts, the command line, the screen). An amount is
an ``int`` of minor units (öre, cents); ``digits`` is the number of minor-unit digits (2 for
SEK/EUR, 0 for JPY). Three renderings, all built on :func:`format_number`:

- :func:`format_number`: ``1234`` → ``"12.34"`` (receipts: the currency is in the header);
- :func:`format_with_code`: ``1234`` → ``"12.34 SEK"`` (command line, coupon notes);
- :meth:`Money.format`: ``1234`` → ``"€12.34"`` or ``"12.34 SEK"`` (the screen; a currency
  with a symbol in :data:`CURRENCY_SYMBOLS` shows it in front).

Negative amounts keep their sign in front (``-12.34``, ``-€0.50``).
"""

from __future__ import annotations

from dataclasses import dataclass

CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def format_number(minor: int, digits: int) -> str:
    """``1234`` with 2 digits → ``"12.34"``; ``-5`` → ``"-0.05"``; 0 digits → ``"1234"``."""
    minor = int(minor)
    whole, frac = divmod(abs(minor), 10**digits)
    text = f"{whole}.{frac:0{digits}d}" if digits else f"{whole}"
    return ("-" if minor < 0 else "") + text


def format_with_code(minor: int, currency: str, digits: int) -> str:
    """``1234`` → ``"12.34 SEK"``."""
    return f"{format_number(minor, digits)} {currency}"


@dataclass(frozen=True, slots=True)
class Money:
    """How the screen formats an amount: currency code and number of minor-unit digits."""

    currency: str = "EUR"
    exponent: int = 2

    def number(self, minor: int) -> str:
        """``1234`` → ``12.34`` (no currency)."""
        return format_number(minor, self.exponent)

    @property
    def symbol(self) -> str | None:
        return CURRENCY_SYMBOLS.get(self.currency)

    def format(self, minor: int, *, sign: bool = False) -> str:
        """``1234`` → ``€12.34``; negative amounts keep their sign (``-€0.50``); ``sign``: a
        positive amount gets a ``+``."""
        minor = int(minor)
        digits = format_number(abs(minor), self.exponent)
        symbol = self.symbol
        body = f"{symbol}{digits}" if symbol else f"{digits} {self.currency}"
        if minor < 0:
            return "-" + body
        return ("+" + body) if sign and minor > 0 else body
