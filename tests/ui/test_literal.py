"""Device and catalogue text is shown literally."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cart.ui.literal import literal, visible
from cart.ui.qr import qr_matrix, qr_text


def test_markup_is_kept_as_text():
    assert literal("[bold]x[/bold]").plain == "[bold]x[/bold]"
    assert literal("[bold]x[/bold]").spans == []


def test_escape_sequences_become_visible():
    assert visible("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert visible("a\nb") == "a\\x0ab"
    assert visible("a\nb\x07", multiline=True) == "a\nb\\x07"
    assert visible("\x9b2J") == "\\x9b2J"  # C1 CSI


@given(st.text())
def test_no_control_character_survives(value):
    shown = visible(value)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)
    # printable text is unchanged
    if all(c.isprintable() and not (0x7F <= ord(c) <= 0x9F) for c in value):
        assert shown == value


def test_qr_matrix_has_quiet_zone_and_finder_patterns():
    m = qr_matrix("CART1:S-1:100", quiet_zone=2)
    assert len(m) == len(m[0]) >= 25
    assert not any(m[0]) and not any(m[1]) and not any(row[0] for row in m)
    assert all(m[2][2:9])  # top edge of the top-left finder pattern
    lines = qr_text("CART1:S-1:100").plain.split("\n")
    assert len(lines) == (len(m) + 1) // 2 and {len(ln) for ln in lines} == {len(m)}


@given(
    st.text(max_size=120),
    st.text(max_size=30),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=40, max_value=200),
)
def test_a_basket_row_is_exactly_the_screen_width(name, note, amount, width):
    """Any product name (wide characters, emoji, controls, markup) fits its row exactly."""
    from rich.cells import cell_len

    from cart.app.view import LineView
    from cart.common.money import Money
    from cart.ui.widgets import header_row, line_row

    line = LineView(1, name, "1", amount, False, amount, amount // 3, note=note)
    row = line_row(line, Money("SEK", 2), width)
    assert sum(cell_len(text) for text, _ in row) == width
    assert not any(ord(c) < 0x20 for text, _ in row for c in text)
    assert cell_len(header_row(width)) <= width
