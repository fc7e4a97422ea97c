"""Trips in a row leave nothing behind on the screen: the check-out screens, the keys the
footer rebuilt and the render caches of widgets that are gone are all let go
(``cart bench soak``; ``cart.ui.leaks``). Counted, not timed: live objects, not RSS."""

from __future__ import annotations

from typing import ClassVar

import pytest
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Label

from cart.bench.soak import run
from cart.ui.leaks import CartFooter, release_render_caches


class _Prompt(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "app.pop_screen", "Close")]

    def compose(self):
        yield Label("a prompt")


class _LongLived(App):
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "one", "One"),
        Binding("b", "two", "Two"),
    ]

    def action_one(self) -> None:
        pass

    def action_two(self) -> None:
        pass

    def compose(self):
        yield Label("basket")
        yield CartFooter(compact=True)


def _watchers(widget) -> int:
    return sum(len(v) for v in getattr(widget, "__watchers", {}).values())


async def test_the_footer_keeps_no_key_it_replaced():
    app = _LongLived()
    async with app.run_test(size=(60, 10)) as pilot:
        footer = app.query_one(CartFooter)
        await pilot.pause()
        first = _watchers(footer)
        assert first >= 2  # the keys shown are bound to the footer
        for _ in range(15):  # each screen opened and closed rebuilds the keys
            app.push_screen(_Prompt())
            await pilot.pause()
            await pilot.press("x")
            await pilot.pause()
        assert _watchers(footer) == first
        keys = [w for w in footer.children if w.is_attached]
        assert _watchers(footer) == len(keys)


async def test_released_render_caches_are_empty():
    from textual._styles_cache import StylesCache

    app = _LongLived()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        assert StylesCache.get_inner_outer.cache_info().currsize > 0
        release_render_caches()
        assert StylesCache.get_inner_outer.cache_info().currsize == 0
        app.refresh()
        await pilot.pause()  # the live widgets render again
        assert "basket" in str(app.query_one(Label).render())


@pytest.mark.slow
def test_paid_trips_in_a_row_keep_no_screen_alive():
    r = run(6, warmup=2, synchronous="NORMAL")
    assert r["trips"] == 6 and r["engine_errors"] == 0
    live = r["live"]  # [first trip paid, after the warm-up, at the end]
    assert live["screen_stack"] == [1, 1, 1]
    assert live["checkout_screens_alive"][1:] == [0, 0]
    assert live["dom_nodes_detached"][1:] == [0, 0]
    _, warm, end = live["dom_nodes"]
    assert end == warm  # the basket screen's widgets, no more
    assert live["footer_watchers"][2] == live["footer_watchers"][1]
    assert live["render_memo_entries"][2] <= live["render_memo_entries"][1] + 64
