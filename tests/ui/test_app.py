"""Pilot tests of the screen's flows, driven with snapshots a test hands the app."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import zxingcpp

from cart.app import actions
from cart.app.view import AlertView, Choice, DeviceView, LineView, Receipt, ScaleView, Totals
from cart.ui.app import HIGH_CONTRAST_THEME, CartApp
from cart.ui.screens import CheckoutScreen, PickerScreen, ProduceScreen, StaffScreen
from cart.ui.widgets import BasketLines

from .conftest import WHICH_REMOVED, RecordingBackend, sample_view
from .screen_text import screen_lines, screen_text

SIZE = (80, 24)


async def test_basket_totals_scale_and_devices_are_shown(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        for expected in (
            "Arla Standard Milk 1 l",
            "0.412 kg",
            "€1.99/kg",
            "-€1.99",
            "€18.36",
            "Tax incl.",
            "2.830 kg",
            "● stable",
            "camera:basket reconnecting",
            "frames_dropped=2",
        ):
            assert expected in text, expected
        assert app.query_one("#total").value == "€16.37"


async def test_the_status_bar_counts_the_scanners_rejected_reads():
    devices = (
        DeviceView("scale", "connected"),
        DeviceView("scanner:hand", "connected", counters=(("reads", 9), ("rejected_reads", 3))),
    )
    app = CartApp(RecordingBackend(sample_view(devices=devices)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "rejected_reads=3" in text and "reads=9" not in text


async def test_everything_fits_at_80x24(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        assert len(lines) == 24
        assert "TOTAL" in "".join(lines[-10:])
        assert "Pay" in lines[-1]  # the keys, for staff and development
        assert "Pay" in lines[-4]  # the buttons, for the shopper


async def test_markup_and_escape_sequences_in_device_text_are_shown_literally():
    evil_name = "[bold]Free[/bold] \x1b[31mRED\x1b[0m"
    evil_code = "[link=http://x]5000\x1b]0;pwned\x07"
    view = sample_view(
        lines=(LineView(1, evil_name, "1", 100, False, 100, 0, note="[i]promo[/i]"),),
        totals=Totals(100, 0, 0, 100),
        message=f"Unknown barcode: {evil_code}",
        devices=(),
    )
    app = CartApp(RecordingBackend(view))
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "[bold]Free[/bold] \\x1b[31mRED\\x1b[0m" in text
        assert "[i]promo[/i]" in text
        assert "[link=http://x]5000\\x1b]0;pwned\\x07" in text
        assert "\x1b" not in text and "\x07" not in text
        # and through the picker too
        alert = AlertView(5, "which_removed", evil_name, "[b]pick[/b]", (Choice("1", evil_name),))
        app.backend.push(sample_view(lines=view.lines, alerts=(alert,)))
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        text = screen_text(app)
        assert "[b]pick[/b]" in text
        assert text.count("[bold]Free[/bold] \\x1b[31mRED") >= 2
        assert "\x1b" not in text


async def test_live_scale_shows_moving_then_stable(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        backend.push(sample_view(scale=ScaleView(grams=3050.0, stable=False), seq=5))
        await pilot.pause()
        assert "3.050 kg" in screen_text(app) and "◌ moving" in screen_text(app)
        assert app.query_one("#scale").has_class("-moving")
        backend.push(sample_view(scale=ScaleView(grams=412.0, stable=True), seq=6))
        await pilot.pause()
        assert "412 g" in screen_text(app) and "● stable" in screen_text(app)
        assert not app.query_one("#scale").has_class("-moving")


def _lines(n: int) -> tuple[LineView, ...]:
    return tuple(LineView(i, f"Item {i}", "1", 100 + i, False, 100 + i) for i in range(n))


async def test_large_basket_updates_by_line(backend):
    lines = _lines(200)
    backend.view = sample_view(lines=lines)
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        basket = app.query_one(BasketLines)
        assert basket.row_count == 200
        assert "Item 199" in screen_text(app)  # the newest line is in view
        changed = list(lines)
        changed[10] = LineView(10, "Item 10", "2", 110, False, 220)
        del changed[50]
        changed.append(LineView(100, "New item", "1", 5, False, 5))
        backend.push(sample_view(lines=tuple(changed), seq=9))
        await pilot.pause()
        assert basket.row_count == 200
        assert basket.row_text(10).split() == ["Item", "10", "2", "€1.10", "€2.20"]
        assert basket.cursor_row == 199
        text = screen_text(app)
        assert "New item" in text and "Item 198" in text
        # keyboard scrolling: Home shows the first lines, the removed line is gone
        await pilot.press("home")
        await pilot.pause()
        text = screen_text(app)
        assert basket.cursor_row == 0 and "Item 0 " in text and "Item 199" not in text
        assert basket.row_text(50).split()[:2] == ["Item", "51"]  # line 50 is gone
        await pilot.press("pagedown", "down", "down")
        await pilot.pause()
        assert basket.cursor_row == 12 and "Item 12 " in screen_text(app)


async def test_snapshots_from_another_thread_collapse_to_the_latest(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        done = threading.Event()

        def burst():
            for i in range(300):
                backend.push(sample_view(seq=100 + i, totals=Totals(total=i)))
            done.set()

        threading.Thread(target=burst).start()
        assert done.wait(10)
        await pilot.pause()
        await pilot.pause()
        assert app.view.seq == 399
        assert app.query_one("#total").value == "€2.99"


async def test_which_item_picker_opens_by_itself_and_answers(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        backend.push(sample_view(alerts=(WHICH_REMOVED,), seq=5))
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert "Which item did you take out?" in screen_text(app)
        await pilot.press("2")
        await pilot.pause()
        assert backend.actions == [actions.Answer(1, "3")]
        assert not isinstance(app.screen, PickerScreen)
        # Escape closes it; Enter opens it again; arrows + Enter answer
        await pilot.press("enter")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, PickerScreen)
        await pilot.press("enter", "down", "enter")
        assert backend.actions[-1] == actions.Answer(1, "3")


async def test_a_prompt_closes_when_its_question_is_settled_meanwhile(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        backend.push(sample_view(alerts=(WHICH_REMOVED,), seq=5))
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        backend.push(sample_view(alerts=(), seq=6))  # the item went back in: nothing to ask
        await pilot.pause()
        assert not isinstance(app.screen, PickerScreen)
        assert backend.actions == []


async def test_a_prompt_without_choices_shows_its_one_action(backend):
    alert = AlertView(
        2, "scan", "Item added but not scanned (+412 g)", "Scan the item you just added"
    )
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        backend.push(sample_view(alerts=(alert,), seq=5))
        await pilot.pause()
        assert len(app.screen_stack) == 1
        text = screen_text(app)
        assert "Item added but not scanned (+412 g)" in text
        assert "→ Scan the item you just added" in text
        assert app.query_one("#alert").has_class("-alert")
        await pilot.press("k")  # cannot pay with an open question
        assert backend.actions == []


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


async def test_produce_from_the_classifier_top3(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        backend.push(sample_view(alerts=(PRODUCE,), seq=5))
        await pilot.pause()
        assert isinstance(app.screen, ProduceScreen)
        assert "Golden Delicious" in screen_text(app)
        await pilot.press("down", "enter")  # the second suggestion, with the arrows
        await pilot.pause()
        assert backend.actions == [actions.AddProduce("p-apple-gd", 3)]


PLU_PRODUCTS = [
    Choice("3017", "Pear Conference", "PLU 3017"),
    Choice("3028", "Satsumas", "PLU 3028"),
    Choice("4067", "Zucchini", "PLU 4067"),
    Choice("4021", "Golden Delicious apples", "PLU 4021"),
]


@pytest.mark.parametrize("plu", ["3017", "4067", "1", "2"])
async def test_every_digit_typed_goes_to_the_plu_even_right_after_the_screen_opens(plu):
    # the produce screen opens by itself with the classifier's 3 suggestions; the shopper types
    # at once, key by key: no digit is lost and none picks a suggestion (1–3 used to)
    backend = RecordingBackend(sample_view(), products=PLU_PRODUCTS)
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        backend.push(sample_view(alerts=(PRODUCE,), seq=5))
        await pilot.pause()
        assert isinstance(app.screen, ProduceScreen)
        for key in plu:
            await pilot.press(key)
        assert isinstance(app.screen, ProduceScreen)
        assert app.screen.query_one("#query").value == plu
        assert backend.actions == []
        await pilot.press("enter")
        await pilot.pause()
        if plu in {c.key for c in PLU_PRODUCTS}:
            assert backend.actions == [actions.AddProduce(plu, 3)]
        else:  # no product has that PLU: nothing billed, the screen stays open
            assert backend.actions == [] and isinstance(app.screen, ProduceScreen)


async def test_keys_typed_as_the_produce_key_opens_the_screen_are_kept():
    backend = RecordingBackend(sample_view(suggestions=PRODUCE.choices), products=PLU_PRODUCTS)
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", "3", "0", "1", "7", "enter")
        await pilot.pause()
        assert backend.actions == [actions.AddProduce("3017")]


async def test_a_partial_plu_is_not_completed_to_another_product(backend):
    # "402" starts 4021 Golden Delicious: Enter does not bill it unless the shopper chose it
    backend.products = PLU_PRODUCTS
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p", *"402", "enter")
        await pilot.pause(0.3)
        assert backend.actions == [] and isinstance(app.screen, ProduceScreen)
        assert "No product has the PLU 402" in screen_text(app)
        await pilot.press("down", "up", "enter")  # highlighted on purpose: taken
        await pilot.pause()
        assert backend.actions == [actions.AddProduce("4021")]


async def test_a_suggestion_is_chosen_by_a_tap(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        backend.push(sample_view(alerts=(PRODUCE,), seq=5))
        await pilot.pause()
        assert isinstance(app.screen, ProduceScreen)
        grid = app.screen.query_one("#tiles")
        assert not grid.can_focus and app.screen.query_one("#query").has_focus
        assert grid.tiles[2].choice.label == "Lemons"
        await pilot.click(grid, offset=grid.offset_of(2))  # the third suggestion: Lemons
        await pilot.pause()
        assert backend.actions == [actions.AddProduce("p-lemon", 3)]


@pytest.mark.slow
async def test_produce_by_plu_and_by_name(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        assert isinstance(app.screen, ProduceScreen)
        await pilot.press(*"p-lem", "enter")
        await pilot.pause()
        assert backend.actions == [actions.AddProduce("p-lemon")]
        await pilot.press("p", *"apple")
        await pilot.pause()
        assert "Granny Smith" in screen_text(app)
        await pilot.press("down", "enter")  # the arrows move the highlight, the typing stays
        await pilot.pause()
        assert backend.actions[-1] == actions.AddProduce("p-apple-gs")
        await pilot.press("p", *"zzz", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ProduceScreen)  # nothing matched, nothing added
        await pilot.press("escape")
        assert len(backend.actions) == 2


async def test_coupon_entry(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c", *"SAVE5", "enter")
        await pilot.pause()
        assert backend.actions == [actions.EnterCoupon("SAVE5")]
        await pilot.press("c", "escape")
        assert backend.actions == [actions.EnterCoupon("SAVE5")]


async def test_staff_mode_behind_a_pin(backend):
    age = AlertView(
        4, "age", "Red Wine 75 cl needs an age check", "Staff: check ID", staff_only=True
    )
    backend.view = sample_view(alerts=(age,))
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("s", *"12ab34", "enter")  # letters are not accepted in a PIN
        await pilot.pause()
        assert backend.actions == [actions.EnterStaffPin("1234")]
        assert not isinstance(app.screen, StaffScreen)  # nothing until the runtime agrees
        assert "1234" not in screen_text(app)
        backend.push(sample_view(alerts=(age,), staff=True, seq=5))
        await pilot.pause()
        assert isinstance(app.screen, StaffScreen)
        assert "needs an age check" in screen_text(app)
        await pilot.press("a")
        assert backend.actions[-1] == actions.ResolveAlert(4)
        await pilot.press("tab", "down", "x")
        assert backend.actions[-1] == actions.StaffRemoveLine(2)
        await pilot.press("l")
        assert backend.actions[-1] == actions.LeaveStaffMode()
        backend.push(sample_view(staff=False, seq=6))
        await pilot.pause()
        assert not isinstance(app.screen, StaffScreen)


def _decode_screen_qr(lines: list[str]) -> str:
    """Turn the half-block QR on screen back into pixels and decode it."""
    rows = [ln for ln in lines if any(ch in ln for ch in "▀▄█")]
    start = min(min(ln.find(ch) for ch in "▀▄█" if ch in ln) for ln in rows) - 2
    width = max(len(ln.rstrip()) for ln in rows) - start
    pixels = np.full((2 * len(rows) + 8, width + 8), 255, np.uint8)
    for y, ln in enumerate(rows):
        for x, ch in enumerate(ln[start : start + width]):
            if ch in "▀█":
                pixels[4 + 2 * y, 4 + x] = 0
            if ch in "▄█":
                pixels[4 + 2 * y + 1, 4 + x] = 0
    big = np.kron(pixels, np.ones((6, 6), np.uint8))
    result = zxingcpp.read_barcode(big, formats=zxingcpp.BarcodeFormat.QRCode)
    assert result is not None, "QR code on screen does not decode"
    return result.text


async def test_checkout_shows_receipt_and_a_scannable_exit_code(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("k")
        assert backend.actions == [actions.Pay()]
        receipt = Receipt(
            "S-42",
            "Demo Market\nArla Standard Milk 1 l  2 x 1.29\nTOTAL 16.37",
            "CART1:S-42:1637:9f3a",
        )
        backend.push(sample_view(receipt=receipt, seq=7))
        await pilot.pause()
        assert isinstance(app.screen, CheckoutScreen)
        text = screen_text(app)
        assert "TOTAL 16.37" in text and "CART1:S-42:1637:9f3a" in text
        # only the QR panel: drop the receipt column
        qr_lines = [ln[ln.index("│", 2) + 1 :] if "│" in ln[2:] else "" for ln in screen_lines(app)]
        assert _decode_screen_qr(qr_lines) == receipt.exit_code
        # the next shopper: asked for, refused until the cart is empty, then a fresh screen
        await pilot.press("enter")
        assert backend.actions[-1] == actions.NewTrip()
        backend.push(sample_view(receipt=receipt, seq=8, message="Take everything out first"))
        await pilot.pause()
        assert "Take everything out first" in screen_text(app)
        backend.push(sample_view(lines=(), seq=9))
        await pilot.pause()
        assert not isinstance(app.screen, CheckoutScreen)


async def test_high_contrast_theme(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "cart"
        await pilot.press("f2")
        assert app.theme == HIGH_CONTRAST_THEME.name
        r, g, b = app.query_one("#title").styles.background.rgb
        assert r >= 250 and g >= 250 and b <= 5  # pure yellow
        r, g, b = app.screen.styles.background.rgb
        assert max(r, g, b) <= 5  # on pure black
    app2 = CartApp(RecordingBackend(sample_view()), high_contrast=True)
    async with app2.run_test(size=SIZE):
        assert app2.theme == HIGH_CONTRAST_THEME.name


async def test_backend_is_closed_when_the_app_ends(backend):
    app = CartApp(backend)
    async with app.run_test(size=SIZE):
        assert backend.listener is not None
    assert backend.closed
