"""The demo's screen: the cart's screen plus the simulated shopper's hands (a bar above the
status line, keys to take, scan, place and remove items, push the cart and autoplay)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Label

from cart.app import actions
from cart.app.view import Choice
from cart.ui.app import Backend, CartApp
from cart.ui.literal import literal
from cart.ui.screens import PickerScreen


class _ShowAgain:
    """The demo's backend: "show it to the camera again" also has the simulated shopper hold the
    item up to the simulated camera. Everything else goes to the runtime unchanged."""

    def __init__(self, backend, world) -> None:
        self._backend = backend
        self._world = world

    def submit(self, action):
        seq = self._backend.submit(action)
        if isinstance(action, actions.Answer) and action.choice == "show_again":
            self._world.show()
        return seq

    def __getattr__(self, name):
        return getattr(self._backend, name)


class DemoApp(CartApp):
    """The cart's screen plus the demo shopper's hands (a bar above the status line)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "take", "Take"),
        Binding("n", "scan", "Scan"),
        Binding("l", "place", "Place"),
        Binding("r", "remove", "Remove"),
        Binding("u", "push", "Push"),
        Binding("o", "autoplay", "Auto"),
        Binding("f2", "toggle_contrast", "Contrast", show=False),  # room for the demo keys
    ]

    def __init__(
        self, backend: Backend, world, *, high_contrast: bool = False, autoplay: bool = False
    ) -> None:
        super().__init__(_ShowAgain(backend, world), high_contrast=high_contrast)
        self.world = world
        self._autoplay_at_start = autoplay

    class WorldChanged(Message):
        """The shopper's hands or the cart changed (posted from the world's thread)."""

    def compose_bars(self) -> ComposeResult:
        yield Label(id="demo-bar")

    def on_mount(self) -> None:
        super().on_mount()
        self._demo_bar = self.query_one("#demo-bar", Label)
        self.world.listeners.append(lambda: self.post_message(self.WorldChanged()))
        self._show_world()
        if self._autoplay_at_start:
            self.world.set_autoplay(True)

    def on_demo_app_world_changed(self, _message) -> None:
        self._show_world()

    def _show_world(self) -> None:
        w = self.world
        text = literal("DEMO ", style="bold reverse")
        text.append(" hand: ")
        text.append_text(literal(w.hand.name if w.hand else "empty", style="bold"))
        text.append(f"  cart: {len(w.cart)}  ")
        text.append_text(literal(w.note, style="italic"))
        if self._demo_bar.is_attached:  # not while the app shuts down
            self._demo_bar.update(text, layout=False)

    def action_take(self) -> None:
        choices = tuple(
            Choice(s.product_id, s.name, "produce" if s.produce else s.code)
            for s in self.world.shelf
        )

        def taken(product_id: str | None) -> None:
            if product_id:
                self.world.take(product_id)

        self.push_screen(PickerScreen("Shelf", "Take which item?", choices), taken)

    def action_scan(self) -> None:
        self.world.scan()

    def action_place(self) -> None:
        self.world.place()

    def action_remove(self) -> None:
        if not self.world.cart:
            self.notify("The cart is empty")
            return
        choices = tuple(
            Choice(c.item_id, c.shelf.name, f"{c.grams:.0f} g") for c in self.world.cart
        )

        def chosen(item_id: str | None) -> None:
            if item_id:
                self.world.remove(item_id)

        self.push_screen(PickerScreen("Cart", "Take which item out?", choices), chosen)

    def action_push(self) -> None:
        self.world.push()

    def action_new_trip(self) -> None:
        """The shopper leaves with the goods: the demo unloads the cart, then the next trip."""
        self.world.unload_then(lambda: self.backend.submit(actions.NewTrip()))

    def action_autoplay(self) -> None:
        self.world.set_autoplay(not self.world.autoplay)
