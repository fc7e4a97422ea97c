"""The screen's widgets. Each renders one part of a :class:`~cart.ui.view.CartView`.

All text that came from a device or a catalogue goes through :func:`cart.ui.literal.literal`.
Widgets only render; they never change the basket.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable, Digits, Static

from cart.ui.literal import literal
from cart.ui.view import AlertView, CartView, DeviceView, LineView, Money, ScaleView, format_grams

COLUMNS = (
    ("item", "Item"),
    ("qty", "Qty"),
    ("price", "Price"),
    ("total", "Total"),
    ("save", "Saving"),
)

ALERT_ICONS = {
    "place": "⬇",
    "scan": "▦",
    "which_removed": "?",
    "mismatch": "≠",
    "produce": "⚖",
    "age": "ID",
    "error": "!",
}


def line_cells(line: LineView, money: Money) -> tuple[Text, ...]:
    name = literal(line.name)
    if line.note:
        name.append(" · ")
        name.append_text(literal(line.note, style="italic"))
    if line.flagged:
        name.stylize("bold reverse")
    unit = money.format(line.unit_price) + ("/kg" if line.per_kg else "")
    return (
        name,
        Text(line.quantity, justify="right"),
        Text(unit, justify="right"),
        Text(money.format(line.total), justify="right"),
        Text("-" + money.format(line.savings) if line.savings else "", justify="right"),
    )


class BasketTable(DataTable):
    """The basket lines. Updates by line id, so a 200-line basket costs one row per change."""

    DEFAULT_CSS = ""

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._shown: dict[str, LineView] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(Text(label, justify="left" if key == "item" else "right"), key=key)

    def show(self, lines: tuple[LineView, ...], money: Money) -> None:
        new_order = [line.line_id for line in lines]
        new = {line.line_id: line for line in lines}
        for gone in [k for k in self._order if k not in new]:
            self.remove_row(gone)
            del self._shown[gone]
        kept = [k for k in self._order if k in new]
        if kept != new_order[: len(kept)]:
            self.clear()
            self._shown.clear()
            kept = []
        self._order = kept
        for key in kept:
            if self._shown[key] != new[key]:
                for (column, _), cell in zip(COLUMNS, line_cells(new[key], money), strict=True):
                    self.update_cell(key, column, cell)
                self._shown[key] = new[key]
        added = new_order[len(kept) :]
        for key in added:
            self.add_row(*line_cells(new[key], money), key=key)
            self._shown[key] = new[key]
            self._order.append(key)
        if added:
            self.move_cursor(row=len(self._order) - 1)


class Sums(Static):
    def show(self, view: CartView) -> None:
        m, t = view.money, view.totals
        text = Text(no_wrap=True)
        text.append(f"Subtotal {m.format(t.subtotal):>12}\n")
        text.append(f"Savings  {'-' + m.format(t.savings) if t.savings else m.format(0):>12}\n")
        tax = "incl." if t.tax_included else "+"
        text.append(f"Tax {tax:<5}{m.format(t.tax):>12}")
        self.update(text)


class TotalDigits(Digits):
    def show(self, view: CartView) -> None:
        self.update(view.money.format(view.totals.total))


class ScaleReading(Static):
    def show(self, scale: ScaleView) -> None:
        if scale.grams is None:
            self.update(Text("no reading", style="dim"))
            self.set_class(False, "-moving")
            return
        text = Text(no_wrap=True)
        text.append(format_grams(scale.grams) + "\n", style="bold")
        text.append("● stable" if scale.stable else "◌ moving")
        self.update(text)
        self.set_class(not scale.stable, "-moving")


STATE_MARK = {"connected": "●", "reconnecting": "◐", "disconnected": "○", "error": "✖"}


class StatusBar(Static):
    """One entry per device: name, state, and any non-zero error counters."""

    def show(self, devices: tuple[DeviceView, ...], staff: bool) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if staff:
            text.append(" STAFF ", style="bold reverse")
            text.append(" ")
        if not devices:
            text.append("no devices", style="dim")
        for i, dev in enumerate(devices):
            if i:
                text.append("  ")
            style = {"connected": "", "reconnecting": "bold", "error": "bold reverse"}.get(
                dev.state, "bold reverse"
            )
            text.append(f"{STATE_MARK.get(dev.state, '?')} ", style=style)
            text.append_text(literal(dev.name, style=style))
            if dev.state != "connected":
                text.append(f" {dev.state}", style=style)
            errors = [f"{k}={v}" for k, v in dev.counters if v]
            if errors:
                text.append_text(literal(" " + ",".join(errors), style="dim"))
        self.update(text)


class AlertBanner(Static):
    """The first open question, with the one action it needs and the key that does it."""

    def show(self, alerts: tuple[AlertView, ...], message: str) -> None:
        if not alerts:
            self.display = bool(message)
            self.set_class(False, "-alert")
            if message:
                self.update(literal(message))
            return
        alert = alerts[0]
        self.display = True
        self.set_class(True, "-alert")
        text = Text()
        text.append(f" {ALERT_ICONS.get(alert.kind, '!')} ", style="bold reverse")
        text.append(" ")
        text.append_text(literal(alert.message, style="bold"))
        text.append("\n → ")
        text.append_text(literal(alert.action))
        hint = alert_hint(alert)
        if hint:
            text.append(f"  [{hint}]", style="italic")
        if len(alerts) > 1:
            text.append(f"  (+{len(alerts) - 1} more)", style="dim")
        self.update(text)


def alert_hint(alert: AlertView) -> str:
    if alert.staff_only:
        return "S: staff"
    if alert.kind == "produce" or alert.choices:
        return "Enter: choose"
    return ""
