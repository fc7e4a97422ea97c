"""The screen's widgets. Each renders one part of a :class:`~cart.app.view.CartView`.

All text that came from a device or a catalogue goes through :func:`cart.ui.literal.literal`.
Widgets only render; they never change the basket.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Digits, Static

from cart.app.view import AlertView, CartView, DeviceView, LineView, ScaleView, format_grams
from cart.common.i18n import N_, _
from cart.common.money import Money
from cart.fusion.alerts import AlertKind
from cart.ui.literal import literal, visible

ALERT_ICONS = {
    "place": "⬇",
    AlertKind.PLACE_SCANNED: "⬇",
    "scan": "▦",
    AlertKind.SCAN_ADDED: "▦",
    AlertKind.WHICH_REMOVED: "?",
    AlertKind.UNEXPLAINED_REMOVAL: "?",
    "mismatch": "≠",
    AlertKind.LOOKS_DIFFERENT: "≠",
    "produce": "⚖",
    AlertKind.WEIGH_PRODUCE: "⚖",
    AlertKind.QUANTITY: "×",
    AlertKind.TAKE_OUT: "⬆",
    "age": "ID",
    AlertKind.AGE_CHECK: "ID",
    "error": "!",
}


class BasketHeader(Static):
    """Column titles, laid out by :func:`row_layout` like the lines below."""

    def on_resize(self) -> None:
        # the lines below keep one column for their scrollbar
        self.update(Text(header_row(self.size.width - 1), no_wrap=True), layout=False)


def row_layout(width: int) -> tuple[int, ...]:
    """Column widths (item, qty, price, total, saving) for a row ``width`` cells wide."""
    fixed = (9, 11, 11, 10)  # "0,412 kg", "24,90 kr/kg", "1 234,56 kr", "-199,90 kr"
    item = max(8, width - sum(fixed) - len(fixed) - 2)
    return (item, *fixed)


def _fit(text: str, width: int, right: bool) -> str:
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    pad = " " * (width - cell_len(text))
    return pad + text if right else text + pad


def header_row(width: int) -> str:
    widths = row_layout(width)
    titles = (_("Item"), _("Qty"), _("Price"), _("Total"), _("Saving"))
    cells = [_fit(t, w, i > 0) for i, (t, w) in enumerate(zip(titles, widths, strict=True))]
    return "".join(t for t, _ in _exact([(" " + " ".join(cells), "")], max(width, 0)))


def line_row(
    line: LineView, money: Money, width: int, *, cursor: bool = False
) -> list[tuple[str, str]]:
    """One basket line as (text, style name) pieces exactly ``width`` cells wide; the cursor's
    row starts with ▸ (so it is never shown by colour alone)."""
    w_item, w_qty, w_price, w_total, w_save = row_layout(width)
    name = visible(line.name) + (" · " + visible(line.note) if line.note else "")
    if line.flagged:  # marked in words, not only in colour
        name = "⚑ " + name
    unit = money.format(line.unit_price) + (_("/kg") if line.per_kg else "")
    saving = "-" + money.format(line.savings) if line.savings else ""
    pieces = [
        ("▸" if cursor else " ", ""),
        (_fit(name, w_item, False), "flag" if line.flagged else "name"),
        (" " + _fit(line.quantity, w_qty, True), ""),
        (" " + _fit(unit, w_price, True), ""),
        (" " + _fit(money.format(line.total), w_total, True), "total"),
        (" " + _fit(saving, w_save, True), "saving"),
    ]
    return _exact(pieces, width)


def _exact(pieces: list[tuple[str, str]], width: int) -> list[tuple[str, str]]:
    """Pad or crop (text, style) pieces to exactly ``width`` cells (a very narrow screen loses
    the right-hand columns, never the row)."""
    out, used = [], 0
    for text, style in pieces:
        if used >= width:
            break
        if used + cell_len(text) > width:
            text = set_cell_size(text, width - used)
        out.append((text, style))
        used += cell_len(text)
    if used < width:
        out.append((" " * (width - used), ""))
    return out


class BasketLines(ScrollView, can_focus=True):
    """The basket lines: one cached strip per line, so a change costs one line, whatever the
    basket's size. Up/Down/PageUp/PageDown/Home/End move the cursor; Enter answers the open
    question (handled by the app)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", show=False),
        Binding("pagedown", "cursor(10)", show=False),
        Binding("home", "cursor(-1000000)", show=False),
        Binding("end", "cursor(1000000)", show=False),
        Binding("enter", "select", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "basket--even",
        "basket--odd",
        "basket--cursor",
        "basket--flag",
        "basket--saving",
    }

    class Selected(Message):
        """Enter on the basket."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines: tuple[LineView, ...] = ()
        self.money = Money()
        self.cursor_row = 0
        self._cache: dict[tuple, Strip] = {}

    @property
    def row_count(self) -> int:
        return len(self.lines)

    def row_text(self, index: int) -> str:
        width = max(self.scrollable_content_region.width, 40)
        return "".join(t for t, _ in line_row(self.lines[index], self.money, width))

    def show(self, lines: tuple[LineView, ...], money: Money) -> None:
        if lines == self.lines and money == self.money:
            return
        old = {i for ln in self.lines for i in ln.ids}
        new = [r for r, ln in enumerate(lines) if not old.issuperset(ln.ids)]
        added = new[-1] if new else None
        self.lines, self.money = lines, money
        if len(self._cache) > 4 * len(lines) + 200:
            self._cache.clear()
        self._set_rows(len(lines))
        if added is not None or self.cursor_row >= len(lines):
            # onto the row that changed (a second milk is the milk row's "2"), else the last
            self.cursor_row = max(0, len(lines) - 1) if added is None else added
            self._cursor_into_view()
        self.refresh()

    def _set_rows(self, rows: int) -> None:
        """A new virtual height without a whole-screen layout (only the scrollbar changes)."""
        size = Size(self.scrollable_content_region.width, rows)
        if size == self.virtual_size:
            return
        if not self.container_size:
            self.virtual_size = size  # not laid out yet: the normal path
            return
        shown = self.show_vertical_scrollbar
        self.set_reactive(BasketLines.virtual_size, size)
        self._scroll_update(size)
        if self.show_vertical_scrollbar != shown:
            self.refresh(layout=True)

    def _cursor_into_view(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        y = self.scroll_offset.y
        if self.cursor_row < y:
            y = self.cursor_row
        elif self.cursor_row >= y + height:
            y = self.cursor_row - height + 1
        if y != self.scroll_offset.y:
            self.scroll_to(y=y, animate=False, immediate=True, force=True)

    def action_cursor(self, delta: int) -> None:
        if not self.lines:
            return
        self.cursor_row = max(0, min(len(self.lines) - 1, self.cursor_row + delta))
        self._cursor_into_view()
        self.refresh()

    def action_select(self) -> None:
        self.post_message(self.Selected())

    def relabel(self) -> None:
        """The language changed: every row is rendered again (money is written as the language
        writes it)."""
        self._cache.clear()
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.lines))
        self.call_after_refresh(self._cursor_into_view)

    def render_line(self, y: int) -> Strip:
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self.lines) or width <= 0:
            return Strip.blank(width, self.rich_style)
        line = self.lines[index]
        if index == self.cursor_row and self.has_focus:
            kind = "cursor"
        else:
            kind = "odd" if index % 2 else "even"
        key = (line, self.money, width, kind)
        strip = self._cache.get(key)
        if strip is None:
            base = self.get_component_rich_style(f"basket--{kind}")
            styles = {
                "": base,
                "name": base,
                "total": base + Style(bold=True),
                "flag": base + self.get_component_rich_style("basket--flag", partial=True),
                "saving": base + self.get_component_rich_style("basket--saving", partial=True),
            }
            pieces = line_row(line, self.money, width, cursor=kind == "cursor")
            strip = Strip([Segment(t, styles[s]) for t, s in pieces])
            self._cache[key] = strip
        return strip

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


class _Fixed(Static):
    """A fixed-size panel: re-rendered only when its text changes, with no re-layout."""

    _shown: object = None

    def _set(self, content) -> None:
        key = content.plain if isinstance(content, Text) else content
        if isinstance(content, Text):
            key = (content.plain, tuple(content.spans), str(content.style))
        if key != self._shown:
            self._shown = key
            self.update(content, layout=False)


class Sums(_Fixed):
    def show(self, view: CartView) -> None:
        m, t = view.money, view.totals
        text = Text(no_wrap=True)
        subtotal, savings_, tax_ = _("Subtotal"), _("Savings"), _("Tax")
        text.append(f"{subtotal:<8} {m.format(t.subtotal):>12}\n")
        savings = "-" + m.format(t.savings) if t.savings else m.format(0)
        text.append(f"{savings_:<8} {savings:>12}\n")
        tax = _("incl.") if t.tax_included else "+"
        text.append(f"{tax_} {tax:<5}{m.format(t.tax):>12}")
        self._set(text)


class TotalDigits(Digits):
    """The total in large digits; a currency without a symbol the digits can draw goes in the
    title ("TOTAL SEK")."""

    def show(self, view: CartView) -> None:
        m = view.money
        text = m.format(view.totals.total) if m.symbol else m.number(view.totals.total)
        total = _("TOTAL")
        title = total if m.symbol else f"{total} {m.unit}"
        if text != self.value:
            self.update(text)
        if self.border_title != title:
            self.border_title = title


class ScaleReading(_Fixed):
    def show(self, scale: ScaleView) -> None:
        if scale.grams is None:
            self._set(Text(_("no reading"), style="dim"))
            self.set_class(False, "-moving")
            return
        text = Text(no_wrap=True)
        text.append(format_grams(scale.grams) + "\n", style="bold")
        text.append("● " + _("stable") if scale.stable else "◌ " + _("moving"))
        self._set(text)
        self.set_class(not scale.stable, "-moving")


STATE_MARK = {"connected": "●", "reconnecting": "◐", "disconnected": "○", "error": "✖"}
DEVICE_STATES = {
    "connected": N_("connected"),
    "reconnecting": N_("reconnecting"),
    "disconnected": N_("disconnected"),
    "error": N_("error"),
}
# Counters worth the shopper's or the staff's eye (totals such as "frames" are not).
ERROR_WORDS = (
    "error",
    "reject",
    "gap",
    "overflow",
    "lost",
    "drop",
    "discard",
    "fail",
    "retr",
    "reboot",
    "saturat",
    "overlong",
    "invalid",
    "framing",
    "control",
    "stale",
)


class StatusBar(_Fixed):
    """One entry per device: name, state, and any non-zero error counters."""

    def show(self, devices: tuple[DeviceView, ...], staff: bool) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if staff:
            text.append(" " + _("STAFF") + " ", style="bold reverse")
            text.append(" ")
        if not devices:
            text.append(_("no devices"), style="dim")
        # problems first, so a narrow screen still shows them
        ordered = sorted(devices, key=lambda d: d.state == "connected")
        for i, dev in enumerate(ordered):
            if i:
                text.append("  ")
            style = {"connected": "", "reconnecting": "bold", "error": "bold reverse"}.get(
                dev.state, "bold reverse"
            )
            text.append(f"{STATE_MARK.get(dev.state, '?')} ", style=style)
            text.append_text(literal(dev.name, style=style))
            if dev.state != "connected":
                text.append(" " + _(DEVICE_STATES.get(dev.state, dev.state)), style=style)
                if dev.detail and dev.state == "error":
                    detail = dev.detail if len(dev.detail) <= 32 else dev.detail[:31] + "…"
                    text.append_text(literal(": " + detail, style=style))
            errors = [f"{k}={v}" for k, v in dev.counters if v and any(w in k for w in ERROR_WORDS)]
            if errors:
                text.append_text(literal(" " + ",".join(errors), style="dim"))
        self._set(text)


class AlertBanner(Static):
    """The first open question, with the one action it needs; a tap on it answers it."""

    class Tapped(Message):
        """The shopper tapped the question."""

    def on_click(self, event) -> None:
        event.stop()
        if self.has_class("-alert"):
            self.post_message(self.Tapped())

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
            text.append("  " + _("(+{n} more)").format(n=len(alerts) - 1), style="dim")
        self.update(text)


def alert_hint(alert: AlertView) -> str:
    if alert.staff_only:
        return _("staff will help")
    if alert.kind in ("produce", AlertKind.WEIGH_PRODUCE) or alert.choices:
        return _("tap here to choose")
    return ""
