"""Produce entry: the camera's top 3 and the store's produce as large tiles, searchable by name
or PLU with the on-screen keyboard or keypad (or the keys).

Pictures: the kiosk's terminal (VTE 0.70 on Raspberry Pi OS Bookworm) has no image protocol
(sixel is built into VTE only from 0.76, and off by default), and a product photo drawn in
half-block characters at a tile's 18×3 cells is not recognisable, so a tile shows words only:
the name, the price (per kg where sold by weight) and the PLU, and for a camera suggestion how
sure the camera is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Click
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from cart.app.view import ANSWER_KEYS, Choice
from cart.common.i18n import _
from cart.ui.literal import literal
from cart.ui.touch import Keys, TouchButton, keyboard, keypad, type_key

MAX_TILES = 64  # a store's produce fits; a search shows at most this many
SEARCH_TILES = 24  # at least this many tiles for a search's results
TILE_WIDTH = 26  # cells, gutter included: 3 tiles at 80 columns, 4 on the panel's 106


class ProduceTile(Static, can_focus=False):
    """One product (or an answer such as "it is my own item") as a tile; a tap chooses it."""

    class Chosen(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, index: int) -> None:
        super().__init__(id=f"tile-{index}", classes="tile")
        self.index = index
        self.choice: Choice | None = None
        self.display = False

    def set_choice(
        self, choice: Choice | None, *, suggested: str = "", highlighted: bool = False
    ) -> None:
        self.choice = choice
        self.display = choice is not None
        if choice is None:
            return
        mark = "▶ " if highlighted else ""  # the highlight is never colour alone
        text = Text(mark, style="bold")
        text.append_text(literal(choice.label, style="bold"))
        if choice.detail:
            text.append("\n")
            text.append_text(literal(choice.detail))
        if suggested:
            text.append("\n")
            text.append(_("camera") + f" {suggested}", style="italic")
        if choice.key in ANSWER_KEYS:
            text.stylize("italic")
        self.update(text)
        self.set_class(highlighted, "-highlight")
        self.set_class(choice.key in ANSWER_KEYS, "-answer")
        self.set_class(bool(suggested), "-suggested")

    def on_click(self, event: Click) -> None:
        event.stop()
        if self.choice is not None:
            self.post_message(self.Chosen(self.index))


class ProduceScreen(ModalScreen[str | None]):
    """Produce entry, by touch or keys.

    Touch: tap a tile (the camera's top 3 first, then the store's produce by name); "Search"
    opens the on-screen keyboard, "PLU" the keypad; what they type filters the tiles.

    Keys: every character goes to the typing field, which always has the focus: a digit is always
    part of a PLU (PLUs start with any digit: 3017 Conference pears), never a pick from the tiles,
    and a key pressed while the screen is still opening is kept, not lost. The arrows move the
    highlighted tile and Enter takes it. A PLU typed in full is taken exactly; a partial one is
    not completed to some other product unless the shopper moved the highlight onto it.
    """

    AUTO_FOCUS = "#query"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(
        self,
        suggestions: tuple[Choice, ...],
        search: Callable[[str, int], list[Choice]],
        produce: Callable[[int], list[Choice]] | None = None,
    ) -> None:
        super().__init__(classes="prompt produce")
        self._search = search
        self._suggestions = tuple(self._priced(c) for c in suggestions)
        self._scores = {c.key: c.detail for c in suggestions if c.key not in ANSWER_KEYS}
        store = produce(MAX_TILES) if produce is not None else []
        first = {c.key for c in suggestions}
        self._all = (*self._suggestions, *(c for c in store if c.key not in first))[:MAX_TILES]
        self._pool = max(len(self._all), SEARCH_TILES)  # tiles made once, filled as searched
        self._query = ""
        self._shown: tuple[Choice, ...] = self._all
        self._index = 0
        self._moved = False  # the shopper moved the highlight with the arrows

    def _priced(self, choice: Choice) -> Choice:
        """A camera suggestion ("72%") with the product's price and PLU, as the store has it."""
        if choice.key in ANSWER_KEYS:
            return choice
        found = [c for c in self._search(choice.key, 1) if c.key == choice.key]
        return Choice(choice.key, choice.label, found[0].detail if found else "")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog produce-dialog"):
            yield Label(_("Produce: what is on the scale?"), classes="dialog-title")
            yield Static(self._prompt(), id="produce-prompt", classes="dialog-prompt")
            with Horizontal(id="produce-search"):
                yield Input(
                    placeholder=_("PLU or name"), id="query", max_length=40, select_on_focus=False
                )
                yield TouchButton(_("Search"), id="show-keyboard")
                yield TouchButton(_("PLU"), id="show-keypad")
                yield TouchButton(_("Back"), id="produce-back")
            with Horizontal(id="produce-body"):
                with VerticalScroll(id="tiles"):
                    for i in range(self._pool):
                        yield ProduceTile(i)
                yield keypad(id="produce-keypad")
            yield keyboard(id="produce-keyboard")
            yield Footer()

    def _prompt(self) -> str:
        return _("Tap your produce, or search by name or by the PLU on the sticker.")

    def _say(self, text: str) -> None:
        """Tell the shopper in the dialog itself, where they are looking."""
        for prompt in self.query("#produce-prompt").results(Static):
            prompt.update(text)

    def on_mount(self) -> None:
        self.query_one("#produce-keypad").display = False
        self.query_one("#produce-keyboard").display = False
        self._fill()

    def on_resize(self) -> None:
        tiles = next(self.query("#tiles").results(VerticalScroll), None)
        if tiles is not None and tiles.size.width:
            tiles.styles.grid_size_columns = max(1, tiles.size.width // TILE_WIDTH)

    def _fill(self) -> None:
        tiles = list(self.query(ProduceTile).results(ProduceTile))
        for tile in tiles:
            choice = self._shown[tile.index] if tile.index < len(self._shown) else None
            suggested = self._scores.get(choice.key, "") if choice and not self._query else ""
            tile.set_choice(choice, suggested=suggested, highlighted=tile.index == self._index)
        if tiles and self._index < len(tiles) and tiles[self._index].display:
            tiles[self._index].scroll_visible(animate=False)

    def _show(self, query: str) -> None:
        """Tiles for what ``query`` finds (the camera's and the store's produce while empty)."""
        self._query = query
        self._shown = tuple(self._search(query, self._pool)) if query else self._all
        self._index = 0
        self._moved = False
        self._say(self._prompt())
        self._fill()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._take(event.value.strip())

    def _take(self, query: str) -> None:
        """Enter (or the keypad's OK): the highlighted tile, or the PLU typed in full."""
        if query != self._query:
            self._show(query)  # Enter before the tiles caught up with the typing
        if not self._shown:
            self._say(_("No product matches: type the PLU from the sticker or part of the name."))
        elif query.isdigit() and not self._moved and self._shown[self._index].key != query:
            # a partial or mistyped PLU: never bill the first product that starts with it
            self._say(
                _("No product has the PLU {plu}: type the whole PLU, or tap the product.").format(
                    plu=query
                )
            )
        else:
            self.dismiss(self._shown[self._index].key)

    def on_key(self, event) -> None:
        """A character that reached the screen, not the typing field (the field was not focused
        yet), is typed into the field all the same: at its end, in the order it came."""
        query = next(self.query("#query").results(Input), None)
        if query is None or query.has_focus or not event.is_printable or not event.character:
            return
        event.stop()
        event.prevent_default()
        query.value += event.character
        query.cursor_position = len(query.value)
        query.focus()

    def action_move(self, step: int) -> None:
        if not self._shown:
            return
        self._index = max(0, min(len(self._shown) - 1, self._index + step))
        self._moved = True
        self._fill()

    def on_produce_tile_chosen(self, event: ProduceTile.Chosen) -> None:
        event.stop()
        if event.index < len(self._shown):
            self.dismiss(self._shown[event.index].key)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        keypad_, keyboard_ = self.query_one("#produce-keypad"), self.query_one("#produce-keyboard")
        if event.button.id == "produce-back":
            self.dismiss(None)
        elif event.button.id == "show-keypad":
            keypad_.display = not keypad_.display
            keyboard_.display = False
        elif event.button.id == "show-keyboard":
            keyboard_.display = not keyboard_.display
            keypad_.display = False

    def on_keys_pressed(self, event: Keys.Pressed) -> None:
        event.stop()
        field = self.query_one("#query", Input)
        if type_key(field, event.key):  # the field's change shows what it finds
            self._take(field.value.strip())
