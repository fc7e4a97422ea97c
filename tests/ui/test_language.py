"""The screen in the shopper's language: Swedish and English through the real runtime, the one
key (touch) that switches, and the next trip back in the store's language."""

from __future__ import annotations

import pytest

from cart.app import actions
from cart.app.stack import build_runtime
from cart.common import i18n
from cart.common.clock import ManualClock
from cart.common.events import Scan, WeightSettled
from cart.store.loading import load_store
from cart.ui.app import CartApp

from .conftest import RecordingBackend, sample_view
from .screen_text import screen_text

MILK = "7310000100147"  # 1580 g, 18.95 SEK


@pytest.fixture(scope="module")
def store():
    return load_store()


async def test_the_language_key_asks_the_runtime_and_names_the_other_language():
    backend = RecordingBackend(sample_view())
    app = CartApp(backend)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "Svenska" in screen_text(app)  # English screen: the key offers Swedish
        await pilot.press("g")
        await pilot.pause()
        assert backend.actions == [actions.ToggleLanguage()]
        # the runtime switched and sent a snapshot in Swedish: the screen follows
        i18n.set_language("sv")
        backend.push(sample_view(seq=5, language="sv"))
        await pilot.pause()
        text = screen_text(app)
        for words in ("Delsumma", "Rabatt", "Moms inkl.", "Summor", "Våg", "Betala", "English"):
            assert words in text, words
        assert "18,36 €" in text and "Subtotal" not in text


async def test_a_trip_in_swedish_then_english_with_one_touch(store):
    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL", language="sv")
    assert i18n.current_language() == "sv" and rt.start_language == "sv"
    app = CartApp(rt)
    async with app.run_test(size=(100, 30)) as pilot:
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), MILK, "]E0", "scanner:hand"))
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 1580.0, 1580.0, 400, 0.5))
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 1880.0, 300.0, 400, 0.5))  # not scanned
        assert rt.wait_idle()
        for _ in range(10):
            await pilot.pause()
        text = screen_text(app)
        assert rt.view.language == "sv"
        assert "Skanna varan du just lade i (300 g)" in text
        assert "18,95 kr" in text and "TOTALT kr" in text and "Delsumma" in text
        assert "Frukt & grönt" in text and "English" in text  # the keys, in Swedish
        await pilot.press("g")
        assert rt.wait_idle()
        for _ in range(10):
            await pilot.pause()
        text = screen_text(app)
        assert rt.view.language == "en"
        assert "Scan the item you just added (300 g)" in text
        assert "SEK 18.95" in text and "Subtotal" in text and "Svenska" in text
        assert "Skanna" not in text and "Delsumma" not in text
    rt.close()


def test_the_next_trip_starts_in_the_start_language(store):
    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL", language="sv")
    with rt:
        rt.start()
        rt.submit(actions.SetLanguage("en"))
        rt.submit(actions.Pay())
        assert rt.wait_idle()
        assert rt.view.receipt is not None and rt.view.language == "en"
        rt.submit(actions.NewTrip())
        assert rt.wait_idle()
        assert rt.view.receipt is None and rt.view.language == "sv"
        # a language the cart does not speak: said on the screen, nothing changes
        rt.submit(actions.SetLanguage("de"))
        assert rt.wait_idle()
        assert rt.view.language == "sv" and "de" in rt.view.message


def test_the_journal_keeps_english_whatever_the_screen_speaks(store, tmp_path):
    from cart.basket.journal import Journal

    path = tmp_path / "j.sqlite"
    clock = ManualClock()
    rt = build_runtime(store, path, clock=clock, synchronous="NORMAL", language="sv")
    with rt:
        rt.start()
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 300.0, 300.0, 400, 0.5))
        assert rt.wait_idle()
        assert rt.view.alerts[0].message == "Skanna varan du just lade i (300 g)"
    with Journal(path, readonly=True) as j:
        session = j.unfinished()
        flags = [e.payload for e in j.events(session.id) if e.kind == "raise_flag"]
    assert flags and flags[0]["message"] == "Scan the item you just added (300 g)"


def test_product_names_in_the_language_where_the_catalogue_gives_them(store):
    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL", language="sv")
    with rt:
        rt.start()
        rt.submit(actions.AddProduce("4011"))  # bananas, chosen on the screen before placing
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 512.0, 512.0, 400, 0.5))
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), MILK, "]E0", "scanner:hand"))  # no Swedish name
        assert rt.wait_idle()
        names = [ln.name for ln in rt.view.lines]
        assert names[0] == "Banan" and names[1] == store.catalog.by_gtin(MILK).name
        assert rt.view.lines[0].quantity.endswith(" kg") and "," in rt.view.lines[0].quantity
        assert [c.label for c in rt.search_products("banan", 5)][:1] == ["Banan"]
        rt.submit(actions.ToggleLanguage())
        assert rt.wait_idle()
        assert rt.view.lines[0].name == "Banana" and "." in rt.view.lines[0].quantity


async def test_the_receipt_in_the_shoppers_language(store):
    from cart.ui.screens import CheckoutScreen

    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL", language="sv")
    app = CartApp(rt)
    async with app.run_test(size=(100, 30)) as pilot:
        rt.submit(actions.AddProduce("4011"))
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 512.0, 512.0, 400, 0.5))
        rt.submit(actions.Pay())
        assert rt.wait_idle()
        text = rt.view.receipt.text
        assert "Banan" in text and "Delsumma" in text and "TOTALT SEK" in text
        assert "Subtotal" not in text
        for _ in range(10):
            await pilot.pause()
        assert isinstance(app.screen, CheckoutScreen)
        assert "Delsumma" in screen_text(app) and "Tack: visa den här koden" in screen_text(app)
        await pilot.press("g")
        assert rt.wait_idle()
        for _ in range(10):
            await pilot.pause()
        assert "Subtotal" in rt.view.receipt.text and "Banana" in rt.view.receipt.text
        text = screen_text(app)
        assert "Subtotal" in text and "Thank you: show this code" in text and "Delsumma" not in text
    rt.close()
