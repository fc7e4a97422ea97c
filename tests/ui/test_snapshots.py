"""Snapshots of the key screens (pytest-textual-snapshot); update with --snapshot-update."""

from __future__ import annotations

from cart.app.view import AlertView, Choice, Receipt, ScaleView
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


def app_with(view, **kwargs) -> CartApp:
    return CartApp(RecordingBackend(view, products=STORE_PRODUCE), **kwargs)


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


def test_main_screen(snap_compare):
    assert snap_compare(app_with(sample_view()), terminal_size=(80, 24))


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


def test_produce_entry(snap_compare):
    wait = until_screen(ProduceScreen, sample_view(alerts=(PRODUCE,), seq=5))
    assert snap_compare(app_with(sample_view()), terminal_size=(80, 24), run_before=wait)


def test_staff_mode(snap_compare):
    age = AlertView(
        4, "age", "Red Wine 75 cl needs an age check", "Staff: check ID", staff_only=True
    )
    wait = until_screen(StaffScreen, sample_view(alerts=(age,), staff=True, seq=5))
    assert snap_compare(app_with(sample_view()), terminal_size=(80, 24), run_before=wait)


def test_checkout(snap_compare):
    wait = until_screen(CheckoutScreen, sample_view(receipt=RECEIPT, seq=5))
    assert snap_compare(app_with(sample_view()), terminal_size=(80, 24), run_before=wait)


def test_panel_main_screen_with_a_question(snap_compare):
    alert = AlertView(2, "scan", "Item added but not scanned (+412 g)", "Scan the item you added")
    assert snap_compare(app_with(sample_view(alerts=(alert,))), terminal_size=PANEL)


def test_panel_produce_entry(snap_compare):
    wait = until_screen(ProduceScreen, sample_view(alerts=(PRODUCE,), seq=5))
    assert snap_compare(app_with(sample_view()), terminal_size=PANEL, run_before=wait)


def test_panel_checkout(snap_compare):
    wait = until_screen(CheckoutScreen, sample_view(receipt=RECEIPT, seq=5))
    assert snap_compare(app_with(sample_view()), terminal_size=PANEL, run_before=wait)
