"""The screen a cart shows when it cannot start: "Out of service — call staff" and the reason.

``cart run`` shows it instead of the shopper's screen when the profile, the store or the journal
cannot be used (``cart.app.hardware.ProfileError``): a restart would fail the same way, so the
cart stays on this screen (and keeps the watchdog fed: the screen is alive) until staff fix the
configuration and restart the service. No keys do anything here.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cart.common.i18n import N_, _

OUT_OF_SERVICE = N_("Out of service — call staff")


class OutOfServiceApp(App):
    """One message, the reason under it, nothing to press."""

    CSS = """
    Screen { align: center middle; background: #111827; }
    #box { width: 90%; height: auto; border: heavy #ef4444; padding: 1 2; }
    #headline { text-style: bold; color: #ef4444; content-align: center middle; width: 100%; }
    #reason { color: #e5e7eb; margin-top: 1; width: 100%; }
    #hint { color: #9ca3af; margin-top: 1; width: 100%; }
    """
    ENABLE_COMMAND_PALETTE = False
    TITLE = OUT_OF_SERVICE

    def __init__(self, reason: str, *, heartbeat: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.reason = reason
        self.heartbeat = heartbeat

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(_(OUT_OF_SERVICE), id="headline")
            yield Static(self.reason, id="reason", markup=False)
            yield Static(
                _("Staff: fix the configuration in /etc/cart, then: sudo systemctl restart cart"),
                id="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat()
            self.set_interval(1.0, self.heartbeat)
