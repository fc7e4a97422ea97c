"""Produce entry: the camera's top 3 and the store's produce as large tiles, searchable by name
or PLU with the on-screen keyboard or keypad (or the keys).

Pictures: the kiosk's terminal (VTE 0.70 on Raspberry Pi OS Bookworm) has no image protocol
(sixel is built into VTE only from 0.76, and off by default), and a product photo drawn in
half-block characters at a tile's 18×3 cells is not recognisable, so a tile shows words only:
the name, the price (per kg where sold by weight) and the PLU, and for a camera suggestion how
sure the camera is.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Button, Input, Label, Static

from cart.app.view import ANSWER_KEYS, Choice
from cart.common.i18n import N_, _
from cart.ui.language import DYNAMIC
from cart.ui.literal import visible
from cart.ui.touch import GAP, Keys, TouchButton, keyboard, keypad, type_key

MAX_TILES = 200  # a store's produce fits; a search shows at most this many
TILE_WIDTH = 26  # cells, gap included: 3 tiles at 80 columns, 4 on the panel's 106
TILE_HEIGHT = 4  # rows: at least the 3 a finger needs (cart.ui.touch.MIN_TARGET)
PITCH = TILE_HEIGHT + 1  # a blank row between two rows of tiles


@dataclass(frozen=True, slots=True)
class Tile:
    """One tile as shown: a product (or an answer such as "it is my own item")."""

    choice: Choice
    suggested: str = ""  # the camera's score ("72%") for one of its top 3
    highlighted: bool = False


class TileGrid(ScrollView, can_focus=False):
    """The tiles, drawn by one widget (as :class:`~cart.ui.widgets.BasketLines` draws the
    basket): a grid of :data:`TILE_HEIGHT`-row tiles about :data:`TILE_WIDTH` columns wide,
    one row and one column apart, scrolled when there are more than fit. A tap posts
    :class:`TileGrid.Chosen` with the tile's index. Each tile: the name (two lines at most),
    the price and PLU, and for a camera suggestion how sure the camera is; the highlighted one
    marked ▶ (never by colour alone)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tiles--tile",
        "tiles--highlight",
        "tiles--answer",
        "tiles--mark",
    }

    class Chosen(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tiles: tuple[Tile, ...] = ()
        self._cache: dict[tuple, list[tuple[str, str]]] = {}

    def show(self, tiles: tuple[Tile, ...]) -> None:
        self.tiles = tiles
        self._resize()
        self.refresh()

    def _layout(self) -> tuple[int, int]:
        """(columns, tile width) at the widget's width."""
        width = self.scrollable_content_region.width
        cols = max(1, (width + GAP) // TILE_WIDTH)
        return cols, max(1, (width - GAP * (cols - 1)) // cols)

    def _resize(self) -> None:
        cols, _w = self._layout()
        rows = -(-len(self.tiles) // cols)
        self.virtual_size = Size(self.scrollable_content_region.width, rows * PITCH)

    def on_resize(self) -> None:
        self._resize()

    def region_of(self, index: int) -> Region:
        """Where tile ``index`` is, in the grid's content (before scrolling)."""
        cols, width = self._layout()
        r, c = divmod(index, cols)
        return Region(c * (width + GAP), r * PITCH, width, TILE_HEIGHT)

    def scroll_to_tile(self, index: int) -> None:
        if 0 <= index < len(self.tiles):
            self.scroll_to_region(self.region_of(index), animate=False, immediate=True)

    def offset_of(self, index: int) -> tuple[int, int]:
        """The middle of tile ``index`` on screen (for a test's click), scrolled into view."""
        self.scroll_to_tile(index)
        region = self.region_of(index)
        return (region.x + region.width // 2, region.y + 1 - self.scroll_offset.y)

    def index_at(self, x: int, y: int) -> int | None:
        cols, width = self._layout()
        r, line = divmod(y, PITCH)
        c, across = divmod(x, width + GAP)
        if line >= TILE_HEIGHT or across >= width or c >= cols:
            return None
        index = r * cols + c
        return index if index < len(self.tiles) else None

    def on_click(self, event) -> None:
        event.stop()
        index = self.index_at(event.x, event.y + self.scroll_offset.y)
        if index is not None:
            self.post_message(self.Chosen(index))

    def _lines(self, tile: Tile, width: int) -> list[tuple[str, str]]:
        """A tile's rows of text (style names), ``width`` wide, :data:`TILE_HEIGHT` of them."""
        key = (tile, width)
        found = self._cache.get(key)
        if found is not None:
            return found
        inner = max(1, width - 2)
        mark = "▶ " if tile.highlighted else ""
        name = textwrap.wrap(mark + visible(tile.choice.label), inner) or [""]
        if len(name) > 2:
            name = [name[0], _fit(" ".join(name[1:]), inner)]
        rows = [(n, "name") for n in name]
        if tile.choice.detail:
            rows.append((_fit(visible(tile.choice.detail), inner), ""))
        if tile.suggested:
            rows.append((_fit(_("camera") + " " + tile.suggested, inner), "camera"))
        rows = rows[:TILE_HEIGHT] + [("", "")] * (TILE_HEIGHT - len(rows))
        out = [(" " + text + " " * (inner - cell_len(text)) + " ", style) for text, style in rows]
        if len(self._cache) > 4 * MAX_TILES:
            self._cache.clear()
        self._cache[key] = out
        return out

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        r, line = divmod(self.scroll_offset.y + y, PITCH)
        cols, tile_w = self._layout()
        blank = self.rich_style
        if line >= TILE_HEIGHT or r * cols >= len(self.tiles):
            return Strip.blank(width, blank)
        segments = []
        for c in range(cols):
            index = r * cols + c
            if index >= len(self.tiles):
                break
            if c:
                segments.append(Segment(" " * GAP, blank))
            tile = self.tiles[index]
            kind = "highlight" if tile.highlighted else "tile"
            base = self.get_component_rich_style(f"tiles--{kind}")
            if tile.choice.key in ANSWER_KEYS:
                base += self.get_component_rich_style("tiles--answer", partial=True)
            text, style = self._lines(tile, tile_w)[line]
            if tile.suggested:  # the camera's: a mark down the left edge
                mark = base + self.get_component_rich_style("tiles--mark", partial=True)
                segments.append(Segment("▌", mark))
                text = text[1:]
            if style == "name":
                base += Style(bold=True)
            elif style == "camera":
                base += Style(italic=True)
            segments.append(Segment(text, base))
        return Strip(segments).adjust_cell_length(width, blank)


def _fit(text: str, width: int) -> str:
    return text if cell_len(text) <= width else set_cell_size(text, width - 1) + "…"


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
        Binding("escape", "dismiss(None)", N_("Back")),
        Binding("down", "move(1)", N_("Next"), show=False),
        Binding("up", "move(-1)", N_("Previous"), show=False),
    ]

    def __init__(
        self,
        suggestions: tuple[Choice, ...],
        search: Callable[[str, int], list[Choice]],
        produce: Callable[[int], list[Choice]] | None = None,
    ) -> None:
        super().__init__(classes="prompt produce")
        self._search = search
        self._produce = produce
        self._load(suggestions)

    def _load(self, suggestions: tuple[Choice, ...]) -> None:
        """What the screen offers: the camera's suggestions first, then the store's produce."""
        self._suggestions = tuple(self._priced(c) for c in suggestions)
        self._scores = {c.key: c.detail for c in suggestions if c.key not in ANSWER_KEYS}
        store = self._produce(MAX_TILES) if self._produce is not None else []
        first = {c.key for c in suggestions}
        self._all = (*self._suggestions, *(c for c in store if c.key not in first))[:MAX_TILES]
        self._query = ""
        self._shown: tuple[Choice, ...] = self._all
        self._index = 0
        self._moved = False  # the shopper moved the highlight with the arrows
        self._said = self._prompt()  # what the prompt line says now

    def refill(self, suggestions: tuple[Choice, ...]) -> None:
        """Open again, for another question: the app keeps one produce screen installed and
        refills it (building it, about 60 ms of CPU, is the cost of opening it). Everything is
        as a new screen would be: the suggestions and the store's produce (names and prices in
        the current language), an empty field, the keys hidden, the first tile highlighted, and
        the screen's own words in the current language."""
        self._load(suggestions)
        if not self.is_mounted:
            return
        field = self.query_one("#query", Input)
        if field.value:
            with field.prevent(Input.Changed):
                field.value = ""
        field.placeholder = _("PLU or name")
        self.query_one("#produce-keypad").display = False
        self.query_one("#produce-keyboard").display = False
        self.query_one(".dialog-title", Label).update(_("Produce: what is on the scale?"))
        self.query_one("#produce-prompt", Static).update(self._said)
        for button in self.query(TouchButton).results(TouchButton):
            button.relabel()
        self._fill()

    def relabel(self, suggestions: tuple[Choice, ...] | None = None) -> None:
        """The language changed while the screen is open: its words, the tiles' names and prices
        in the new language (the camera's suggestions as the new snapshot says them, or the
        same ones said again), what is typed and the keys shown kept."""
        if suggestions is None:
            suggestions = tuple(self._relabelled(c) for c in self._suggestions)
        query = self._query
        self._load(suggestions)
        field = self.query_one("#query", Input)
        field.placeholder = _("PLU or name")
        self.query_one(".dialog-title", Label).update(_("Produce: what is on the scale?"))
        self._said = ""
        for button in self.query(TouchButton).results(TouchButton):
            button.relabel()
        self._show(query)  # the tiles for what is typed, in the new language

    def _relabelled(self, choice: Choice) -> Choice:
        """A suggestion (a product, by its key) with its name in the current language; the
        camera's score kept."""
        if choice.key in ANSWER_KEYS:
            return choice
        found = [c for c in self._search(choice.key, 1) if c.key == choice.key]
        label = found[0].label if found else choice.label
        return Choice(choice.key, label, self._scores.get(choice.key, choice.detail))

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
                yield TouchButton(msgid=N_("Search"), id="show-keyboard")
                yield TouchButton(msgid=N_("PLU"), id="show-keypad")
                yield TouchButton(msgid=N_("Back"), id="produce-back")
                yield TouchButton(
                    words=DYNAMIC["toggle_language"],
                    action="app.toggle_language",
                    id="produce-language",
                    classes="language",
                )
            with Horizontal(id="produce-body"):
                yield TileGrid(id="tiles")
                yield keypad(id="produce-keypad")
            yield keyboard(id="produce-keyboard")

    @property
    def shown_query(self) -> str:
        """What the tiles show the results of ("" for the camera's and the store's produce)."""
        return self._query

    def _prompt(self) -> str:
        return _("Tap your produce, or search by name or by the PLU on the sticker.")

    def _say(self, text: str) -> None:
        """Tell the shopper in the dialog itself, where they are looking."""
        if text == self._said:
            return  # an update re-lays the dialog out: not at every key typed
        self._said = text
        for prompt in self.query("#produce-prompt").results(Static):
            prompt.update(text)

    def on_mount(self) -> None:
        # (a question answered while its screen opens closes it before it is mounted: its
        # widgets may already be gone)
        for hidden in self.query("#produce-keypad, #produce-keyboard"):
            hidden.display = False
        self._fill()

    def _fill(self) -> None:
        grid = next(self.query("#tiles").results(TileGrid), None)
        if grid is None:  # still opening, or already closing
            return
        scores = {} if self._query else self._scores
        grid.show(
            tuple(
                Tile(c, scores.get(c.key, ""), i == self._index) for i, c in enumerate(self._shown)
            )
        )
        grid.scroll_to_tile(self._index)

    def _show(self, query: str) -> None:
        """Tiles for what ``query`` finds (the camera's and the store's produce while empty)."""
        self._query = query
        self._shown = tuple(self._search(query, MAX_TILES)) if query else self._all
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

    def on_tile_grid_chosen(self, event: TileGrid.Chosen) -> None:
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
