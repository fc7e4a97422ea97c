"""The cart's Textual app.

The app renders :class:`~cart.app.view.CartView` snapshots handed to it by a backend (the
runtime) from any thread, through :meth:`CartApp.show_view`, which is thread-safe and never
blocks. Keys become :mod:`cart.app.actions` submitted to the backend; the basket changes only when
the next snapshot arrives. The app never touches a device, the journal or the core.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Protocol

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import ModalScreen
from textual.theme import Theme
from textual.widgets import Label

from cart.app import actions
from cart.app.view import ANSWER_KEYS, CartView, Choice
from cart.common.i18n import N_, _, ngettext
from cart.fusion.alerts import AlertKind
from cart.ui.language import DYNAMIC, relabel_bindings
from cart.ui.leaks import CartFooter, release_render_caches
from cart.ui.literal import literal
from cart.ui.produce import ProduceScreen
from cart.ui.screens import (
    CheckoutScreen,
    EntryScreen,
    PickerScreen,
    StaffScreen,
)
from cart.ui.touch import ButtonBar, TouchButton
from cart.ui.widgets import (
    AlertBanner,
    BasketHeader,
    BasketLines,
    ScaleReading,
    StatusBar,
    Sums,
    TotalDigits,
)

CART_THEME = Theme(
    name="cart",
    primary="#3b82f6",
    secondary="#14b8a6",
    accent="#f59e0b",
    warning="#f59e0b",
    error="#ef4444",
    success="#22c55e",
    foreground="#e5e7eb",
    background="#111827",
    surface="#1f2937",
    panel="#263244",
    dark=True,
)

# Pure black and white with saturated yellow for what needs attention: 21:1 text contrast.
HIGH_CONTRAST_THEME = Theme(
    name="cart-high-contrast",
    primary="#ffff00",
    secondary="#00ffff",
    accent="#ffff00",
    warning="#ffff00",
    error="#ff5555",
    success="#00ff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#000000",
    boost="#ffffff",
    dark=True,
    luminosity_spread=0.0,
    text_alpha=1.0,
)


LARGE_TEXT_SCALE = 1.4  # the kiosk font's scale in large-text mode: 106×33 cells become 75×23

# Alerts answered on the produce screen, and alerts whose picker opens by itself.
PRODUCE_KINDS = frozenset({"produce", AlertKind.WEIGH_PRODUCE})
AUTO_OPEN_KINDS = frozenset({AlertKind.WHICH_REMOVED, "produce", AlertKind.WEIGH_PRODUCE})


class Backend(Protocol):
    """What the app needs from the runtime."""

    def attach(self, listener: Callable[[CartView], None]) -> None:
        """Start delivering snapshots to ``listener`` (from any thread)."""

    def submit(self, action: actions.ScreenAction) -> None:
        """Queue a shopper or staff action; never blocks."""

    def search_products(self, query: str, limit: int) -> list[Choice]:
        """Products matching a PLU or part of a name (in-memory; no I/O)."""

    def close(self) -> None: ...


class CartApp(App):
    """The shopper's screen."""

    CSS_PATH = Path(__file__).with_name("cart.tcss")  # also for subclasses in other folders
    LARGE_TEXT_SCALE = LARGE_TEXT_SCALE
    TITLE = "Smart cart"
    ENABLE_COMMAND_PALETTE = False

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "answer", N_("Answer"), show=False),
        Binding("p", "produce", N_("Produce")),
        Binding("c", "coupon", N_("Coupon")),
        Binding("k", "checkout", N_("Pay")),
        Binding("s", "staff", N_("Staff")),
        Binding("g", "toggle_language", N_("Language")),
        Binding("f2", "toggle_contrast", N_("Contrast")),
        Binding("f3", "toggle_large_text", N_("Large text"), show=False),
    ]

    class ViewUpdated(Message):
        """A new snapshot is waiting (posted from the runtime's thread)."""

    def __init__(
        self, backend: Backend, *, high_contrast: bool = False, large_text: bool = False
    ) -> None:
        super().__init__()
        self.backend = backend
        self.view = CartView()
        self._latest: CartView | None = None
        self._pending = False
        self._seen_alerts: set[str] = set()
        self._parts: tuple = ()
        self.view_shown: Callable[[CartView], None] | None = None  # after the screen refreshed
        self.heartbeat: Callable[[], None] | None = None  # each second while the app runs
        self.register_theme(CART_THEME)
        self.register_theme(HIGH_CONTRAST_THEME)
        self.theme = HIGH_CONTRAST_THEME.name if high_contrast else CART_THEME.name
        self.large_text = large_text
        self._produce_screen: ProduceScreen | None = None  # installed at its first opening

    # ---- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Label(id="title")
        yield AlertBanner(id="alert")
        yield BasketHeader(id="basket-header")
        yield BasketLines(id="basket")
        with Horizontal(id="bottom"):
            yield Sums(id="sums")
            yield ScaleReading(id="scale")
            yield TotalDigits("0.00", id="total")
        with ButtonBar(id="actions", classes="button-bar"):
            yield from self.compose_buttons()
        yield from self.compose_bars()
        yield StatusBar(id="status")
        yield CartFooter(compact=True)

    def compose_buttons(self) -> ComposeResult:
        """The shopper's touch actions (each also a key, for staff and development)."""
        for action, msgid in (
            ("produce", N_("Produce")),
            ("coupon", N_("Coupon")),
            ("checkout", N_("Pay")),
            ("staff", N_("Staff")),
            ("toggle_language", None),
            ("toggle_contrast", N_("Contrast")),
            ("toggle_large_text", N_("Text size")),
        ):
            yield TouchButton(
                msgid=msgid,
                # the language button names the language it switches to, in that language
                words=DYNAMIC[action] if msgid is None else None,
                action=f"app.{action}",
                id=f"do-{action.replace('_', '-')}",
            )

    def compose_bars(self) -> ComposeResult:
        """Extra one-line bars above the status bar (the demo adds the shopper's hands)."""
        return iter(())

    def on_mount(self) -> None:
        self._titles()
        relabel_bindings(self)
        self._parts = (
            self.query_one("#title", Label),
            self.query_one(AlertBanner),
            self.query_one(BasketLines),
            self.query_one(Sums),
            self.query_one(TotalDigits),
            self.query_one(ScaleReading),
            self.query_one(StatusBar),
        )
        self._render_view(self.view)
        self.query_one(BasketLines).focus()
        self.set_class(self.large_text, "-large-text")
        self.backend.attach(self.show_view)
        if self.heartbeat is not None:  # the screen's beat for the watchdog (cart.app.watchdog)
            self.heartbeat()
            self.set_interval(1.0, self.heartbeat)
        # Everything built so far (libraries, widgets, catalogue) lives as long as the cart:
        # keep it out of the cyclic collector's full passes, which otherwise stall the screen
        # for tens of milliseconds on a Pi.
        self.call_after_refresh(gc.freeze)

    def on_unmount(self) -> None:
        self.backend.close()
        gc.unfreeze()

    # ---- snapshots -------------------------------------------------------------------------
    def show_view(self, view: CartView) -> None:
        """Hand the app a new snapshot. Thread-safe, non-blocking; bursts collapse to the last."""
        self._latest = view
        if not self._pending:
            self._pending = True
            self.post_message(self.ViewUpdated())

    def on_cart_app_view_updated(self, _message: ViewUpdated) -> None:
        self._pending = False
        view = self._latest
        if view is None or view is self.view or not self._parts[0].is_attached:
            return  # nothing new, or the app is shutting down
        self._render_view(view)

    def _render_view(self, view: CartView) -> None:
        previous, self.view = self.view, view
        title = literal(view.store, style="bold")
        rows = view.rows
        lines = ngettext("{n} line", "{n} lines", len(rows)).format(n=len(rows))
        title.append(f"   {lines}")
        if view.coupons:
            title.append("   " + _("coupons: {n}").format(n=len(view.coupons)))
        label, banner, basket, sums, total, scale, status = self._parts
        if view.language != previous.language:
            self._relabel()
        if title.plain != getattr(label, "_plain", None):
            label._plain = title.plain
            label.update(title, layout=False)
        banner.show(view.alerts, view.message)
        basket.show(rows, view.money)
        sums.show(view)
        total.show(view)
        scale.show(view.scale)
        status.show(view.devices, view.staff)
        self._follow_mode(previous, view)
        if self.view_shown is not None:
            callback = self.view_shown
            self.call_after_refresh(callback, view)

    def _follow_mode(self, previous: CartView, view: CartView) -> None:
        """Open or close screens that the snapshot calls for."""
        if isinstance(self.screen, StaffScreen):
            if view.staff:
                self.screen.show(view)
            else:
                self.pop_screen()
        elif view.staff and not previous.staff:
            self.push_screen(StaffScreen())
        # A prompt whose question was settled meanwhile (by the scale, a scan or staff) closes,
        # unless that question was asked again under a new id (the weight changed again).
        if getattr(self.screen, "answers_kinds", None) and self._current(self.screen) is None:
            self.screen.dismiss(None)
        if view.receipt is not None and previous.receipt is None:
            self.push_screen(CheckoutScreen(view.receipt))
            return
        if isinstance(self.screen, CheckoutScreen):
            if view.receipt is None:
                self.pop_screen()  # a new trip has started
                self._seen_alerts = set()
                release_render_caches()  # of the trip's screens, now gone (cart.ui.leaks)
            else:
                self.screen.note(view.message)
        # A question that has a picker opens it by itself, once, when nothing else is open.
        new = [a for a in view.alerts if a.alert_id not in self._seen_alerts]
        self._seen_alerts = {a.alert_id for a in view.alerts}
        if (
            new
            and len(self.screen_stack) == 1
            and not new[0].staff_only
            and new[0].kind in AUTO_OPEN_KINDS
        ):
            self._open_alert(new[0])

    SHOPPER_ACTIONS = frozenset({"answer", "produce", "coupon", "checkout", "staff"})
    DEMO_ACTIONS = frozenset({"take", "scan", "place", "remove", "push", "autoplay"})

    def check_action(self, action: str, parameters) -> bool | None:
        """No shopping keys on the receipt; only staff keys in staff mode."""
        if isinstance(self.screen, CheckoutScreen):
            return action not in self.SHOPPER_ACTIONS | self.DEMO_ACTIONS
        if isinstance(self.screen, StaffScreen):
            return action not in self.SHOPPER_ACTIONS
        return True

    # ---- shopper actions -------------------------------------------------------------------
    def on_alert_banner_tapped(self, event) -> None:
        """A tap on the question's banner answers it, as Enter does."""
        event.stop()
        self.action_answer()

    def on_basket_lines_selected(self, event) -> None:
        """Enter on the basket (which has the focus) answers the open question."""
        event.stop()
        self.action_answer()

    def action_answer(self) -> None:
        """The first question the shopper can answer (one staff must see waits for them)."""
        if not self.view.alerts:
            return
        alert = next((a for a in self.view.alerts if not a.staff_only), self.view.alerts[0])
        if alert.staff_only:
            self.notify(_("Staff will come to help you"), severity="warning")
        elif alert.choices or alert.kind in PRODUCE_KINDS:
            self._open_alert(alert)
        else:
            self.notify(alert.action)

    def _asks(self, prompt, alert_id: int, kinds) -> None:
        """Mark ``prompt`` as the answer to question ``alert_id`` (of one of ``kinds``)."""
        prompt.answers_id = alert_id
        prompt.answers_kinds = frozenset(kinds)
        prompt.answers_known = frozenset(a.alert_id for a in self.view.alerts)

    def _current(self, prompt) -> int | None:
        """The open question ``prompt`` answers: its own, or, when that one was asked again
        under a new id while the prompt was open (the weight changed again), the new one of
        its kinds. Never another question that was already open beside it (another scan's
        "put it in the cart": a "cancel" meant for one scan must not cancel another); None when
        its question is settled."""
        ids = [a.alert_id for a in self.view.alerts]
        if prompt.answers_id in ids:
            return prompt.answers_id
        asked_again = [
            a.alert_id
            for a in self.view.alerts
            if a.kind in prompt.answers_kinds and a.alert_id not in prompt.answers_known
        ]
        return asked_again[-1] if asked_again else None

    def _open_alert(self, alert) -> None:
        if alert.kind in PRODUCE_KINDS:
            self._open_produce(alert.alert_id, alert.choices)
            return

        def answered(choice: str | None) -> None:
            if choice is not None:
                alert_id = self._current(picker)
                if alert_id is None:
                    self.notify(_("That question is already answered"))
                else:
                    self.backend.submit(actions.Answer(alert_id, choice))
                if choice == "staff":  # staff come to the cart: their PIN opens staff mode
                    self.action_staff()

        picker = PickerScreen(alert.message, alert.action, alert.choices)
        self._asks(picker, alert.alert_id, {alert.kind})
        self.push_screen(picker, answered)

    def _open_produce(
        self, alert_id: int | None = None, suggestions: tuple[Choice, ...] = ()
    ) -> None:
        def chosen(key: str | None) -> None:
            if key is None:
                return
            answering = None if alert_id is None else self._current(screen)
            if alert_id is not None and answering is None:
                self.notify(_("That question is already answered"))
            elif answering is not None and key in ANSWER_KEYS:  # "my own item", not a product
                self.backend.submit(actions.Answer(answering, key))
            else:
                self.backend.submit(actions.AddProduce(key, answering))

        screen = self._produce_screen
        if screen is None or screen in self.screen_stack:  # (one open already: a second one)
            screen = ProduceScreen(
                suggestions,
                self.backend.search_products,
                getattr(self.backend, "produce_products", None),
            )
            if self._produce_screen is None:
                # one produce screen for the cart's life, refilled at each opening: building it
                # is most of the cost of a tap on Produce
                self._produce_screen = screen
                self.install_screen(screen, "produce")
        else:
            screen.refill(suggestions)
        if alert_id is not None:
            self._asks(screen, alert_id, PRODUCE_KINDS | {AlertKind.SCAN_ADDED})
        else:
            screen.answers_id = screen.answers_kinds = screen.answers_known = None
        self.push_screen(screen, chosen)

    def action_produce(self) -> None:
        alert = next(
            (a for a in self.view.alerts if a.kind in PRODUCE_KINDS | {AlertKind.SCAN_ADDED}), None
        )
        if alert is not None:
            self._open_produce(alert.alert_id, alert.choices or self.view.suggestions)
        else:
            self._open_produce(None, self.view.suggestions)

    def action_coupon(self) -> None:
        def entered(code: str | None) -> None:
            if code:
                self.backend.submit(actions.EnterCoupon(code))

        self.push_screen(
            EntryScreen(N_("Coupon"), N_("Scan the coupon or type its code."), upper=True), entered
        )

    def action_staff(self) -> None:
        if self.view.staff:
            self.push_screen(StaffScreen())
            return

        def ask_pin(staff_id: str = "") -> None:
            def entered(pin: str | None) -> None:
                if pin:
                    self.backend.submit(actions.EnterStaffPin(pin, staff_id))

            pin_screen = EntryScreen(N_("Staff"), N_("Staff PIN:"), password=True, digits=True)
            self.push_screen(pin_screen, entered)

        if not getattr(self.backend, "staff_named", False):
            ask_pin()  # one PIN shared by the store's staff
            return

        def identified(staff_id: str | None) -> None:
            if staff_id and staff_id.strip():
                ask_pin(staff_id.strip())

        self.push_screen(EntryScreen(N_("Staff"), N_("Staff ID:")), identified)

    def action_checkout(self) -> None:
        if self.view.alerts:
            self.notify(_("Please answer the open question first"), severity="warning")
            return
        self.backend.submit(actions.Pay())

    def action_toggle_language(self) -> None:
        """One touch: the next language (the runtime switches it; the next snapshot, in it,
        re-renders the screen)."""
        self.backend.submit(actions.ToggleLanguage())

    def _titles(self) -> None:
        self.query_one("#sums").border_title = _("Totals")
        self.query_one("#scale").border_title = _("Scale")

    def _relabel(self) -> None:
        """The screen's own words in the view's language: titles, column heads, the cached
        basket rows (money is written as the language writes it), key descriptions."""
        self._titles()
        self.query_one(BasketHeader).on_resize()
        self.query_one(BasketLines).relabel()
        for screen in self.screen_stack:
            relabel_bindings(screen)
            if isinstance(screen, ModalScreen):
                self._relabel_prompt(screen)
                continue
            for button in screen.query(TouchButton).results(TouchButton):
                button.relabel()
            for bar in screen.query(ButtonBar).results(ButtonBar):
                bar.fit()
            if isinstance(screen, CheckoutScreen):
                screen.relabel(self.view.receipt)
        relabel_bindings(self)
        self.refresh_bindings()

    def _relabel_prompt(self, prompt: ModalScreen) -> None:
        """An open prompt in the view's language: its own words, and the question it answers
        (its message, action and answers) as the new snapshot says them."""
        if not prompt.is_mounted:
            return
        for button in prompt.query(TouchButton).results(TouchButton):
            button.relabel()  # (an answer's button has its words as given: kept)
        answering = self._current(prompt) if getattr(prompt, "answers_kinds", None) else None
        alert = next((a for a in self.view.alerts if a.alert_id == answering), None)
        if isinstance(prompt, PickerScreen):
            if alert is not None:
                prompt.relabel(alert.message, alert.action, alert.choices)
        elif isinstance(prompt, ProduceScreen):
            prompt.relabel(alert.choices if alert is not None and alert.choices else None)
        elif isinstance(prompt, EntryScreen):
            prompt.relabel()

    def push_screen(self, screen, *args, **kwargs):
        """Every screen opens with its keys described in the current language."""
        if not isinstance(screen, str):
            relabel_bindings(screen)
        return super().push_screen(screen, *args, **kwargs)

    def action_toggle_contrast(self) -> None:
        self.theme = (
            CART_THEME.name if self.theme == HIGH_CONTRAST_THEME.name else HIGH_CONTRAST_THEME.name
        )

    def action_toggle_large_text(self) -> None:
        """Large text: the kiosk's terminal draws a larger font (the screen then has fewer,
        larger cells and lays itself out again; ``cart.ui.kiosk``), and the screen's own
        emphasis grows."""
        self.large_text = not self.large_text
        self.set_class(self.large_text, "-large-text")
        from cart.ui.kiosk import request_font_scale

        request_font_scale(self, LARGE_TEXT_SCALE if self.large_text else 1.0)

    def action_new_trip(self) -> None:
        """Check-out screen: the next shopper (the engine waits for an empty cart)."""
        self.backend.submit(actions.NewTrip())

    # ---- staff actions (called by StaffScreen) ---------------------------------------------
    def staff_resolve(self, alert_id: int) -> None:
        self.backend.submit(actions.ResolveAlert(alert_id))

    def staff_remove_line(self, line_id: int) -> None:
        self.backend.submit(actions.StaffRemoveLine(line_id))

    def staff_logout(self) -> None:
        self.backend.submit(actions.LeaveStaffMode())
