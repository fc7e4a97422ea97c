"""Keyboard layouts: what each key types plain, with Shift and with AltGr (US and Swedish)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from drivers.hid_scanner.keycodes import (
    KEY_0,
    KEY_1,
    KEY_2,
    KEY_3,
    KEY_4,
    KEY_5,
    KEY_6,
    KEY_7,
    KEY_8,
    KEY_9,
    KEY_102ND,
    KEY_APOSTROPHE,
    KEY_BACKSLASH,
    KEY_COMMA,
    KEY_DOT,
    KEY_EQUAL,
    KEY_GRAVE,
    KEY_KPASTERISK,
    KEY_KPDOT,
    KEY_KPMINUS,
    KEY_KPPLUS,
    KEY_KPSLASH,
    KEY_LEFTBRACE,
    KEY_MINUS,
    KEY_RIGHTBRACE,
    KEY_SEMICOLON,
    KEY_SLASH,
    KEY_SPACE,
    KEYPAD_DIGITS,
    LETTER_KEYS,
)


@dataclass(frozen=True)
class Layout:
    """A keyboard layout: key code -> (plain, Shift, AltGr) characters ("" for none).

    ``dead``: the characters typed by dead keys (they combine with the next key; Space gives
    the character itself). ``altgr``: Right Alt is AltGr (else it is a second Alt)."""

    name: str
    keys: Mapping[int, tuple[str, str, str]]
    dead: frozenset[str] = frozenset()
    altgr: bool = False


def _letters() -> dict[int, tuple[str, str, str]]:
    return {code: (ch, ch.upper(), "") for ch, code in LETTER_KEYS.items()}


def _keypad(decimal: str) -> dict[int, tuple[str, str, str]]:
    pad = {code: (d, d, "") for code, d in KEYPAD_DIGITS.items()}
    pad.update(
        {
            KEY_KPDOT: (decimal, decimal, ""),
            KEY_KPMINUS: ("-", "-", ""),
            KEY_KPPLUS: ("+", "+", ""),
            KEY_KPASTERISK: ("*", "*", ""),
            KEY_KPSLASH: ("/", "/", ""),
        }
    )
    return pad


def _row(codes: Iterable[int], plain: str, shifted: str, altgr: str = "") -> dict:
    codes = list(codes)
    altgr = altgr or " " * len(codes)
    return {
        c: (p, s, "" if a == " " else a)
        for c, p, s, a in zip(codes, plain, shifted, altgr, strict=True)
    }


_DIGIT_KEYS = [KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9, KEY_0]

US = Layout(
    "us",
    {
        **_letters(),
        **_row(_DIGIT_KEYS, "1234567890", "!@#$%^&*()"),
        **_row(
            [
                KEY_GRAVE,
                KEY_MINUS,
                KEY_EQUAL,
                KEY_LEFTBRACE,
                KEY_RIGHTBRACE,
                KEY_BACKSLASH,
                KEY_SEMICOLON,
                KEY_APOSTROPHE,
                KEY_COMMA,
                KEY_DOT,
                KEY_SLASH,
                KEY_102ND,
                KEY_SPACE,
            ],
            "`-=[]\\;',./\\ ",
            '~_+{}|:"<>?| ',
        ),
        **_keypad("."),
    },
)

# Swedish (sv-SE, ISO): shifted digits !"#¤%&/()=, AltGr digits @£${[]}, + ? \ on the key
# right of 0, å ö ä on the keys right of P and L, ' * left of Enter, < > | left of Z,
# - _ on the key right of the full stop; ´ ` and ¨ ^ ~ are dead keys; the keypad's decimal
# key gives a comma.
SE = Layout(
    "se",
    {
        **_letters(),
        **_row(_DIGIT_KEYS, "1234567890", '!"#¤%&/()=', " @£$€ {[]}"),
        **_row(
            [
                KEY_GRAVE,
                KEY_MINUS,
                KEY_EQUAL,
                KEY_LEFTBRACE,
                KEY_RIGHTBRACE,
                KEY_SEMICOLON,
                KEY_APOSTROPHE,
                KEY_BACKSLASH,
                KEY_102ND,
                KEY_COMMA,
                KEY_DOT,
                KEY_SLASH,
                KEY_SPACE,
            ],
            "§+´å¨öä'<,.- ",
            "½?`Å^ÖÄ*>;:_ ",
            " \\  ~   |    ",
        ),
        LETTER_KEYS["e"]: ("e", "E", "€"),
        LETTER_KEYS["m"]: ("m", "M", "µ"),
        **_keypad(","),
    },
    dead=frozenset("´`¨^~"),
    altgr=True,
)

LAYOUTS = {layout.name: layout for layout in (US, SE)}


def _layout(layout: str | Layout) -> Layout:
    if isinstance(layout, Layout):
        return layout
    try:
        return LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}") from None
