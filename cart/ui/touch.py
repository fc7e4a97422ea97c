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
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual.containers import Horizontal
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Input

from cart.common.i18n import _

MIN_TARGET = (5, 3)  # cells (width, height): 9 mm on the cart's panel at the kiosk's font
KEY_HEIGHT = 3  # rows of an on-screen key
GAP = 1  # columns between two keys


class TouchButton(Button, can_focus=False):
    """A button for a finger: never focused, pressed on every tap.

    ``msgid`` (an ``N_()`` msgid) or ``words`` (a function of no arguments) give it words in the
    current language, said again by :meth:`relabel` when the language changes."""

    def __init__(
        self,
        label=None,
        *args,
        msgid: str | None = None,
        words: Callable[[], str] | None = None,
        **kwargs,
    ) -> None:
        if msgid is not None:
            words = lambda: _(msgid)  # noqa: E731
        self._words = words
        super().__init__(label if words is None else words(), *args, **kwargs)

    def relabel(self) -> None:
        """Its words in the current language (a button given its label as such keeps it)."""
        if self._words is not None:
            self.label = self._words()

    async def _on_click(self, event) -> None:
        event.stop()
        self.press()


class ButtonBar(Horizontal):
    """A row of buttons sharing its width in proportion to the words each needs (at least
    :data:`MIN_TARGET` wide), so that a long word ("Frukt & grönt", "Textstorlek" at 80
    columns) is not cut while a short one ("Pay") leaves room; the shares are fractions of the
    row (``fr``), so Textual's layout keeps them at every width with no second pass. Fitted
    again when the buttons' words change (:meth:`fit`)."""

    DEFAULT_CSS = """
    ButtonBar { height: 3; }
    """
    EDGE = 2  # a button's tall border, left and right (the words are not padded: line_pad 0)

    def on_mount(self) -> None:
        self.fit()

    def fit(self) -> None:
        for button in self.query_children(TouchButton).results(TouchButton):
            button.styles.line_pad = 0  # (CSS cannot say 0)
            need = max(MIN_TARGET[0], cell_len(str(button.label)) + self.EDGE)
            button.styles.width = f"{need}fr"


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


class Keys(Widget, can_focus=False):
    """Rows of keys drawn by one widget (a keyboard of 43 buttons as widgets costs a screen
    100 ms of CPU to open, on a fast machine); a tap posts :class:`Keys.Pressed` with the key
    under it (a character, or :data:`BACK`, :data:`OK`, :data:`SPACE`, :data:`CLEAR`). Each key
    is :data:`KEY_HEIGHT` rows high and as wide as its row allows, one column apart; the key
    just tapped is shown pressed for a moment."""

    DEFAULT_CSS = """
    Keys { height: auto; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"keys--key", "keys--edge", "keys--pressed"}

    class Pressed(Message):
        def __init__(self, keys: Keys, key: str) -> None:
            super().__init__()
            self.keys = keys
            self.key = key

    def __init__(self, rows: Sequence[Sequence[str]], *, upper: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows = tuple(tuple(r) for r in rows)
        self.upper = upper
        self._pressed: str | None = None

    def get_content_height(self, container, viewport, width: int) -> int:
        return KEY_HEIGHT * len(self.rows)

    def label(self, key: str) -> str:
        return LABELS.get(key) or (key.upper() if self.upper else key)

    def key_regions(self, width: int | None = None) -> dict[str, Region]:
        """Where each key is, in the widget's own cells."""
        width = self.content_region.width if width is None else width
        out = {}
        for r, row in enumerate(self.rows):
            size = max(1, (width - GAP * (len(row) - 1)) // len(row))
            for c, key in enumerate(row):
                out[key] = Region(c * (size + GAP), r * KEY_HEIGHT, size, KEY_HEIGHT)
        return out

    def key_at(self, x: int, y: int) -> str | None:
        for key, region in self.key_regions().items():
            if region.contains(x, y):
                return key
        return None

    def offset_of(self, key: str) -> tuple[int, int]:
        """The middle of ``key`` (for a test's click)."""
        region = self.key_regions()[key]
        return region.x + region.width // 2, region.y + region.height // 2

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        r, line = divmod(y, KEY_HEIGHT)
        if r >= len(self.rows) or width <= 0:
            return Strip.blank(width, self.rich_style)
        row = self.rows[r]
        size = max(1, (width - GAP * (len(row) - 1)) // len(row))
        blank = self.rich_style
        segments = []
        for c, key in enumerate(row):
            if c:
                segments.append(Segment(" " * GAP, blank))
            style = self.get_component_rich_style(
                "keys--pressed" if key == self._pressed else "keys--key"
            )
            if line == KEY_HEIGHT // 2:
                text = self.label(key)
                pad = size - cell_len(text)
                segments.append(Segment(" " * (pad // 2) + text + " " * (pad - pad // 2), style))
            elif line == KEY_HEIGHT - 1:
                edge = style + self.get_component_rich_style("keys--edge", partial=True)
                segments.append(Segment("▁" * size, edge))
            else:
                segments.append(Segment(" " * size, style))
        return Strip(segments).adjust_cell_length(width, blank)

    def on_click(self, event) -> None:
        event.stop()
        key = self.key_at(event.x, event.y)
        if key is None:
            return
        self._pressed = key
        self.refresh()
        self.set_timer(0.15, self._release)
        self.post_message(self.Pressed(self, key))

    def _release(self) -> None:
        self._pressed = None
        self.refresh()


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
