"""The one escape rule for everything shown (cart.common.text), checked against unicodedata."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart.common.text import INVISIBLE, printable, visible, visible_json

ISSUE_LIST = (
    [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u061c", "\ufeff", "\u2028", "\u2029"]
)


def test_every_control_format_and_separator_character_is_escaped():
    for o in range(0x110000):
        ch = chr(o)
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            assert INVISIBLE.match(ch), hex(o)
        elif INVISIBLE.match(ch):  # only characters newer than this Python's Unicode tables
            assert unicodedata.category(ch) == "Cn", hex(o)


@pytest.mark.parametrize("ch", ISSUE_LIST)
def test_zero_width_bidi_and_separators_are_shown_escaped(ch):
    shown = visible(f"Milk{ch}1")
    assert ch not in shown and shown == f"Milk\\u{ord(ch):04x}1"
    assert ch not in printable(ch) and ch not in visible(ch, multiline=True)


def test_escapes_and_limits():
    assert visible("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert visible("a\nb") == "a\\x0ab" and visible("a\nb\x07", multiline=True) == "a\nb\\x07"
    assert visible("\x9b2J") == "\\x9b2J"
    assert visible("\U000e0041") == "\\U000e0041"  # a tag character
    assert printable("abcdef", 3) == "abc…"
    assert visible("Smörgås 🧀 Crème") == "Smörgås 🧀 Crème"  # ordinary text stays


def test_json_keeps_the_data_and_hides_nothing():
    value = {"name": "A\u202eB\u200b\U000e0041\x1b", "é": "ü"}
    out = visible_json(value)
    assert not INVISIBLE.search(out) and "é" in out and json.loads(out) == value
    indented = visible_json(value, indent=1)
    assert json.loads(indented) == value and not INVISIBLE.search(indented.replace("\n", ""))


@given(st.text())
def test_visible_output_never_holds_an_invisible_character(text):
    shown = visible(text)
    assert not INVISIBLE.search(shown)
    if not INVISIBLE.search(text):
        assert shown == text
    assert json.loads(visible_json(text)) == text
