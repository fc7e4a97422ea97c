"""The demo end to end: keys → simulated scanner and scale → real drivers → runtime → core and
fusion → the screen."""

from __future__ import annotations

import asyncio
import re
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
        # the bag may still be settling: the line is weighed again at the scale's settled level
        await until(pilot, lambda: app.view.scale.stable, timeout=20)
        await pilot.pause(0.5)
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


def autoplay_trips(trips: int, *, seed: int = 3, profile: str = "clean", limit_s: float = 3600):
    """Autoplay in accelerated time: the world is stepped on a clock of its own (no thread)
    and every step waits for the runtime and the scanner, so it does not depend on how busy
    the machine is. Returns (trips paid, what each paid trip billed, the world)."""
    from cart.common.events import Scan

    store = load_store()
    clock = demo_clock()
    wall = [clock.now_ms()]
    runtime = build_runtime(store, ":memory:", clock=clock)
    world = DemoWorld(runtime, store, clock, seed=seed, profile=profile, wall_ms=lambda: wall[0])
    scans = []
    runtime.add_tap(lambda ev: scans.append(ev) if isinstance(ev, Scan) else None)
    runtime.start()
    world.start(thread=False)
    world.set_autoplay(True)
    paid: list[tuple] = []
    end = wall[0] + int(limit_s * 1000)
    try:
        while len(paid) < trips and wall[0] < end:
            wall[0] += round(world.period_s * 1000)
            world.step()
            deadline = time.monotonic() + 10  # bounded: a scan the driver never delivers fails
            while len(scans) < world.scans_sent and time.monotonic() < deadline:
                time.sleep(0.001)
            assert runtime.wait_idle(10)
            view = runtime.view
            if view.receipt is not None and (not paid or paid[-1][0] is not view.receipt):
                cart = tuple((c.shelf.name, c.grams) for c in world.cart)
                paid.append((view.receipt, view.lines, cart))
        return paid, runtime.view, world
    finally:
        runtime.close()


@pytest.mark.slow
def test_autoplay_completes_trips_in_a_row():
    # the autoplay shopper stalled after a few trips: a bag of produce that settled in two
    # steps left a question it does not answer ("2 more × biscuits"), or billed the produce
    # at the weight of the bag's second step
    trips = 10
    paid, view, world = autoplay_trips(trips)
    assert len(paid) == trips, f"stalled after {len(paid)} trips: {view.alerts}; {world.note}"
    for _, lines, in_cart in paid:
        assert sorted(ln.name for ln in lines) == sorted(name for name, _ in in_cart)
        for ln in lines:
            if ln.per_kg:  # produce billed at what its whole bag weighs
                grams = float(ln.quantity.split()[0]) * 1000
                assert any(n == ln.name and abs(g - grams) < 15 for n, g in in_cart), in_cart


def _stepped_world(seed: int):
    """A runtime and a demo world stepped by the test on its own wall clock (no thread):
    ``(runtime, world, wall)``, ``wall[0]`` the world's wall time in ms."""
    store = load_store()
    clock = demo_clock()
    wall = [clock.now_ms()]
    runtime = build_runtime(store, ":memory:", clock=clock)
    world = DemoWorld(runtime, store, clock, seed=seed, profile="clean", wall_ms=lambda: wall[0])
    runtime.start()
    world.start(thread=False)
    return runtime, world, wall


def test_produce_chosen_while_the_world_thread_stalls_mid_bag():
    # the flaky test's cause, in accelerated time: the world's thread was held up between
    # the bag's two settles (most of it, then the rest), the shopper chose the produce for
    # the first, and the rest then came as "Scan the item you just added (82 g)"
    from cart.app import actions as ui

    runtime, world, wall = _stepped_world(4)
    try:
        item = next(s for s in world.shelf if s.produce)
        world.take(item.product_id)
        world.place()
        end = wall[0] + 10_000
        while not runtime.view.alerts and wall[0] < end:  # until the first settle is asked
            wall[0] += 40
            world.step()
            assert runtime.wait_idle(10)
        (asked,) = runtime.view.alerts
        placed = world.cart[0].grams
        first = float(re.search(r"\((\d+) g\)", asked.message).group(1))
        assert asked.kind == "scan_added" and 0.8 * placed < first < 0.9 * placed  # most of it
        runtime.submit(ui.AddProduce(item.plu, asked.alert_id))  # before the rest settles
        assert runtime.wait_idle(10)  # answered while the world's thread is held up
        wall[0] += 3000  # the world's thread held up 3 s: one late step
        world.step()
        for _ in range(50):
            wall[0] += 40
            world.step()
        assert runtime.wait_idle(10)
        view = runtime.view
        assert [a.message for a in view.alerts] == [], (view.alerts, view.lines)
        (line,) = view.lines
        assert line.name == item.name
        assert abs(float(line.quantity.split()[0]) * 1000 - placed) < 15  # the whole bag
    finally:
        runtime.close()


def test_the_world_shops_only_once_the_scanner_port_is_open():
    # the scanner driver opens its port on its own thread, and a read sent before that is lost
    # (the simulated scanner clears its FIFO when a port attaches, as a port nobody had open
    # keeps nothing): the first scan of a soak was lost that way. start() returns once the
    # port is open, and the first scan arrives
    runtime, world, wall = _stepped_world(4)
    try:
        assert world.scanner_sim.attached.is_set()
        item = next(s for s in world.shelf if not s.produce)
        world.take(item.product_id)
        world.scan()
        end = time.monotonic() + 10
        while not runtime.view.lines and time.monotonic() < end:
            wall[0] += 40
            world.step()
            runtime.wait_idle(1)
        assert [ln.name for ln in runtime.view.lines] == [item.name]
    finally:
        runtime.close()
