"""Text from devices and catalogue files, made safe to show: always literally.

Product names, barcodes and coupon codes come from outside the program. They are never parsed
as Rich/Textual markup (they are wrapped in :class:`rich.text.Text`, which has no markup) and
control characters (ESC, other C0/C1 codes, DEL) are shown as visible ``\\xNN`` escapes so that
an escape sequence inside a barcode cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

import re

from rich.text import Text

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match) -> str:
    return f"\\x{ord(match.group()):02x}"


def visible(value: object, *, multiline: bool = False) -> str:
    """``str(value)`` with every control character (but newlines if ``multiline``) replaced by
    ``\\xNN``."""
    pattern = _CONTROL_BUT_NEWLINE if multiline else _CONTROL
    return pattern.sub(_escape, str(value))


def literal(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """A Rich ``Text`` showing ``value`` exactly (markup-free, control characters escaped)."""
    return Text(visible(value, multiline=multiline), style=style)
