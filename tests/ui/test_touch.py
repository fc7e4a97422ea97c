"""The screen by touch alone: every flow driven with ``pilot.click`` (no key is pressed), the size
of every touch target, and identical items shown as one row."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from cart.app import actions
from cart.app.view import Choice, LineView, Receipt, group_lines
from cart.common import i18n
from cart.ui.app import HIGH_CONTRAST_THEME, CartApp
from cart.ui.produce import ProduceScreen, TileGrid
from cart.ui.screens import CheckoutScreen, EntryScreen, PickerScreen, StaffScreen
from cart.ui.touch import MIN_TARGET, Keys

from .conftest import WHICH_REMOVED, RecordingBackend, sample_view
from .screen_text import screen_text
from .test_app import PRODUCE

# the smallest supported, the cart's panel at the kiosk font, and the panel in large text
SIZES = [(80, 24), (106, 33), (75, 23)]


async def tap(pilot, target, offset=None) -> None:
    """One tap (a click at the middle of the widget, or at ``offset`` in it), then let the
    screen answer it."""
    if offset is None:
        await pilot.click(target)
    else:
        await pilot.click(target, offset=offset)
    await pilot.pause()


async def tap_key(pilot, name: str) -> None:
    """Tap the on-screen key ``name`` ("1", "a", "ok", "back") of the screen's visible keys."""
    keys = next(k for k in pilot.app.screen.query(Keys) if k.display and name in k.key_regions())
    await tap(pilot, keys, keys.offset_of(name))


async def tap_keys(pilot, text) -> None:
    for ch in text:
        await tap_key(pilot, ch)


def tiles(screen) -> TileGrid:
    return screen.query_one(TileGrid)


async def tap_tile(pilot, index: int) -> None:
    grid = tiles(pilot.app.screen)
    await tap(pilot, grid, grid.offset_of(index))


# ---- identical items -------------------------------------------------------------------------


def test_identical_items_are_one_row_with_their_quantity():
    milk = [LineView(i, "Milk 1 l", "1", 129, False, 129) for i in (1, 3, 4)]
    bananas = LineView(2, "Bananas", "0.412 kg", 199, True, 82)
    more_bananas = LineView(5, "Bananas", "0.300 kg", 199, True, 60)
    oats = LineView(6, "Oat drink", "2", 199, False, 398, 199, note="3 for 2")
    lines = (milk[0], bananas, milk[1], milk[2], more_bananas, oats)
    rows = group_lines(lines)
    assert [(r.name, r.quantity, r.total) for r in rows] == [
        ("Milk 1 l", "3", 387),  # where the first milk was, all three
        ("Bananas", "0.412 kg", 82),  # by weight: a row each
        ("Bananas", "0.300 kg", 60),
        ("Oat drink", "2", 398),
    ]
    assert rows[0].ids == (1, 3, 4) and rows[0].line_id == 4  # the newest is removed first
    assert rows[3].savings == 199 and rows[3].note == "3 for 2"
    assert group_lines(lines[1:2]) == lines[1:2]  # nothing to group: the same lines
    same_name_other_price = (milk[0], LineView(9, "Milk 1 l", "1", 99, False, 99))
    assert len(group_lines(same_name_other_price)) == 2


async def test_two_scans_of_the_same_milk_show_one_row_and_one_removal_leaves_one():
    milk = LineView(1, "Milk 1 l", "1", 129, False, 129)
    backend = RecordingBackend(sample_view(lines=(milk,)))
    app = CartApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        backend.push(sample_view(lines=(milk, LineView(2, "Milk 1 l", "1", 129, False, 129))))
        await pilot.pause()
        row = next(ln for ln in screen_text(app).splitlines() if "Milk 1 l" in ln)
        assert row.split()[-3:] == ["2", "€1.29", "€2.58"]
        assert "1 line " in screen_text(app)
        backend.push(sample_view(lines=(milk,), seq=6))  # one taken out: its line left
        await pilot.pause()
        row = next(ln for ln in screen_text(app).splitlines() if "Milk 1 l" in ln)
        assert row.split()[-3:] == ["1", "€1.29", "€1.29"]


# ---- targets -----------------------------------------------------------------------------------


def _targets(app):
    """Every touch target on the screen: (what, its size in cells)."""
    out = []
    for w in app.screen.query("TouchButton"):
        if w.display and w.region.width and w.region.height:
            out.append((w, w.region.size))
    for keys in app.screen.query(Keys):
        if keys.display and keys.region.width:
            out += [(k, r.size) for k, r in keys.key_regions().items()]
    for grid in app.screen.query(TileGrid):
        out += [(t.choice.label, grid.region_of(i).size) for i, t in enumerate(grid.tiles)]
    return out


def _assert_finger_sized(app, where: str) -> int:
    targets = _targets(app)
    for what, size in targets:
        assert size.width >= MIN_TARGET[0] and size.height >= MIN_TARGET[1], (where, what, size)
    return len(targets)


def _assert_words_fit(app, where: str) -> None:
    """No button's words are cut: each fits inside its button, and the button is on screen."""
    from rich.cells import cell_len

    for b in app.screen.query("TouchButton"):
        if b.display and b.region.width:
            assert cell_len(str(b.label)) <= b.content_region.width, (where, b.id, b.label)
            assert b.region.height == 3 and b.region.bottom <= app.size.height, (where, b.id)


@pytest.mark.parametrize("lang", ["en", "sv"])
@pytest.mark.parametrize("size", SIZES)
async def test_every_touch_target_is_finger_sized_on_every_screen(size, lang):
    products = [Choice("4011", "Bananas", "PLU 4011")]
    backend = RecordingBackend(sample_view(language=lang), products=products)
    i18n.set_language(lang)
    try:
        await _measure_every_screen(backend, size)
    finally:
        i18n.set_language("en")


async def _measure_every_screen(backend, size) -> None:
    app = CartApp(backend, large_text=size == (75, 23))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert _assert_finger_sized(app, "main") == 7
        _assert_words_fit(app, "main")
        await tap(pilot, "#do-produce")
        assert isinstance(app.screen, ProduceScreen)
        assert _assert_finger_sized(app, "produce") >= 4
        _assert_words_fit(app, "produce")
        for toggle in ("#show-keypad", "#show-keyboard"):
            await tap(pilot, toggle)
            assert _assert_finger_sized(app, toggle) > 14
        await tap(pilot, "#produce-back")
        await tap(pilot, "#do-coupon")
        assert isinstance(app.screen, EntryScreen)
        assert _assert_finger_sized(app, "coupon") == 45  # the keyboard (43 keys), Back, language
        _assert_words_fit(app, "coupon")
        await tap(pilot, "#entry-back")
        await tap(pilot, "#do-staff")
        assert _assert_finger_sized(app, "pin") == 14  # the keypad, Back and language
        await tap(pilot, "#entry-back")
        backend.push(sample_view(alerts=(WHICH_REMOVED,), seq=5))
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert _assert_finger_sized(app, "picker") == 4  # 2 answers, Back and language
        _assert_words_fit(app, "picker")


@pytest.mark.parametrize("size", [(106, 33), (75, 23)], ids=["panel", "panel-large-text"])
async def test_next_shopper_stays_on_screen_beside_a_signed_exit_code(size, monkeypatch):
    from cart.basket import exitcode
    from cart.common import keys
    from cart.ui import kiosk

    asked = []
    monkeypatch.setattr(kiosk, "request_font_scale", lambda app, scale: asked.append(scale))
    k = keys.generate("cart-0001")
    claim = exitcode.ExitClaim(
        "demo-sthlm-01", k.cart_id, "0123456789abcdef", 31950, 12, 1_767_258_000_000, True, "medium"
    )
    receipt = Receipt("S-42", "Demo\nTOTAL 319.50", exitcode.build(claim, k.sign))
    backend = RecordingBackend(sample_view())
    large = size == (75, 23)
    app = CartApp(backend, large_text=large)
    async with app.run_test(size=size) as pilot:
        backend.push(sample_view(receipt=receipt, seq=7))
        await pilot.pause()
        assert isinstance(app.screen, CheckoutScreen)
        _assert_words_fit(app, "checkout")  # the button whole, under the receipt
        # large text: the normal font while the QR code is shown (it needs 23 rows)
        assert asked == ([1.0] if large else [])
        await tap(pilot, "#next-shopper")
        assert backend.actions[-1] == actions.NewTrip()
        backend.push(sample_view(seq=8))
        await pilot.pause()
        assert not isinstance(app.screen, CheckoutScreen)
        assert asked == ([1.0, 1.4] if large else [])


# ---- each flow by taps -------------------------------------------------------------------------


async def test_the_picker_is_answered_by_a_tap(backend):
    app = CartApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        backend.push(sample_view(alerts=(WHICH_REMOVED,), seq=5))
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        await tap(pilot, "#picker-back")  # closed without an answer
        assert backend.actions == [] and not isinstance(app.screen, PickerScreen)
        await tap(pilot, "#alert")  # the question's banner opens it again
        assert isinstance(app.screen, PickerScreen)
        await tap(pilot, "#choice-2")
        assert backend.actions == [actions.Answer(1, "3")]


async def test_produce_by_tiles_and_by_the_on_screen_keyboard_and_keypad(backend):
    backend.products.append(Choice("3017", "Pear Conference", "PLU 3017"))
    app = CartApp(backend)
    async with app.run_test(size=(106, 33)) as pilot:
        backend.push(sample_view(alerts=(PRODUCE,), seq=5))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProduceScreen)
        shown = [t.choice.label for t in tiles(screen).tiles]
        # the camera's top 3 first, then the store's produce by name
        assert shown[:3] == [c.label for c in PRODUCE.choices]
        assert "Bananas" in shown and "Pear Conference" in shown
        await tap(pilot, "#show-keyboard")
        await tap_keys(pilot, "lem")
        assert screen.query_one("#query", Input).value == "lem"
        assert [t.choice.key for t in tiles(screen).tiles] == ["p-lemon"]
        await tap_keys(pilot, ["back"] * 3)
        await tap(pilot, "#show-keypad")  # a PLU on the keypad: taken with OK
        await tap_keys(pilot, "301")
        await tap_key(pilot, "ok")
        assert backend.actions == [] and isinstance(app.screen, ProduceScreen)  # partial
        assert "No product has the PLU 301" in screen_text(app)
        await tap_keys(pilot, "7")
        await tap_key(pilot, "ok")
        assert backend.actions == [actions.AddProduce("3017", 3)]


async def test_a_produce_tile_is_chosen_by_a_tap(backend):
    app = CartApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await tap(pilot, "#do-produce")
        grid = tiles(app.screen)
        bananas = next(i for i, t in enumerate(grid.tiles) if t.choice.label == "Bananas")
        await tap_tile(pilot, bananas)
        assert backend.actions == [actions.AddProduce("p-banana")]


async def test_coupon_and_staff_pin_on_the_on_screen_keys(backend):
    app = CartApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await tap(pilot, "#do-coupon")
        await tap_keys(pilot, "save5")
        await tap_key(pilot, "ok")
        assert backend.actions == [actions.EnterCoupon("SAVE5")]  # coupon codes in capitals
        await tap(pilot, "#do-staff")
        await tap_keys(pilot, [*"2468", "back", "9"])
        assert "2469" not in screen_text(app) and "•" * 4 in screen_text(app)
        await tap_key(pilot, "ok")
        assert backend.actions[-1] == actions.EnterStaffPin("2469")
        backend.push(sample_view(staff=True, seq=5))
        await pilot.pause()
        assert isinstance(app.screen, StaffScreen)
        await tap(pilot, "#staff-remove")
        assert backend.actions[-1] == actions.StaffRemoveLine(1)  # the highlighted row
        await tap(pilot, "#staff-logout")
        assert backend.actions[-1] == actions.LeaveStaffMode()


async def test_pay_and_next_shopper_by_taps(backend):
    app = CartApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await tap(pilot, "#do-checkout")
        assert backend.actions == [actions.Pay()]
        receipt = Receipt("S-42", "Demo Market\nTOTAL 16.37", "CART1:S-42:1637:9f3a")
        backend.push(sample_view(receipt=receipt, seq=7))
        await pilot.pause()
        assert isinstance(app.screen, CheckoutScreen)
        await tap(pilot, "#next-shopper")
        assert backend.actions[-1] == actions.NewTrip()


async def test_the_produce_screen_is_built_once_and_opens_as_new_each_time(backend):
    """One produce screen for the app's life, refilled at each opening: what the last shopper
    typed, the keys they opened and the question it answered are gone, the new suggestions come
    first, and a language switched meanwhile is the one it speaks."""
    app = CartApp(backend)
    async with app.run_test(size=(106, 33)) as pilot:
        backend.push(sample_view(alerts=(PRODUCE,), seq=5))
        await pilot.pause()
        first = app.screen
        assert isinstance(first, ProduceScreen) and first.answers_id == PRODUCE.alert_id
        await tap(pilot, "#show-keyboard")
        await tap_keys(pilot, "lem")
        assert [t.choice.key for t in tiles(first).tiles] == ["p-lemon"]
        await tap(pilot, "#produce-back")
        assert not isinstance(app.screen, ProduceScreen)
        backend.push(sample_view(seq=6))  # the question is settled; the cart now speaks Swedish
        i18n.set_language("sv")
        backend.push(sample_view(seq=7, language="sv"))
        await pilot.pause()
        await tap(pilot, "#do-produce")
        again = app.screen
        assert again is first  # the same screen, refilled
        assert again.query_one("#query", Input).value == "" and again.shown_query == ""
        assert not again.query_one("#produce-keyboard").display
        assert again.answers_kinds is None  # it answers no question this time
        grid = tiles(again)
        assert [t.choice.label for t in grid.tiles] == sorted(c.label for c in backend.products)
        assert grid.tiles[0].highlighted and not grid.tiles[0].suggested
        text = screen_text(app)
        assert "Frukt & grönt: vad ligger på vågen?" in text and "Tillbaka" in text
        bananas = next(i for i, t in enumerate(grid.tiles) if t.choice.label == "Bananas")
        await tap_tile(pilot, bananas)
        assert backend.actions == [actions.AddProduce("p-banana")]


async def test_contrast_text_size_and_language_buttons(backend):
    app = CartApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await tap(pilot, "#do-toggle-contrast")
        assert app.theme == HIGH_CONTRAST_THEME.name
        await tap(pilot, "#do-toggle-large-text")
        assert app.large_text and app.has_class("-large-text")
        await tap(pilot, "#do-toggle-large-text")
        assert not app.large_text
        await tap(pilot, "#do-toggle-language")
        assert backend.actions == [actions.ToggleLanguage()]  # the runtime switches it


async def test_a_tap_on_a_question_without_choices_says_what_to_do(backend):
    from cart.app.view import AlertView

    alert = AlertView(2, "scan", "Item added but not scanned", "Scan the item you just added")
    app = CartApp(backend)
    async with app.run_test(size=(80, 24)) as pilot:
        backend.push(sample_view(alerts=(alert,), seq=5))
        await pilot.pause()
        await tap(pilot, "#do-checkout")  # refused while a question is open
        assert backend.actions == []
        await tap(pilot, "#alert")
        assert len(app.screen_stack) == 1 and backend.actions == []


def test_large_text_asks_the_kiosk_terminal_for_a_larger_font():
    from cart.ui.kiosk import font_scale_request, request_font_scale

    assert font_scale_request(1.4) == "\x1b]2;cart-font-scale=1.4\x07"
    assert font_scale_request(1.0) == "\x1b]2;cart-font-scale=1\x07"

    class Headless:
        is_headless = True
        _driver = object()

    assert request_font_scale(Headless(), 1.4) is False  # nothing written in tests

    written = []

    class Driver:
        def write(self, data):
            written.append(data)

        def flush(self):
            written.append("flush")

    class Terminal:
        is_headless = False
        _driver = Driver()

    assert request_font_scale(Terminal(), 1.4) is True
    assert written == ["\x1b]2;cart-font-scale=1.4\x07", "flush"]
