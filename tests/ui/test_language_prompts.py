"""The shopper's language beyond the main screen's words, through the real runtime and screen:
why a code is refused, money inside a sentence, promotion and coupon names, and a prompt that
is open when the shopper switches."""

from __future__ import annotations

import pytest

from cart.app import actions
from cart.app.stack import build_runtime
from cart.common import i18n
from cart.common.clock import ManualClock
from cart.common.events import Scan, WeightSettled
from cart.store.loading import load_store
from cart.ui.app import CartApp
from cart.ui.produce import ProduceScreen, TileGrid
from cart.ui.screens import CheckoutScreen, EntryScreen, PickerScreen

from .screen_text import screen_text

COUPON_200 = "9900000200022"  # 20.00 off when you spend 200.00
YOGGI = "7310000100307"  # 1045 g, Yoggi 3 for 2


@pytest.fixture(scope="module")
def store():
    return load_store()


@pytest.fixture
def runtime(store):
    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL", language="sv")
    rt.clock = clock
    yield rt
    rt.close()
    i18n.set_language("en")


async def settle(pilot, rt) -> None:
    assert rt.wait_idle()
    for _ in range(10):
        await pilot.pause()


async def test_why_a_code_is_refused_is_on_the_screen_in_the_shoppers_language(runtime):
    rt, clock = runtime, runtime.clock
    app = CartApp(rt)
    async with app.run_test(size=(106, 33)) as pilot:
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), "12", "]E1", "scanner:hand"))  # an add-on alone
        await settle(pilot, rt)
        said = "Den här koden säljs inte här: en EAN-tilläggskod ensam är ingen varukod (12)"
        assert rt.view.message == said and said in screen_text(app)
        await pilot.press("g")
        await settle(pilot, rt)
        said = "This code is not sold here: an EAN add-on alone is not a product code (12)"
        assert rt.view.message == said and said in screen_text(app)


async def test_a_coupon_that_needs_more_says_the_amount_as_the_language_writes_money(
    runtime, store, tmp_path
):
    rt = runtime
    app = CartApp(rt)
    async with app.run_test(size=(106, 33)) as pilot:
        rt.submit(actions.EnterCoupon(COUPON_200))
        await settle(pilot, rt)
        name_sv = "20,00 kr rabatt när du handlar för 200,00 kr"
        assert rt.view.message == f"Kupong: {name_sv} (handla för 200,00 kr för att använda den)"
        assert rt.view.coupons == (f"{name_sv} (handla för 200,00 kr för att använda den)",)
        assert "Kupong: 20,00 kr rabatt" in screen_text(app)
        await pilot.press("g")
        await settle(pilot, rt)
        assert rt.view.message == (
            "Coupon: 20.00 off when you spend 200.00 (spend SEK 200.00 to use)"
        )
        await pilot.press("g")  # Swedish again, then pay: the receipt on the screen
        await settle(pilot, rt)
        rt.submit(actions.Pay())
        await settle(pilot, rt)
        assert isinstance(app.screen, CheckoutScreen)
        text = rt.view.receipt.text
        assert "Kupong: 20,00 kr rabatt" in text and "spend" not in text
        assert "Kupong: 20,00 kr rabatt" in screen_text(app)
        # the journal's receipt keeps the one name and the English, the money as receipts write it
        doc = rt.engine.session.journal.receipt(rt.engine.session.id)
        assert doc["coupons"][0]["name"] == "20.00 off when you spend 200.00"
        assert doc["coupons"][0]["note"] == "spend 200.00 SEK to use"


async def test_a_scanned_coupon_says_what_a_typed_one_says(runtime):
    # a coupon read by the scanner reached the basket with nothing on the screen
    rt, clock = runtime, runtime.clock
    app = CartApp(rt)
    async with app.run_test(size=(106, 33)) as pilot:
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), COUPON_200, "]E0", "scanner:hand"))
        await settle(pilot, rt)
        name_sv = "20,00 kr rabatt när du handlar för 200,00 kr"
        assert rt.view.message == f"Kupong: {name_sv} (handla för 200,00 kr för att använda den)"
        assert "Kupong: 20,00 kr rabatt" in screen_text(app)
        assert rt.view.coupons == (f"{name_sv} (handla för 200,00 kr för att använda den)",)


def test_promotion_and_coupon_names_in_the_language_where_the_catalogue_gives_them(runtime, store):
    rt, clock = runtime, runtime.clock
    with rt:
        rt.start()
        grams = 0.0
        for _ in range(3):
            clock.advance(800)
            rt.post(Scan(clock.now_ms(), YOGGI, "]E0", "scanner:hand"))
            clock.advance(1500)
            grams += 1045.0
            rt.post(WeightSettled(clock.now_ms(), grams, 1045.0, 400, 0.5))
        assert rt.wait_idle()
        assert not rt.view.alerts
        notes = {ln.note for ln in rt.view.rows if ln.savings}
        assert notes == {"Yoggi 3 för 2"}
        rt.submit(actions.ToggleLanguage())
        assert rt.wait_idle()
        assert {ln.note for ln in rt.view.rows if ln.savings} == {"Yoggi 3 for 2"}
        # the journal keeps the one name
        doc_lines = rt.engine.session.snapshot().lines
        assert {ln.promotion for ln in doc_lines if ln.savings} == {"Yoggi 3 for 2"}
    coupon = store.catalog.coupon(COUPON_200)
    assert str(coupon.name) == "20.00 off when you spend 200.00"
    assert coupon.name.local("sv") == "20,00 kr rabatt när du handlar för 200,00 kr"
    plain = store.catalog.promotions["milk-member"]
    assert plain.name.local("sv") == "Medlemspris"


async def test_an_open_question_is_said_again_in_the_new_language(runtime):
    rt, clock = runtime, runtime.clock
    app = CartApp(rt)
    async with app.run_test(size=(106, 33)) as pilot:
        clock.advance(1500)
        rt.post(WeightSettled(clock.now_ms(), 300.0, 300.0, 400, 0.5))  # not scanned
        await settle(pilot, rt)
        await pilot.click("#alert")  # the question's picker
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        text = screen_text(app)
        assert "Skanna varan du just lade i (300 g)" in text and "Det är min egen sak" in text
        assert "Tillbaka" in text
        assert "English" in text  # the picker's language button names the other language
        await pilot.click("#picker-language")  # one tap, with the picker open
        await settle(pilot, rt)
        assert isinstance(app.screen, PickerScreen)  # still open, now in English
        text = screen_text(app)
        assert "Scan the item you just added (300 g)" in text and "It is my own" in text
        assert "Back" in text and "Svenska" in text
        assert "Skanna" not in text and "Tillbaka" not in text
        await pilot.press("g")  # the key does the same (staff, development)
        await settle(pilot, rt)
        assert "Det är min egen sak" in screen_text(app)
        await pilot.click("#choice-1")
        await settle(pilot, rt)
        assert not rt.view.alerts  # answered: the answer kept its key


async def test_open_entry_and_produce_screens_follow_a_switch_and_keep_what_is_typed(runtime):
    rt = runtime
    app = CartApp(rt)
    async with app.run_test(size=(106, 33)) as pilot:
        await settle(pilot, rt)
        await pilot.click("#do-coupon")
        await pilot.pause()
        assert isinstance(app.screen, EntryScreen)
        await pilot.press("9", "9")
        assert "Skanna kupongen" in screen_text(app)
        await pilot.click("#entry-language")
        await settle(pilot, rt)
        text = screen_text(app)
        assert "Scan the coupon or type its code." in text and "Back" in text
        assert "Skanna kupongen" not in text
        assert app.screen.query_one("#entry").value == "99"
        await pilot.press("escape")
        rt.submit(actions.ToggleLanguage())  # Swedish
        await settle(pilot, rt)
        await pilot.click("#do-produce")
        await pilot.pause()
        assert isinstance(app.screen, ProduceScreen)
        await pilot.press(*"ban")
        await pilot.pause()
        grid = app.screen.query_one(TileGrid)
        assert [t.choice.label for t in grid.tiles] == ["Banan", "Banan ekologisk"]
        assert "Frukt & grönt: vad ligger på vågen?" in screen_text(app)
        await pilot.click("#produce-language")
        await settle(pilot, rt)
        # "ban" finds them in English too
        assert [t.choice.label for t in grid.tiles] == ["Banana", "Banana organic"]
        text = screen_text(app)
        assert "Produce: what is on the scale?" in text and "Search" in text
        assert "Frukt & grönt" not in text and app.screen.query_one("#query").value == "ban"
