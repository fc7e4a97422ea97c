"""Asking the kiosk's terminal for a larger font (the large-text mode).

A program in a terminal cannot draw larger letters itself; the kiosk's terminal can
(``hardware/kiosk/cart-terminal``, VTE's font scale). The screen asks for it by setting the
terminal's window title to ``cart-font-scale=SCALE`` (OSC 2: the kiosk window has no title bar,
so nothing shows it); cart-terminal watches its title and scales its font, the cells grow, the
terminal reports its new size and the screen lays itself out again in fewer, larger cells
(at 1.4 the panel's 106×33 cells become 75×23, the layout every screen is tested at 80×24 for).
Any other terminal just gets a window title.
"""

from __future__ import annotations

TITLE_PREFIX = "cart-font-scale="


def font_scale_request(scale: float) -> str:
    """The escape sequence that asks cart-terminal for font ``scale`` (1.0: the normal size)."""
    return f"\x1b]2;{TITLE_PREFIX}{scale:g}\x07"


def request_font_scale(app, scale: float) -> bool:
    """Send the request to the terminal the app runs in; False when headless (tests)."""
    driver = getattr(app, "_driver", None)
    if driver is None or app.is_headless:
        return False
    driver.write(font_scale_request(scale))
    flush = getattr(driver, "flush", None)
    if flush is not None:
        flush()
    return True
