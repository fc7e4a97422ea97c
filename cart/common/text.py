"""Text from outside the program (barcodes, catalogue files, device details), made safe to show.

One rule for the screen, the receipt and every command-line tool: a character that is invisible
or that changes how the text around it is shown is written as a visible escape instead
(``\\xNN`` below U+0100, ``\\uNNNN``, ``\\UNNNNNNNN``). That covers

- C0 and C1 control characters and DEL (ESC starts terminal escape sequences);
- zero-width characters (U+200B-U+200D, U+2060-U+2064, U+FEFF) that make two different codes
  or names look the same;
- bidirectional controls (U+200E/U+200F, U+061C, U+202A-U+202E, U+2066-U+2069) that reorder
  what a screen shows ("Trojan Source", CVE-2021-42574);
- line and paragraph separators (U+2028/U+2029), which some terminals and widgets break on;
- every other format character (Unicode category Cf: soft hyphen, interlinear annotation, tag
  characters) and lone surrogates.

Ordinary letters, accents, emoji and spaces are left as they are.
"""

from __future__ import annotations

import json
import re

# Every Cc, Cf, Zl and Zp character of Unicode 15 and the surrogates, as ranges (a regex class is
# far faster than unicodedata.category per character; tests/core/test_text.py checks the class
# against unicodedata for every code point).
_INVISIBLE_RANGES = (
    "\x00-\x1f\x7f-\x9f\xad"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
INVISIBLE = re.compile(f"[{_INVISIBLE_RANGES}]")
_INVISIBLE_BUT_NEWLINE = re.compile(f"(?!\n)[{_INVISIBLE_RANGES}]")


def escape_char(ch: str) -> str:
    """The visible escape of one character: ``\\x1b``, ``\\u200b``, ``\\U000e0041``."""
    o = ord(ch)
    if o < 0x100:
        return f"\\x{o:02x}"
    if o < 0x10000:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def _sub(m: re.Match) -> str:
    return escape_char(m.group())


def has_invisible(text: str) -> bool:
    """True when ``text`` holds a character :func:`visible` would escape."""
    return INVISIBLE.search(text) is not None


def visible(value: object, *, multiline: bool = False, limit: int | None = None) -> str:
    """``str(value)`` with every invisible or reordering character escaped (newlines kept when
    ``multiline``); cut at ``limit`` characters of the original, marked with ``…``."""
    text = str(value)
    cut = limit is not None and len(text) > limit
    if cut:
        text = text[:limit]
    pattern = _INVISIBLE_BUT_NEWLINE if multiline else INVISIBLE
    return pattern.sub(_sub, text) + ("…" if cut else "")


def printable(text: object, limit: int = 80) -> str:
    """One line safe to print: :func:`visible`, cut at ``limit`` characters."""
    return visible(text, limit=limit)


def _json_escape(m: re.Match) -> str:
    o = ord(m.group())
    if o < 0x10000:
        return f"\\u{o:04x}"
    o -= 0x10000
    return f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}"


def visible_json(obj: object, **kwargs) -> str:
    """``json.dumps(obj, ensure_ascii=False)`` with invisible characters as ``\\uXXXX`` JSON
    escapes: the same data for a program reading it, nothing hidden for a person reading it.
    (JSON's own syntax is ASCII and ``json.dumps`` escapes every C0 character inside a string,
    so a newline is the indentation's, and every other such character is inside a string.)"""
    kwargs.setdefault("ensure_ascii", False)
    return _INVISIBLE_BUT_NEWLINE.sub(_json_escape, json.dumps(obj, **kwargs))
