"""Fixtures for the screen's tests: sample snapshots and a backend that records actions."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from cart.app.view import (
    AlertView,
    CartView,
    Choice,
    DeviceView,
    LineView,
    ScaleView,
    Totals,
)
from cart.common.money import Money


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests (Textual's Pilot is async) in a fresh event loop."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
        return True
    return None


class RecordingBackend:
    """Hands the app the snapshots a test gives it and records the actions it submits."""

    def __init__(self, view: CartView | None = None, products: list[Choice] | None = None):
        self.view = view
        self.listener = None
        self.actions: list = []
        self.products = products or []
        self.closed = False

    def attach(self, listener) -> None:
        self.listener = listener
        if self.view is not None:
            listener(self.view)

    def push(self, view: CartView) -> None:
        self.view = view
        self.listener(view)

    def submit(self, action) -> None:
        self.actions.append(action)

    def search_products(self, query: str, limit: int) -> list[Choice]:
        q = query.lower()
        return [p for p in self.products if q in p.label.lower() or p.key.startswith(q)][:limit]

    def produce_products(self, limit: int) -> list[Choice]:
        return sorted(self.products, key=lambda p: p.label)[:limit]

    def close(self) -> None:
        self.closed = True


DEVICES = (
    DeviceView("scale", "connected"),
    DeviceView("scanner:hand", "connected"),
    DeviceView("camera:basket", "reconnecting", counters=(("frames_dropped", 2),)),
)


def sample_view(**changes) -> CartView:
    lines = (
        LineView(1, "Arla Standard Milk 1 l", "2", 129, False, 258, 0),
        LineView(2, "Bananas", "0.412 kg", 199, True, 82, 0),
        LineView(3, "Oatly Oat Milk", "3", 199, False, 597, 199, note="3 for 2"),
        LineView(4, "Red Wine 75 cl", "1", 899, False, 899, 0, note="age check"),
    )
    base = {
        "seq": 4,
        "store": "Demo Market",
        "money": Money("EUR", 2),
        "lines": lines,
        "totals": Totals(subtotal=1836, savings=199, tax=194, total=1637, tax_included=True),
        "scale": ScaleView(grams=2830.0, stable=True),
        "devices": DEVICES,
    }
    base.update(changes)
    return CartView(**base)


WHICH_REMOVED = AlertView(
    1,
    "which_removed",
    "Which item did you take out? (-199 g)",
    "Choose the item you took out",
    choices=(Choice("1", "Arla Standard Milk 1 l", "1 of 2"), Choice("3", "Oatly Oat Milk")),
)


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend(
        sample_view(),
        products=[
            Choice("p-banana", "Bananas", "PLU 4011"),
            Choice("p-apple-gd", "Golden Delicious apples", "PLU 4021"),
            Choice("p-apple-gs", "Granny Smith apples", "PLU 4017"),
            Choice("p-lemon", "Lemons", "PLU 4053"),
        ],
    )
