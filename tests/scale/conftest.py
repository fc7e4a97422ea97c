from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "hardware" / "scale-bridge" / "firmware"


class FakePin:
    """Enough of machine.Pin for the bridge firmware; a FakeHX711 drives DOUT from SCK."""

    IN, OUT, PULL_UP = 0, 1, 2

    def __init__(self, num=0, mode=0, pull=None):
        self.num, self.level, self.on_change = num, 0, None

    def value(self, v=None):
        if v is None:
            return self.level
        old, self.level = self.level, int(v)
        if self.on_change and old != self.level:
            self.on_change(self.level)


class FakeHX711:
    """An HX711 at the pin level: DOUT low when ready; SCK rising edges shift out 24 bits."""

    def __init__(self):
        self.dout, self.sck = FakePin(), FakePin()
        self.sck.on_change = self._edge
        self.queue: list[int] = []
        self.bits: list[int] | None = None
        self.pulses = 0
        self.dout.level = 1

    def convert(self, value: int) -> None:
        self.queue.append(value)
        if self.bits is None:
            self.dout.level = 0

    def _edge(self, level):
        if level != 1:
            return
        if self.bits is None:
            v = self.queue.pop(0) & 0xFFFFFF
            self.bits = [(v >> (23 - i)) & 1 for i in range(24)]
            self.pulses = 0
        self.pulses += 1
        if self.pulses <= 24:
            self.dout.level = self.bits[self.pulses - 1]
        if self.pulses == 25:  # gain 128 pulse: conversion done
            self.bits = None
            self.dout.level = 0 if self.queue else 1


@pytest.fixture
def firmware(monkeypatch):
    machine = types.ModuleType("machine")
    machine.Pin = FakePin
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.syspath_prepend(str(FIRMWARE))
    for name in ("proto", "hx711", "bridge"):
        sys.modules.pop(name, None)
    import bridge
    import hx711
    import proto

    yield types.SimpleNamespace(proto=proto, hx711=hx711, bridge=bridge, FakeHX711=FakeHX711)
    for name in ("proto", "hx711", "bridge"):
        sys.modules.pop(name, None)
