"""The one money formatter (cart.common.money) and the renderings built on it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cart.common import i18n
from cart.common.money import Money, format_number, format_with_code

AMOUNTS = st.integers(-(10**12), 10**12)
DIGITS = st.integers(0, 3)


def test_format_number():
    assert format_number(0, 2) == "0.00"
    assert format_number(5, 2) == "0.05"
    assert format_number(123456, 2) == "1234.56"
    assert format_number(-250, 2) == "-2.50"
    assert format_number(-250, 0) == "-250"
    assert format_number(7, 3) == "0.007"


def test_format_with_code():
    assert format_with_code(2695, "SEK", 2) == "26.95 SEK"
    assert format_with_code(-5, "SEK", 2) == "-0.05 SEK"
    assert format_with_code(1500, "JPY", 0) == "1500 JPY"


def test_money_for_the_screen_in_english():
    eur, sek = Money("EUR", 2), Money("SEK", 2)
    assert eur.format(1234) == "€12.34"
    assert eur.format(-50) == "-€0.50"
    assert eur.format(50, sign=True) == "+€0.50"
    assert eur.format(0, sign=True) == "€0.00"
    assert eur.format(123456789) == "€1,234,567.89"
    assert sek.format(1234) == "SEK 12.34" and sek.symbol is None and sek.unit == "SEK"
    assert sek.number(-123456) == "-1,234.56"
    assert Money("JPY", 0).format(1500) == "¥1,500"


def test_money_for_the_screen_in_swedish():
    eur, sek = Money("EUR", 2), Money("SEK", 2)
    with i18n.language("sv"):
        assert sek.format(1250) == "12,50 kr" and sek.unit == "kr"
        assert sek.format(-123456) == "-1 234,56 kr"
        assert sek.format(5, sign=True) == "+0,05 kr"
        assert eur.format(1250) == "12,50 €"
        assert sek.number(-123456) == "-1 234,56"
    assert sek.format(1250) == "SEK 12.50"


@given(AMOUNTS, DIGITS, st.sampled_from(["SEK", "EUR", "GBP", "USD", "JPY"]), st.booleans())
def test_the_screen_shows_the_exact_amount_in_every_language(minor, digits, currency, sign):
    """Whatever the locale writes around it, the digits are the amount's, exactly (no float)."""
    m = Money(currency, digits)
    for lang, group, point in (("en", ",", "."), ("sv", " ", ",")):
        with i18n.language(lang):
            text = m.format(minor, sign=sign)
            number = m.number(minor)
        assert text.startswith("-" if minor < 0 else "+" if sign and minor > 0 else "")
        assert number.replace(group, "").replace(point, ".") == format_number(minor, digits)
        assert number.lstrip("-") in text


def test_store_config_formats_with_its_currency(store):
    assert store.config.format_money(-250) == "-2.50 SEK"
    assert store.config.money == Money("SEK", 2)


# The formatters this module replaced (receipts, command line), kept verbatim: the output must
# stay byte for byte the same.


def _old_receipt(digits: int, minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    if digits == 0:
        return f"{sign}{minor}"
    unit = 10**digits
    return f"{sign}{minor // unit}.{minor % unit:0{digits}d}"


def _old_store(currency: str, digits: int, minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(int(minor))
    if digits == 0:
        return f"{sign}{minor} {currency}"
    unit = 10**digits
    return f"{sign}{minor // unit}.{minor % unit:0{digits}d} {currency}"


@given(AMOUNTS, DIGITS, st.sampled_from(["SEK", "EUR", "GBP", "USD", "JPY"]))
def test_same_text_as_the_formatters_it_replaced(minor, digits, currency):
    assert format_number(minor, digits) == _old_receipt(digits, minor)
    assert format_with_code(minor, currency, digits) == _old_store(currency, digits, minor)
