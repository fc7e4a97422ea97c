"""Modal prompts and full screens: picker, produce entry, coupon, staff PIN, staff, check-out."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from cart.app.view import Choice, Receipt
from cart.common.i18n import N_, _
from cart.ui.literal import literal
from cart.ui.qr import qr_text


def choice_option(index: int, choice: Choice, *, numbered: bool = True) -> Option:
    prompt = Text(f"{index}  " if numbered and index <= 9 else "   ")
    prompt.append_text(literal(choice.label, style="bold"))
    if choice.detail:
        prompt.append("  ")
        prompt.append_text(literal(choice.detail, style="dim"))
    return Option(prompt, id=choice.key)


class PickerScreen(ModalScreen[str | None]):
    """Choose one of a few answers (keys 1–9, or arrows and Enter); Escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", N_("Back"))]

    def __init__(self, title: str, prompt: str, choices: tuple[Choice, ...]) -> None:
        super().__init__(classes="prompt")
        self._title = title
        self._prompt = prompt
        self._choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(literal(self._title), classes="dialog-title")
            yield Static(literal(self._prompt), classes="dialog-prompt")
            yield OptionList(
                *(choice_option(i, c) for i, c in enumerate(self._choices, 1)), id="choices"
            )
            yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0 if self._choices else None

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit() and event.character != "0":
            index = int(event.character) - 1
            if index < len(self._choices):
                event.stop()
                self.dismiss(self._choices[index].key)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


class ResultList(OptionList, can_focus=False):
    """The produce screen's list: highlighted with the arrow keys while the typing field keeps
    the focus, so no key typed for a PLU or a name can ever pick from it."""


class ProduceScreen(ModalScreen[str | None]):
    """Produce entry: type a PLU (keypad digits) or part of a name, or move through the list
    (the classifier's top 3 first) with the arrow keys; Enter takes the highlighted product.

    Every character goes to the typing field, which always has the focus: a digit is always part
    of a PLU (PLUs start with any digit: 3017 Conference pears), never a pick from the list, and
    a key pressed while the screen is still opening is kept, not lost. A choice from the list is
    made only with the arrows and Enter (or a tap on it), on the row the screen highlights. A PLU
    typed in full is taken exactly; a partial one is not completed to some other product unless
    the shopper moved the highlight onto it."""

    AUTO_FOCUS = "#query"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", N_("Back")),
        Binding("down", "move(1)", N_("Next"), show=False),
        Binding("up", "move(-1)", N_("Previous"), show=False),
    ]

    def __init__(
        self, suggestions: tuple[Choice, ...], search: Callable[[str, int], list[Choice]]
    ) -> None:
        super().__init__(classes="prompt")
        self._suggestions = suggestions
        self._search = search
        self._query = ""
        self._shown: tuple[Choice, ...] = suggestions
        self._moved = False  # the shopper moved the highlight with the arrows

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Produce: what is on the scale?"), classes="dialog-title")
            yield Static(self._prompt(), id="produce-prompt", classes="dialog-prompt")
            yield Input(
                placeholder=_("PLU or name"), id="query", max_length=40, select_on_focus=False
            )
            yield ResultList(
                *(choice_option(i, c, numbered=False) for i, c in enumerate(self._suggestions, 1)),
                id="results",
            )
            yield Footer()

    def _prompt(self) -> str:
        if self._suggestions:
            return _(
                "Type the PLU from the sticker or part of the name; or ↑↓ and Enter choose from "
                "the list below."
            )
        return _("Type the PLU from the sticker or part of the name.")

    def _say(self, text: str) -> None:
        """Tell the shopper in the dialog itself, where they are looking."""
        for prompt in self.query("#produce-prompt").results(Static):
            prompt.update(text)

    def _show(self, query: str) -> None:
        """List what ``query`` finds (the suggestions while it is empty)."""
        self._query = query
        self._shown = tuple(self._search(query, 8)) if query else self._suggestions
        self._moved = False
        self._say(self._prompt())
        results = self._results()
        if results is None:
            return
        results.clear_options()
        results.add_options(
            [choice_option(i, c, numbered=False) for i, c in enumerate(self._shown, 1)]
        )
        results.highlighted = 0 if self._shown else None

    def on_input_changed(self, event: Input.Changed) -> None:
        self._show(event.value.strip())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        query = event.value.strip()
        if query != self._query:
            self._show(query)  # Enter before the list caught up with the typing
        results = self._results()
        if results is None:
            return
        index = results.highlighted or 0
        if not self._shown:
            self._say(_("No product matches: type the PLU from the sticker or part of the name."))
        elif query.isdigit() and not self._moved and self._shown[index].key != query:
            # a partial or mistyped PLU: never bill the first product that starts with it
            self._say(
                _("No product has the PLU {plu}: type the whole PLU, or choose with ↑↓.").format(
                    plu=query
                )
            )
        else:
            self.dismiss(self._shown[index].key)

    def _results(self) -> OptionList | None:
        """The result list, or None while the screen is still mounting or already closing (the
        question it answers can be replaced at any moment by the cart)."""
        return next(self.query("#results").results(OptionList), None)

    def on_mount(self) -> None:
        results = self._results()
        if self._suggestions and results is not None:
            results.highlighted = 0

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
        results = self._results()
        if results is None or not self._shown:
            return
        if step > 0:
            results.action_cursor_down()
        else:
            results.action_cursor_up()
        self._moved = True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)


class EntryScreen(ModalScreen[str | None]):
    """One line of input (a coupon code, the staff PIN)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", N_("Back"))]

    def __init__(self, title: str, prompt: str, *, password: bool = False, digits: bool = False):
        super().__init__(classes="prompt")
        self._title, self._prompt = title, prompt
        self._password, self._digits = password, digits

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self._title, classes="dialog-title")
            yield Static(self._prompt, classes="dialog-prompt")
            yield Input(
                password=self._password,
                restrict=r"[0-9]*" if self._digits else None,
                max_length=16 if self._digits else 64,
                id="entry",
            )
            yield Footer()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())


class StaffScreen(Screen):
    """Staff mode: every open question and every line, with the actions only staff may take."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "approve", N_("Approve/resolve")),
        Binding("x", "remove_line", N_("Remove line")),
        Binding("tab", "app.focus_next", N_("Switch list"), show=False),
        Binding("l", "logout", N_("Log out")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._ids: dict[str, tuple[int, ...]] = {}  # list selector -> the ids shown, in order

    def compose(self) -> ComposeResult:
        yield Label(" " + _("STAFF MODE") + " ", id="staff-title")
        with Horizontal(id="staff-body"):
            with Vertical():
                yield Label(_("Open questions"))
                yield OptionList(id="staff-alerts")
            with Vertical():
                yield Label(_("Basket lines"))
                yield OptionList(id="staff-lines")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.app.view)

    def show(self, view) -> None:
        alerts = self.query_one("#staff-alerts", OptionList)
        lines = self.query_one("#staff-lines", OptionList)
        keep_a, keep_l = alerts.highlighted, lines.highlighted
        # the options are in the view's order: the highlighted index names the alert or line
        self._ids = {
            "#staff-alerts": tuple(a.alert_id for a in view.alerts),
            "#staff-lines": tuple(ln.line_id for ln in view.lines),
        }
        alerts.clear_options()
        alerts.add_options([Option(literal(f"{a.message} → {a.action}")) for a in view.alerts])
        lines.clear_options()
        lines.add_options(
            [
                Option(literal(f"{ln.name}  {ln.quantity}  {view.money.format(ln.total)}"))
                for ln in view.lines
            ]
        )
        if view.alerts:
            alerts.highlighted = min(keep_a or 0, len(view.alerts) - 1)
        if view.lines:
            lines.highlighted = min(keep_l or 0, len(view.lines) - 1)

    def _selected(self, selector: str) -> int | None:
        """The id of the highlighted alert or line, as the view gave it."""
        options = self.query_one(selector, OptionList)
        ids = self._ids.get(selector, ())
        if options.highlighted is None or not 0 <= options.highlighted < len(ids):
            return None
        return ids[options.highlighted]

    def action_approve(self) -> None:
        alert_id = self._selected("#staff-alerts")
        if alert_id is None:
            self.notify(_("No open question"))
            return
        self.app.staff_resolve(alert_id)

    def action_remove_line(self) -> None:
        line_id = self._selected("#staff-lines")
        if line_id is None:
            self.notify(_("No line selected"))
            return
        self.app.staff_remove_line(line_id)

    def action_logout(self) -> None:
        self.app.staff_logout()


class CheckoutScreen(Screen):
    """The receipt and the exit code for the gate."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.new_trip", N_("Next shopper")),
        Binding("escape", "app.new_trip", N_("Next shopper"), show=False),
    ]

    def __init__(self, receipt: Receipt) -> None:
        super().__init__()
        self.receipt = receipt

    def compose(self) -> ComposeResult:
        yield Label(" " + _("Thank you: show this code at the exit") + " ", id="checkout-title")
        with Horizontal(id="checkout-body"):
            with VerticalScroll(id="receipt"):
                yield Static(literal(self.receipt.text, multiline=True), id="receipt-text")
            with Vertical(id="exit"):
                yield Static(qr_text(self.receipt.exit_code), id="exit-qr")
                yield Static(literal(self.receipt.exit_code), id="exit-code")
                yield Static(id="checkout-note")
        yield Footer(compact=True)

    def note(self, text: str) -> None:
        self.query_one("#checkout-note", Static).update(literal(text))

    def relabel(self, receipt: Receipt | None) -> None:
        """The language changed: the title and the receipt (rendered again by the runtime)."""
        self.query_one("#checkout-title", Label).update(
            " " + _("Thank you: show this code at the exit") + " "
        )
        if receipt is not None:
            self.receipt = receipt
            self.query_one("#receipt-text", Static).update(literal(receipt.text, multiline=True))
