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


def app_with(view, **kwargs) -> CartApp:
    return CartApp(RecordingBackend(view), **kwargs)


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
    receipt = Receipt(
        "S-42",
        "Demo Market\nArla Standard Milk 1 l   2 x €1.29   €2.58\nTOTAL   €16.37",
        "CART1:S-42:1637",
    )
    wait = until_screen(CheckoutScreen, sample_view(receipt=receipt, seq=5))
    assert snap_compare(app_with(sample_view()), terminal_size=(80, 24), run_before=wait)
