"""Snapshots of the key screens (pytest-textual-snapshot); update with --snapshot-update.

The main screen, produce entry and check-out are taken in English and in Swedish at 80×24 and
at the panel's 106×33; docs/screens holds copies of them (docs/UI.md, "Screens")."""

from __future__ import annotations

import pytest

from cart.app.view import AlertView, Choice, LineView, Receipt, ScaleView, Totals
from cart.common import i18n
from cart.common.money import Money
from cart.ui.app import CartApp
from cart.ui.screens import CheckoutScreen, PickerScreen, ProduceScreen, StaffScreen

from .conftest import WHICH_REMOVED, RecordingBackend, sample_view

PRODUCE = AlertView(
    3,
    "produce",
    "What did you put on the scale? (+640 g)",
    "Choose the produce",
    choices=(
        Choice("p-apple-gs", "Granny Smith apples", "72%"),
        Choice("p-apple-gd", "Golden Delicious apples", "20%"),
        Choice("p-lemon", "Lemons", "4%"),
    ),
)


PANEL = (106, 33)  # the cart's 10.1" 1280x800 panel at the kiosk's font (cart/ui/touch.py)

STORE_PRODUCE = [
    Choice("4011", "Bananas", "PLU 4011  €2.49/kg"),
    Choice("p-apple-gd", "Golden Delicious apples", "PLU 4021  €2.99/kg"),
    Choice("p-apple-gs", "Granny Smith apples", "PLU 4017  €3.29/kg"),
    Choice("p-lemon", "Lemons", "PLU 4053  €3.99/kg"),
    Choice("4080", "Asparagus green", "PLU 4080  €12.90/kg"),
    Choice("4046", "Avocado Hass", "PLU 4046  €1.49"),
    Choice("4562", "Carrots loose", "PLU 4562  €1.29/kg"),
    Choice("4650", "Mushrooms brown cap", "PLU 4650  €6.99/kg"),
    Choice("3017", "Pear Conference", "PLU 3017  €3.49/kg"),
    Choice("4064", "Tomato", "PLU 4064  €2.99/kg"),
]

RECEIPT = Receipt(
    "S-42",
    "Demo Market\nArla Standard Milk 1 l   2 x €1.29   €2.58\nTOTAL   €16.37",
    "CART1:S-42:1637",
)


# The same screens as a Swedish cart shows them: its store's names, money and sentences.
SV_PRODUCE = AlertView(
    3,
    "produce",
    "Vilken frukt eller grönsak lade du i (640 g)?",
    "Välj frukt eller grönsak (PLU, sök på namn eller förslag)",
    choices=(
        Choice("p-apple-gs", "Äpple Granny Smith", "72%"),
        Choice("p-apple-gd", "Äpple Golden Delicious", "20%"),
        Choice("p-lemon", "Citroner", "4%"),
    ),
)
SV_STORE_PRODUCE = [
    Choice("4011", "Bananer", "PLU 4011  24,90 kr/kg"),
    Choice("p-apple-gd", "Äpple Golden Delicious", "PLU 4021  29,90 kr/kg"),
    Choice("p-apple-gs", "Äpple Granny Smith", "PLU 4017  32,95 kr/kg"),
    Choice("p-lemon", "Citroner", "PLU 4053  39,90 kr/kg"),
    Choice("4080", "Sparris grön", "PLU 4080  129,00 kr/kg"),
    Choice("4046", "Avokado Hass", "PLU 4046  14,90 kr"),
    Choice("4562", "Morötter lösvikt", "PLU 4562  12,90 kr/kg"),
    Choice("4650", "Champinjoner bruna", "PLU 4650  69,90 kr/kg"),
    Choice("3017", "Päron Conference", "PLU 3017  34,90 kr/kg"),
    Choice("4064", "Tomat", "PLU 4064  29,90 kr/kg"),
]
SV_LINES = (
    LineView(1, "Arla Standardmjölk 1 l", "2", 1290, False, 2580, 0),
    LineView(2, "Bananer", "0,412 kg", 2490, True, 1026, 0),
    LineView(3, "Oatly Havredryck", "3", 1990, False, 5970, 1990, note="3 för 2"),
    LineView(4, "Rött vin 75 cl", "1", 8990, False, 8990, 0, note="ålderskontroll"),
)
SV_RECEIPT = Receipt(
    "S-42",
    "Demobutiken\nArla Standardmjölk 1 l   2 x 12.90   25.80\nTOTALT   166.76",
    "CART1:S-42:16676",
)
SV_TOTALS = Totals(subtotal=18566, savings=1990, tax=1786, total=16676, tax_included=True)
SV_QUESTION = AlertView(
    2, "scan", "Skanna varan du just lade i (412 g)", "Skanna varan du just lade i"
)

EN, SV = "en", "sv"
LANGUAGES = pytest.mark.parametrize("lang", [EN, SV])


def app_with(view, **kwargs) -> CartApp:
    return CartApp(RecordingBackend(view, products=STORE_PRODUCE), **kwargs)


def in_language(lang: str, **changes):
    """(the app's backend products, a sample view) for a cart speaking ``lang``; the screen's
    own words follow the current language, set here as the runtime sets it."""
    i18n.set_language(lang)
    if lang == EN:
        return STORE_PRODUCE, sample_view(**changes)
    base = {
        "store": "Demobutiken",
        "money": Money("SEK", 2),
        "lines": SV_LINES,
        "totals": SV_TOTALS,
        "language": SV,
    }
    return SV_STORE_PRODUCE, sample_view(**{**base, **changes})


def localized_app(lang: str, then: dict | None = None, **changes):
    """(the app, the view it is handed next or None) in ``lang``."""
    products, view = in_language(lang, **changes)
    app = CartApp(RecordingBackend(view, products=products))
    later = None if then is None else in_language(lang, **then)[1]
    return app, later


def produce_alert(lang: str) -> AlertView:
    return PRODUCE if lang == EN else SV_PRODUCE


def receipt(lang: str) -> Receipt:
    return RECEIPT if lang == EN else SV_RECEIPT


def until_screen(kind, then_show=None):
    """run_before for snap_compare: once the main screen has settled, optionally hand the app a
    new snapshot, then wait (bounded) until a screen of ``kind`` is on top."""

    async def wait(pilot) -> None:
        base = pilot.app.screen_stack[0]
        if then_show is not None:
            for _ in range(300):
                if base.query("FooterKey"):
                    break
                await pilot.pause(0.01)
            await pilot.pause()
            pilot.app.backend.push(then_show)
        for _ in range(300):
            # the screen is open and the footer under it has its keys (both settle async)
            if isinstance(pilot.app.screen, kind) and base.query("FooterKey"):
                await pilot.pause()
                return
            await pilot.pause(0.01)
        raise AssertionError(f"{kind.__name__} did not open")

    return wait


@LANGUAGES
def test_main_screen(snap_compare, lang):
    app, _ = localized_app(lang)
    assert snap_compare(app, terminal_size=(80, 24))


def test_main_screen_high_contrast_moving_scale(snap_compare):
    view = sample_view(scale=ScaleView(grams=3012.0, stable=False))
    assert snap_compare(app_with(view, high_contrast=True), terminal_size=(80, 24))


def test_seven_inch_screen_with_prompt(snap_compare):
    alert = AlertView(
        2, "scan", "Item added but not scanned (+412 g)", "Scan the item you just added"
    )
    assert snap_compare(app_with(sample_view(alerts=(alert,))), terminal_size=(100, 30))


def test_which_item_picker(snap_compare):
    wait = until_screen(PickerScreen, sample_view(alerts=(WHICH_REMOVED,), seq=5))
    assert snap_compare(app_with(sample_view()), terminal_size=(80, 24), run_before=wait)


@LANGUAGES
def test_produce_entry(snap_compare, lang):
    app, later = localized_app(lang, then={"alerts": (produce_alert(lang),), "seq": 5})
    wait = until_screen(ProduceScreen, later)
    assert snap_compare(app, terminal_size=(80, 24), run_before=wait)


def test_staff_mode(snap_compare):
    age = AlertView(
        4, "age", "Red Wine 75 cl needs an age check", "Staff: check ID", staff_only=True
    )
    wait = until_screen(StaffScreen, sample_view(alerts=(age,), staff=True, seq=5))
    assert snap_compare(app_with(sample_view()), terminal_size=(80, 24), run_before=wait)


@LANGUAGES
def test_checkout(snap_compare, lang):
    app, later = localized_app(lang, then={"receipt": receipt(lang), "seq": 5})
    wait = until_screen(CheckoutScreen, later)
    assert snap_compare(app, terminal_size=(80, 24), run_before=wait)


@LANGUAGES
def test_panel_main_screen_with_a_question(snap_compare, lang):
    alert = AlertView(2, "scan", "Item added but not scanned (+412 g)", "Scan the item you added")
    app, _ = localized_app(lang, alerts=(alert if lang == EN else SV_QUESTION,))
    assert snap_compare(app, terminal_size=PANEL)


@LANGUAGES
def test_panel_produce_entry(snap_compare, lang):
    app, later = localized_app(lang, then={"alerts": (produce_alert(lang),), "seq": 5})
    wait = until_screen(ProduceScreen, later)
    assert snap_compare(app, terminal_size=PANEL, run_before=wait)


@LANGUAGES
def test_panel_checkout(snap_compare, lang):
    app, later = localized_app(lang, then={"receipt": receipt(lang), "seq": 5})
    wait = until_screen(CheckoutScreen, later)
    assert snap_compare(app, terminal_size=PANEL, run_before=wait)
