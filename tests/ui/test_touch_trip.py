"""A whole trip by touch, in Swedish and in English: scan, place, produce by tiles, remove via
the picker, coupon, pay, on the demo's simulated devices, the real drivers, runtime, fusion and
core. The screen is driven by clicks only (no key is pressed); the shopper's hands (take, scan,
place, take out) are the demo world's, as in the cart they are the shopper's. The words the
shopper reads are checked in the trip's language: the buttons, the produce screen, its tiles,
the picker, the coupon, the basket's lines and the receipt."""

from __future__ import annotations

import pytest
from textual.widgets import Label

from cart.app.stack import build_runtime
from cart.sim.demo import DemoWorld, demo_clock
from cart.sim.demo_app import DemoApp
from cart.store.loading import load_store
from cart.ui.produce import ProduceScreen
from cart.ui.screens import CheckoutScreen, EntryScreen, PickerScreen

from .test_demo import until
from .test_touch import tap, tap_key, tap_keys, tap_tile, tiles

pytestmark = pytest.mark.slow

MILK = "arla-standard-milk"  # 1580 g, as heavy as the Garant milk: taking one out asks which
OTHER_MILK = "garant-ecological-medium-fat-milk"
PRODUCE = "granny-smith"
COUPON = "9900000200022"  # 20.00 off when you spend 200.00


# What the shopper reads, written out (not looked up in the catalogues: a missing translation
# would then pass as its English msgid).
WORDS = {
    "en": {
        "buttons": ("Produce", "Coupon", "Pay", "Staff", "Svenska", "Contrast", "Text size"),
        "produce": "Produce: what is on the scale?",
        "apples": "Apple Granny Smith",
        "apple_price": "SEK 32.95/kg",
        "which": "Which item did you take out",
        "back": "Back",
        "coupon": "Coupon",
        "coupons": "coupons: 1",
        "coupon_name": "20.00 off",
        "thanks": "Thank you: show this code at the exit",
        "done": "Done: next shopper",
    },
    "sv": {
        "buttons": (
            "Frukt & grönt",
            "Kupong",
            "Betala",
            "Personal",
            "English",
            "Kontrast",
            "Textstorlek",
        ),
        "produce": "Frukt & grönt: vad ligger på vågen?",
        "apples": "Äpple Granny Smith",
        "apple_price": "32,95 kr/kg",
        "which": "Vilken vara tog du ut",
        "back": "Tillbaka",
        "coupon": "Kupong",
        "coupons": "kuponger: 1",
        "coupon_name": "20,00 kr rabatt",
        "thanks": "Tack: visa den här koden vid utgången",
        "done": "Klar: nästa kund",
    },
}


@pytest.fixture(params=["sv", "en"])
def demo(request):
    store = load_store()
    clock = demo_clock()
    runtime = build_runtime(store, ":memory:", clock=clock, language=request.param)
    world = DemoWorld(runtime, store, clock, seed=3, profile="clean")
    world.start()
    yield store, runtime, world, request.param
    runtime.close()


async def settled(pilot, lines: int, grams: float) -> None:
    """Until the basket has ``lines`` lines, nothing is asked, and the scale has settled at
    about ``grams`` (a change the world made has reached the scale and the basket)."""
    app = pilot.app

    def done() -> bool:
        view = app.view
        weight = view.scale.grams or 0.0
        return (
            len(view.lines) == lines
            and not view.alerts
            and view.scale.stable
            and abs(weight - grams) < 60
        )

    await until(pilot, done, timeout=20)


def in_cart(world) -> float:
    return sum(c.grams for c in world.cart)


def label(widget) -> str:
    return str(widget.label)


async def test_a_whole_trip_by_touch(demo):
    store, runtime, world, lang = demo
    words = WORDS[lang]
    shelf = {s.product_id: s for s in world.shelf}
    assert {MILK, OTHER_MILK, PRODUCE} <= set(shelf)
    app = DemoApp(runtime, world)
    async with app.run_test(size=(106, 33)) as pilot:
        await until(pilot, lambda: any(d.name == "scale" for d in app.view.devices))
        assert app.view.language == lang
        buttons = app.screen.query("#actions TouchButton")
        assert tuple(label(b) for b in buttons) == words["buttons"]
        # scan and place: two of the same milk, then another milk
        grams = 0.0
        for n, product in enumerate((MILK, MILK, OTHER_MILK), 1):
            world.take(product)
            world.scan()
            await until(pilot, lambda n=n: len(app.view.lines) == n)
            world.place()
            grams += shelf[product].grams
            await settled(pilot, n, grams)
        assert len(app.view.rows) == 2  # the two Arla milks are one row...
        assert app.view.rows[0].quantity == "2" and len(app.view.lines) == 3  # ...of 2 lines
        # produce by tiles: placed, then searched for by name on the on-screen keyboard
        world.take(PRODUCE)
        world.place()
        await until(pilot, lambda: bool(app.view.alerts))
        await until(pilot, lambda: app.view.scale.stable)
        if not isinstance(app.screen, ProduceScreen):
            await tap(pilot, "#do-produce")
        assert isinstance(app.screen, ProduceScreen)
        assert str(app.screen.query_one(".dialog-title", Label).content) == words["produce"]
        assert label(app.screen.query_one("#produce-back")) == words["back"]
        await tap(pilot, "#show-keyboard")
        await tap_keys(pilot, "granny")
        tile = tiles(app.screen).tiles[0].choice
        assert tile.label == words["apples"] and words["apple_price"] in tile.detail
        await tap_tile(pilot, 0)
        await settled(pilot, 4, in_cart(world))
        apples = app.view.lines[-1]
        apples_g = in_cart(world) - grams
        assert apples.name == words["apples"] and apples.per_kg
        # one milk out: two products weigh that much, so the cart asks which (when it has not
        # come straight back: ``which_removed_hold_ms``, 10 s)
        milk_item = next(c for c in world.cart if c.shelf.product_id == MILK)
        world.remove(milk_item.item_id)
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), timeout=40)
        await pilot.pause()
        assert str(app.screen.query_one(".dialog-title", Label).content).startswith(words["which"])
        assert label(app.screen.query_one("#picker-back")) == words["back"]
        choice = next(b for b in app.screen.query(".choice") if shelf[MILK].name in str(b.label))
        await tap(pilot, choice)
        await settled(pilot, 3, grams - shelf[MILK].grams + apples_g)
        milk_row = next(r for r in app.view.rows if r.name == shelf[MILK].name)
        assert milk_row.quantity == "1"
        assert sum(ln.name == shelf[OTHER_MILK].name for ln in app.view.lines) == 1
        # a coupon on the on-screen keyboard
        await tap(pilot, "#do-coupon")
        assert isinstance(app.screen, EntryScreen)
        assert str(app.screen.query_one(".dialog-title", Label).content) == words["coupon"]
        await tap_keys(pilot, COUPON)
        await tap_key(pilot, "ok")
        await until(pilot, lambda: bool(app.view.coupons))
        # the catalogue's name for it, in the language
        assert app.view.coupons[0].startswith(words["coupon_name"])
        await until(pilot, lambda: words["coupons"] in str(app.query_one("#title", Label).content))
        # pay, and the next shopper
        await tap(pilot, "#do-checkout")
        await until(pilot, lambda: isinstance(app.screen, CheckoutScreen))
        receipt = app.view.receipt.text
        assert shelf[MILK].name in receipt and words["apples"] in receipt
        title = app.screen.query_one("#checkout-title", Label)
        assert str(title.content).strip() == words["thanks"]
        assert label(app.screen.query_one("#next-shopper")) == words["done"]
        await tap(pilot, "#next-shopper")
        await until(pilot, lambda: not isinstance(app.screen, CheckoutScreen), timeout=45)
        assert app.view.lines == () and not world.cart
