"""The exit code drawn in the terminal: a QR code (made by zxing-cpp) as half-block characters.

Each character cell shows two modules stacked (upper half ``▀``, lower half ``▄``, both ``█``,
neither `` ``), in black on white regardless of the theme, with the quiet zone the standard asks
for, so a gate scanner can read it off the screen.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

QUIET_ZONE = 2  # modules; ISO 18004 asks for 4, 2 reads reliably on a backlit screen
_STYLE = Style(color="black", bgcolor="white")


def qr_matrix(content: str, quiet_zone: int = QUIET_ZONE) -> list[list[bool]]:
    """Dark modules (True) of a QR code for ``content``, with ``quiet_zone`` light modules round."""
    import zxingcpp

    if not content:
        raise ValueError("an exit code needs content")
    barcode = zxingcpp.create_barcode(content, zxingcpp.BarcodeFormat.QRCode)
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    import numpy as np

    pixels = np.asarray(image)
    if pixels.ndim != 2 or pixels.shape[0] != pixels.shape[1]:
        raise ValueError(f"unexpected QR image shape {pixels.shape}")
    size = pixels.shape[0] + 2 * quiet_zone
    rows = [[False] * size for _ in range(size)]
    for y, row in enumerate(pixels < 128):
        for x, dark in enumerate(row):
            rows[y + quiet_zone][x + quiet_zone] = bool(dark)
    return rows


def qr_text(content: str, quiet_zone: int = QUIET_ZONE) -> Text:
    """The QR code as lines of half blocks, black on white."""
    matrix = qr_matrix(content, quiet_zone)
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    lines = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        chars = []
        for up, down in zip(top, bottom, strict=True):
            chars.append("█" if up and down else "▀" if up else "▄" if down else " ")
        lines.append("".join(chars))
    return Text("\n".join(lines), style=_STYLE, no_wrap=True, end="")
