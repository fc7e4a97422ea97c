"""Text from devices and catalogue files, made safe to show: always literally.

Product names, barcodes and coupon codes come from outside the program. They are never parsed
as Rich/Textual markup (they are wrapped in :class:`rich.text.Text`, which has no markup), and
every invisible or reordering character (C0/C1 controls, DEL, zero-width characters, bidi
controls, line/paragraph separators) is shown as a visible escape by
:func:`cart.common.text.visible`, the one escape rule the receipt and the command-line tools use
too, so that an escape sequence inside a barcode cannot move the cursor or recolour the terminal
and a hidden character cannot make two names look alike.
"""

from __future__ import annotations

from rich.text import Text

from cart.common.text import visible

__all__ = ["literal", "visible"]


def literal(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """A Rich ``Text`` showing ``value`` exactly (markup-free, invisible characters escaped)."""
    return Text(visible(value, multiline=multiline), style=style)
