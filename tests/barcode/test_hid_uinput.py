"""The HID scanner driver on a real kernel input device: a virtual keyboard made with
``evdev.UInput`` types barcodes; the driver reads them through its exclusive grab, and a
second reader of the same node gets nothing. Needs ``/dev/uinput`` (``modprobe uinput``) and
the right to write it and to read the new ``/dev/input/event*`` node (root, or a udev rule),
as on a Pi or a CI machine; skipped, with the reason, elsewhere."""

from __future__ import annotations

import os
import queue
import select

import pytest

from cart.common.events import DeviceStatus, Scan
from drivers.hid_scanner import HidScanner, HidScannerConfig, keystrokes

UINPUT = "/dev/uinput"
GS = "\x1d"


def _need_uinput():
    if not os.path.exists(UINPUT):
        pytest.skip(
            f"needs /dev/uinput: {UINPUT} does not exist on this machine (a kernel "
            "without CONFIG_INPUT_UINPUT, the module not loaded: `sudo modprobe "
            "uinput`, or a container that does not pass the device through)"
        )
    if not os.access(UINPUT, os.R_OK | os.W_OK):
        pytest.skip(
            f"needs /dev/uinput: {UINPUT} exists but this user cannot open it "
            "read-write (run as root, or give the group access with a udev rule)"
        )


evdev = pytest.importorskip("evdev", reason="needs python-evdev (Linux)")
ecodes = evdev.ecodes
KEYS = list(range(1, 128))  # every key a scanner uses, F1 and the other unmapped ones


class VirtualScanner:
    """A uinput keyboard behind a symlink that survives "replugging", like a udev symlink."""

    def __init__(self, link):
        self.link = link
        self.ui = None
        self.plug()

    def plug(self):
        try:
            self.ui = evdev.UInput({ecodes.EV_KEY: KEYS}, name="cart-test-hid-scanner")
        except (OSError, evdev.UInputError) as exc:
            pytest.skip(f"needs /dev/uinput: cannot create a virtual keyboard ({exc})")
        if self.ui.device is None:
            pytest.skip("needs /dev/uinput: the virtual keyboard's event node did not appear")
        self.node = self.ui.device.path
        self.ui.device.close()  # the tests open the node themselves
        tmp = f"{self.link}.new"
        os.symlink(self.node, tmp)
        os.replace(tmp, self.link)

    def unplug(self):
        self.ui.close()
        self.ui = None

    def type(self, text, layout="us"):
        for code, value in keystrokes(text, layout):
            self.ui.write(ecodes.EV_KEY, code, value)
            self.ui.syn()

    def tap_shift(self):
        """A harmless key (Shift alone) for checking who receives events."""
        for value in (1, 0):
            self.ui.write(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, value)
            self.ui.syn()

    def close(self):
        if self.ui is not None:
            self.ui.close()


@pytest.fixture
def virtual(tmp_path):
    _need_uinput()
    v = VirtualScanner(str(tmp_path / "cart-scanner-hid"))
    yield v
    v.close()


def next_of(scanner, kind, timeout=5.0, state=None):
    while True:
        try:
            event = scanner.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no {kind.__name__} {state or ''} within {timeout} s")
        if isinstance(event, kind) and (state is None or event.state == state):
            return event


def drain(device):
    """Key events a plain (non-grabbing) reader has been sent so far."""
    out = []
    while (event := device.read_one()) is not None:
        if event.type == ecodes.EV_KEY:
            out.append((event.code, event.value))
    return out


@pytest.mark.parametrize("layout", ["us", "se"])
def test_virtual_keyboard_scans_reach_the_driver_and_nobody_else(virtual, layout):
    config = HidScannerConfig(name="uinput", device=virtual.link, layout=layout)
    other = evdev.InputDevice(virtual.node)  # e.g. the console or the kiosk's compositor
    try:
        with HidScanner(config) as scanner:
            status = next_of(scanner, DeviceStatus, state="connected")
            assert status.detail == virtual.link
            drain(other)
            virtual.type("]E04006381333931\r", layout)
            virtual.type(f"]C1010952000000000710AB-12/3{GS}17251231\r", layout)
            virtual.type("]E012345670\t", layout)
            scans = [next_of(scanner, Scan) for _ in range(3)]
            assert [(s.code, s.symbology, s.source) for s in scans] == [
                ("4006381333931", "]E0", "scanner:uinput"),
                (f"010952000000000710AB-12/3{GS}17251231", "]C1", "scanner:uinput"),
                ("12345670", "]E0", "scanner:uinput"),
            ]
            # The grab is exclusive: the kernel delivered every key of those reads to the
            # driver alone (delivery is synchronous with the write, so nothing is in flight),
            # and nobody else can take the device.
            assert drain(other) == []
            with pytest.raises(OSError):
                other.grab()
            counters = scanner.counters()
            assert counters["scans"] == 3 and counters["unknown_keys"] == 0
        # Released on close: the same reader now gets the keys, so the check above can fail.
        virtual.tap_shift()
        assert select.select([other.fd], [], [], 5)[0], "no events after the grab was released"
        assert (ecodes.KEY_LEFTSHIFT, 1) in drain(other)
    finally:
        other.close()


def test_virtual_keyboard_unplug_and_replug(virtual):
    config = HidScannerConfig(name="uinput", device=virtual.link, reconnect_max_ms=200)
    with HidScanner(config) as scanner:
        next_of(scanner, DeviceStatus, state="connected")
        virtual.type("4006381333931\r")
        assert next_of(scanner, Scan).code == "4006381333931"
        virtual.unplug()  # the kernel removes the node; the driver's read fails with ENODEV
        assert next_of(scanner, DeviceStatus, state="reconnecting").device == "scanner:uinput"
        virtual.plug()  # a new node (maybe another eventN) behind the same link
        next_of(scanner, DeviceStatus, state="connected")
        virtual.type("12345670\r")
        assert next_of(scanner, Scan).code == "12345670"
        assert scanner.counters()["reconnects"] == 1


def test_unmapped_key_on_the_wire_is_counted(virtual):
    with HidScanner(HidScannerConfig(name="uinput", device=virtual.link)) as scanner:
        next_of(scanner, DeviceStatus, state="connected")
        for code in (ecodes.KEY_1, ecodes.KEY_F1, ecodes.KEY_2, ecodes.KEY_ENTER):
            for value in (1, 0):
                virtual.ui.write(ecodes.EV_KEY, code, value)
                virtual.ui.syn()
        virtual.type("4006381333931\r")
        assert next_of(scanner, Scan).code == "4006381333931"  # the poisoned read is dropped
        counters = scanner.counters()
        assert counters["unknown_keys"] == 1 and counters["control_bytes"] == 1
        assert counters["scans"] == 1
