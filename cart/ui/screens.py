"""Modal prompts and full screens: picker, produce entry, coupon, staff PIN, staff, check-out."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from cart.app.view import Choice, Receipt
from cart.common.i18n import N_, _
from cart.ui.language import DYNAMIC
from cart.ui.literal import literal
from cart.ui.produce import ProduceScreen
from cart.ui.qr import qr_text
from cart.ui.touch import ButtonBar, Keys, TouchButton, keyboard, keypad, type_key

__all__ = [
    "CheckoutScreen",
    "EntryScreen",
    "PickerScreen",
    "ProduceScreen",
    "StaffScreen",
    "choice_option",
    "language_button",
]


def choice_option(index: int, choice: Choice, *, numbered: bool = True) -> Option:
    prompt = Text(f"{index}  " if numbered and index <= 9 else "   ")
    prompt.append_text(literal(choice.label, style="bold"))
    if choice.detail:
        prompt.append("  ")
        prompt.append_text(literal(choice.detail, style="dim"))
    return Option(prompt, id=choice.key)


def choice_label(index: int, choice: Choice, *, highlighted: bool = False) -> Text:
    """A choice as a button's words: its number (the key that picks it), name and detail; the
    highlighted one marked ▶ (never by colour alone)."""
    text = Text("▶ " if highlighted else "  ", style="bold")
    text.append(f"{index}  " if index <= 9 else "   ")
    text.append_text(literal(choice.label, style="bold"))
    if choice.detail:
        text.append("  ")
        text.append_text(literal(choice.detail))
    return text


def language_button(id: str) -> TouchButton:  # noqa: A002 - Textual's name for it
    """A prompt's language button: it names the language it switches to, in that language, as
    the main screen's does; the open prompt is said again in it (``CartApp._relabel_prompt``)."""
    return TouchButton(
        words=DYNAMIC["toggle_language"],
        action="app.toggle_language",
        id=id,
        classes="back language",
    )


class PickerScreen(ModalScreen[str | None]):
    """Choose one of a few answers: tap it, or keys 1–9, or arrows and Enter; Back (Escape)
    closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", N_("Back")),
        Binding("down", "move(1)", N_("Next"), show=False),
        Binding("up", "move(-1)", N_("Previous"), show=False),
        Binding("enter", "pick", N_("Choose"), show=False),
        Binding("g", "app.toggle_language", N_("Language"), show=False),
    ]

    def __init__(self, title: str, prompt: str, choices: tuple[Choice, ...]) -> None:
        super().__init__(classes="prompt")
        self._title = title
        self._prompt = prompt
        self._choices = choices
        self._index = 0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(literal(self._title), classes="dialog-title")
            yield Static(literal(self._prompt), classes="dialog-prompt")
            with VerticalScroll(id="choices"):
                for i, c in enumerate(self._choices, 1):
                    yield TouchButton(
                        choice_label(i, c, highlighted=i == 1),
                        name=c.key,
                        id=f"choice-{i}",
                        classes="choice -highlight" if i == 1 else "choice",
                    )
            with Horizontal(classes="prompt-row"):
                yield TouchButton(msgid=N_("Back"), id="picker-back", classes="back")
                yield language_button("picker-language")
            yield Footer()

    def _buttons(self) -> list[TouchButton]:
        return list(self.query(".choice").results(TouchButton))

    def relabel(self, title: str, prompt: str, choices: tuple[Choice, ...]) -> None:
        """The language changed: the question, its action and its answers as the new snapshot
        says them (the same answers, by key; an answer the snapshot lacks keeps its words)."""
        by_key = {c.key: c for c in choices}
        self._title, self._prompt = title, prompt
        self._choices = tuple(by_key.get(c.key, c) for c in self._choices)
        self.query_one(".dialog-title", Label).update(literal(title))
        self.query_one(".dialog-prompt", Static).update(literal(prompt))
        for i, (button, choice) in enumerate(zip(self._buttons(), self._choices, strict=False)):
            button.label = choice_label(i + 1, choice, highlighted=i == self._index)
        self.query_one("#picker-back", TouchButton).relabel()

    def action_move(self, step: int) -> None:
        buttons = self._buttons()
        if not buttons:
            return
        self._index = max(0, min(len(buttons) - 1, self._index + step))
        for i, (button, choice) in enumerate(zip(buttons, self._choices, strict=False)):
            button.label = choice_label(i + 1, choice, highlighted=i == self._index)
            button.set_class(i == self._index, "-highlight")
        buttons[self._index].scroll_visible(animate=False)

    def action_pick(self) -> None:
        if self._index < len(self._choices):
            self.dismiss(self._choices[self._index].key)

    def on_key(self, event) -> None:
        if event.character and event.character.isdigit() and event.character != "0":
            index = int(event.character) - 1
            if index < len(self._choices):
                event.stop()
                self.dismiss(self._choices[index].key)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "picker-back":
            self.dismiss(None)
        elif event.button.has_class("choice"):
            self.dismiss(event.button.name)


class EntryScreen(ModalScreen[str | None]):
    """One line of input (a coupon code, the staff id, the staff PIN), typed on the keys or on
    the on-screen keypad (``digits``) or keyboard; OK (Enter) takes it, Back (Escape) closes.
    The typing field keeps the focus (the on-screen keys cannot take it). ``title`` and
    ``prompt`` are msgids (``N_``), said in the current language, again after a switch."""

    AUTO_FOCUS = "#entry"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", N_("Back"))]

    def __init__(
        self,
        title: str,
        prompt: str,
        *,
        password: bool = False,
        digits: bool = False,
        upper: bool = False,
    ):
        super().__init__(classes="prompt")
        self._title, self._prompt = title, prompt
        self._password, self._digits, self._upper = password, digits, upper

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog entry-dialog" + (" -digits" if self._digits else "")):
            yield Label(_(self._title), classes="dialog-title")
            yield Static(_(self._prompt), classes="dialog-prompt")
            with Horizontal(id="entry-row"):
                yield Input(
                    password=self._password,
                    restrict=r"[0-9]*" if self._digits else None,
                    max_length=16 if self._digits else 64,
                    id="entry",
                )
                yield TouchButton(msgid=N_("Back"), id="entry-back", classes="back")
                yield language_button("entry-language")
            if self._digits:
                yield keypad(id="entry-keys")
            else:
                yield keyboard(upper=self._upper, id="entry-keys")
            yield Footer()

    def relabel(self) -> None:
        """The language changed: its words in the new one (what is typed stays)."""
        self.query_one(".dialog-title", Label).update(_(self._title))
        self.query_one(".dialog-prompt", Static).update(_(self._prompt))
        self.query_one("#entry-back", TouchButton).relabel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.value)

    def _submit(self, value: str) -> None:
        if value.strip():
            self.dismiss(value.strip())

    def on_keys_pressed(self, event: Keys.Pressed) -> None:
        event.stop()
        field = self.query_one("#entry", Input)
        if type_key(field, event.key, upper=self._upper):
            self._submit(field.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "entry-back":
            event.stop()
            self.dismiss(None)


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
        with ButtonBar(classes="button-bar", id="staff-actions"):
            yield TouchButton(
                msgid=N_("Approve/resolve"), action="screen.approve", id="staff-approve"
            )
            yield TouchButton(
                msgid=N_("Remove line"), action="screen.remove_line", id="staff-remove"
            )
            yield TouchButton(msgid=N_("Log out"), action="screen.logout", id="staff-logout")
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
            "#staff-lines": tuple(ln.line_id for ln in view.rows),
        }
        alerts.clear_options()
        alerts.add_options([Option(literal(f"{a.message} → {a.action}")) for a in view.alerts])
        lines.clear_options()
        lines.add_options(
            [
                Option(literal(f"{ln.name}  {ln.quantity}  {view.money.format(ln.total)}"))
                for ln in view.rows
            ]
        )
        if view.alerts:
            alerts.highlighted = min(keep_a or 0, len(view.alerts) - 1)
        if view.rows:
            lines.highlighted = min(keep_l or 0, len(view.rows) - 1)

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
            # the button under the receipt, which scrolls: never pushed off the screen by a
            # signed exit code's QR code (23 rows) and its text
            with Vertical(id="checkout-left"):
                with VerticalScroll(id="receipt"):
                    yield Static(literal(self.receipt.text, multiline=True), id="receipt-text")
                yield TouchButton(
                    msgid=N_("Done: next shopper"), action="app.new_trip", id="next-shopper"
                )
            with Vertical(id="exit"):
                yield Static(qr_text(self.receipt.exit_code), id="exit-qr")
                yield Static(literal(self.receipt.exit_code), id="exit-code")
                yield Static(id="checkout-note")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Large text: the terminal's normal font while the exit code is shown, so that its QR
        code fits (23 rows for a signed code; 75×23 cells in large text) for the gate."""
        if getattr(self.app, "large_text", False):
            from cart.ui.kiosk import request_font_scale

            self.font_scale = 1.0
            request_font_scale(self.app, 1.0)

    def on_unmount(self) -> None:
        if getattr(self, "font_scale", None) is not None and getattr(self.app, "large_text", False):
            from cart.ui.kiosk import request_font_scale

            self.font_scale = self.app.LARGE_TEXT_SCALE
            request_font_scale(self.app, self.app.LARGE_TEXT_SCALE)

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
