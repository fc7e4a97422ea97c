"""Touch targets: buttons that never take the focus, the numeric keypad and the keyboard.

The cart's panel is 1280×800 on 10.1" (149 px per inch); the kiosk terminal's font (DejaVu Sans
Mono 15 at 96 dpi) draws a cell 12×24 px, 2.0×4.1 mm, so the screen is 106×33 cells. A finger
needs about 9 mm: 5 cells wide and 3 rows high (10×12 mm). Every touch target here is at least
that (:data:`MIN_TARGET`); ``tests/ui/test_touch.py`` measures every button on every screen.

A :class:`TouchButton` cannot be focused: a tap presses it, and the keys a shopper or staff type
keep going where they went (the PLU field keeps the focus while keypad keys are tapped). It
presses on every tap (Textual's button ignores a second tap within its 0.2 s press effect, which
would lose the second "1" of a PLU tapped quickly).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input

MIN_TARGET = (5, 3)  # cells (width, height): 9 mm on the cart's panel at the kiosk's font


class TouchButton(Button, can_focus=False):
    """A button for a finger: never focused, pressed on every tap."""

    async def _on_click(self, event) -> None:
        event.stop()
        self.press()


# Keys that are not characters: (key, label).
BACK = "back"
OK = "ok"
SPACE = "space"
CLEAR = "clear"
LABELS = {BACK: "⌫", OK: "OK", SPACE: "␣", CLEAR: "C"}

KEYPAD_ROWS: tuple[tuple[str, ...], ...] = (
    ("1", "2", "3"),
    ("4", "5", "6"),
    ("7", "8", "9"),
    (BACK, "0", OK),
)
# Letters for names and coupon codes; the Swedish letters because the store's names have them.
KEYBOARD_ROWS: tuple[tuple[str, ...], ...] = (
    tuple("1234567890"),
    tuple("qwertyuiopå"),
    tuple("asdfghjklöä"),
    (*"zxcvbnm", "-", SPACE, BACK, OK),
)


class Keys(Vertical):
    """Rows of keys; a tap posts :class:`Keys.Pressed` with the key (a character, or
    :data:`BACK`, :data:`OK`, :data:`SPACE`, :data:`CLEAR`)."""

    class Pressed(Message):
        def __init__(self, keys: Keys, key: str) -> None:
            super().__init__()
            self.keys = keys
            self.key = key

    def __init__(self, rows: Sequence[Sequence[str]], *, upper: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows = rows
        self._upper = upper

    def compose(self) -> ComposeResult:
        for row in self._rows:
            with Horizontal(classes="key-row"):
                for key in row:
                    label = LABELS.get(key) or (key.upper() if self._upper else key)
                    yield TouchButton(label, name=key, classes="key")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Pressed(self, event.button.name or ""))


def keypad(**kwargs) -> Keys:
    return Keys(KEYPAD_ROWS, classes="keypad", **kwargs)


def keyboard(*, upper: bool = False, **kwargs) -> Keys:
    return Keys(KEYBOARD_ROWS, upper=upper, classes="keyboard", **kwargs)


def type_key(field: Input, key: str, *, upper: bool = False) -> bool:
    """Apply a tapped key to ``field`` (at its end, as typed; refused as the field refuses a
    typed key: a letter in a PIN, one character too many); True for OK."""
    if key == OK:
        return True
    value = field.value
    if key == BACK:
        value = value[:-1]
    elif key == CLEAR:
        value = ""
    else:
        value += " " if key == SPACE else (key.upper() if upper else key)
    fits = not field.max_length or len(value) <= field.max_length
    if fits and (not field.restrict or re.fullmatch(field.restrict, value)):
        field.value = value
    field.cursor_position = len(field.value)
    return False
