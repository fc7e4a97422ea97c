"""The demo end to end: keys → simulated scanner and scale → real drivers → runtime → core and
fusion → the screen."""

from __future__ import annotations

import asyncio
import time

import pytest

from cart.app.stack import build_runtime
from cart.sim.demo import DemoWorld, demo_clock, shelf_from_store
from cart.sim.demo_app import DemoApp
from cart.store.loading import load_store
from cart.ui.screens import CheckoutScreen, PickerScreen, ProduceScreen

from .screen_text import screen_text

# The demo world runs in real time: each test takes seconds.
pytestmark = pytest.mark.slow


async def until(pilot, pred, timeout=15.0):
    """Wait (bounded) for the app to reach a state; real simulated devices take real time."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out; {pilot.app.view.alerts}; screen:\n{screen_text(pilot.app)}"
            )
        await pilot.pause(0.05)


@pytest.fixture
def demo():
    store = load_store()
    clock = demo_clock()
    runtime = build_runtime(store, ":memory:", clock=clock)
    world = DemoWorld(runtime, store, clock, seed=3, profile="clean")
    world.start()
    yield store, runtime, world
    runtime.close()
    assert world.closed  # closed with the runtime, as a source


def test_shelf_has_packaged_goods_and_produce():
    import random

    shelf = shelf_from_store(load_store(), random.Random(1))
    assert any(s.produce and s.plu and not s.code for s in shelf)
    assert all(len(s.code) == 13 for s in shelf if not s.produce)


async def test_take_scan_place_and_pay_with_keys(demo):
    _, runtime, world = demo
    app = DemoApp(runtime, world)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: any(d.name == "scale" for d in app.view.devices))
        packaged = next(i for i, s in enumerate(world.shelf) if not s.produce)
        await pilot.press("t")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press(*["down"] * packaged, "enter")
        await until(pilot, lambda: world.hand is not None)
        name = world.hand.name
        await pilot.press("n")  # the simulated scanner sends the bytes; the driver reads them
        await until(pilot, lambda: len(app.view.lines) == 1)
        assert app.view.lines[0].name == name
        await pilot.press("l")  # onto the simulated scale
        await until(pilot, lambda: app.view.scale.stable and (app.view.scale.grams or 0) > 50)
        await until(pilot, lambda: not app.view.alerts)
        assert "scanner:hand" in [d.name for d in app.view.devices]
        assert name in screen_text(app)
        # pushing the cart shakes the scale; nothing changes in the basket
        lines = app.view.lines
        await pilot.press("u")
        await until(pilot, lambda: not app.view.scale.stable)
        await until(pilot, lambda: app.view.scale.stable, timeout=20)
        assert app.view.lines == lines and not app.view.alerts
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, CheckoutScreen))
        assert "show this code at the exit" in screen_text(app)
        await pilot.press("enter")  # next shopper: the demo unloads the cart first
        await until(pilot, lambda: not isinstance(app.screen, CheckoutScreen), timeout=20)
        assert app.view.lines == () and app.view.receipt is None and not world.cart


async def test_produce_placed_then_chosen_by_plu(demo):
    _, runtime, world = demo
    app = DemoApp(runtime, world)
    async with app.run_test(size=(100, 30)) as pilot:
        item = next(s for s in world.shelf if s.produce)
        world.take(item.product_id)
        await until(pilot, lambda: world.hand is not None)
        await pilot.press("l")
        await until(pilot, lambda: bool(app.view.alerts))
        if not isinstance(app.screen, ProduceScreen):
            await pilot.press("p")
        assert isinstance(app.screen, ProduceScreen)
        await pilot.press("tab") if not app.screen.query_one("#query").has_focus else None
        await pilot.press(*item.plu, "enter")
        await until(pilot, lambda: app.view.lines and not app.view.alerts)
        line = app.view.lines[0]
        assert line.name == item.name and line.per_kg
        grams = float(line.quantity.split()[0]) * 1000
        assert abs(grams - world.cart[0].grams) < 15  # billed at what the scale weighed


async def test_taking_an_item_out_removes_its_line(demo):
    _, runtime, world = demo
    app = DemoApp(runtime, world)
    async with app.run_test(size=(100, 30)) as pilot:
        first, second = [s for s in world.shelf if not s.produce and s.grams > 300][:2]
        for item in (first, second):
            world.take(item.product_id)
            world.scan()
            await until(pilot, lambda: world.hand is not None and world.hand.code)
            world.place()
            await until(pilot, lambda: world.hand is None)
        await until(
            pilot,
            lambda: len(app.view.lines) == 2 and not app.view.alerts and app.view.scale.stable,
            timeout=20,
        )
        await pilot.press("r")
        assert isinstance(app.screen, PickerScreen)
        await pilot.press("1")  # take the first item out of the cart
        await until(pilot, lambda: len(app.view.lines) == 1 and not app.view.alerts, timeout=20)
        assert app.view.lines[0].name == second.name


async def test_item_placed_unscanned_is_scanned_in_the_basket(demo):
    _, runtime, world = demo
    app = DemoApp(runtime, world)
    async with app.run_test(size=(100, 30)) as pilot:
        item = next(s for s in world.shelf if not s.produce and s.grams > 300)
        world.take(item.product_id)
        await until(pilot, lambda: world.hand is not None)
        await pilot.press("l")  # placed without scanning: the cart asks for a scan
        await until(pilot, lambda: any(a.kind == "scan_added" for a in app.view.alerts))
        assert app.view.lines == ()
        await pilot.press("n")  # empty hand: the scanner is aimed into the basket
        await until(pilot, lambda: len(app.view.lines) == 1 and not app.view.alerts, timeout=20)
        assert app.view.lines[0].name == item.name


async def test_autoplay_reaches_the_scale_and_screen(demo):
    _, runtime, world = demo
    app = DemoApp(runtime, world, autoplay=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.view.lines) >= 1 and world.cart, timeout=20)
        await asyncio.sleep(0)
        assert "DEMO" in screen_text(app)
        await pilot.press("o")
        await until(pilot, lambda: not world.autoplay)
