"""The HID (keyboard-wedge) scanner without a device: key codes to text for both layouts,
the shared decoding path, the profile, and hot-plug through a fake opener. Tests wait on
events with timeouts; they never sleep and hope, and assert nothing about wall-clock time."""

from __future__ import annotations

import errno
import os
import queue
import re
import sys
import threading
import tomllib
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cart.common.clock import ManualClock
from cart.common.events import DeviceStatus, Scan
from drivers import hid_scanner as hid
from drivers.hid_scanner import (
    SUB,
    HidDecoder,
    HidScanner,
    HidScannerConfig,
    KeyDecoder,
    keystrokes,
    open_evdev,
)
from drivers.scanner import ScanDecoder, ScannerConfig, ScannerConfigError, configs_from_profile

ROOT = Path(__file__).resolve().parents[2]
GS = "\x1d"
K = hid.LETTER_KEYS
F1 = 59  # a key no layout maps


def tap(code):
    return [(code, 1), (code, 0)]


def with_mod(mod, code):
    return [(mod, 1), *tap(code), (mod, 0)]


def shift(code):
    return with_mod(hid.KEY_LEFTSHIFT, code)


def altgr(code):
    return with_mod(hid.KEY_RIGHTALT, code)


def digits(text):
    return [e for d in text for e in tap(hid.KEY_0 if d == "0" else hid.KEY_1 + int(d) - 1)]


def decode(events, layout="us", caps_lock=False):
    d = KeyDecoder(layout, caps_lock=caps_lock)
    return "".join(d.key(code, value) for code, value in events), d


# -- key codes -> text ------------------------------------------------------------------------


def test_key_codes_are_the_kernels():
    ecodes = pytest.importorskip("evdev.ecodes")
    for name in dir(hid):
        if name.startswith("KEY_"):
            assert getattr(hid, name) == ecodes.ecodes[name], name
    for letter, code in K.items():
        assert ecodes.ecodes[f"KEY_{letter.upper()}"] == code
    assert (hid.EV_KEY, hid.LED_CAPSL) == (ecodes.EV_KEY, ecodes.LED_CAPSL)


def test_us_ean_with_aim_identifier():
    events = [
        *tap(hid.KEY_RIGHTBRACE),
        *shift(K["e"]),
        *digits("04006381333931"),
        *tap(hid.KEY_ENTER),
    ]
    assert decode(events)[0] == "]E04006381333931\r"


def test_us_symbols_of_gs1_and_aim_codes():
    events = [
        *shift(hid.KEY_9),
        *digits("01"),
        *shift(hid.KEY_0),
        *tap(hid.KEY_SLASH),
        *shift(hid.KEY_SEMICOLON),
        *tap(hid.KEY_DOT),
        *tap(hid.KEY_MINUS),
        *shift(hid.KEY_5),
        *shift(hid.KEY_SLASH),
        *tap(hid.KEY_EQUAL),
        *shift(hid.KEY_7),
        *tap(hid.KEY_RIGHTBRACE),
        *tap(hid.KEY_LEFTBRACE),
        *tap(hid.KEY_ENTER),
    ]
    assert decode(events)[0] == "(01)/:.-%?=&][\r"


def test_se_symbols_differ_from_us():
    # ]C1 (AltGr+9, Shift+c, 1), then ( ) / : . - % ? = & as a Swedish keyboard types them.
    events = [
        *altgr(hid.KEY_9),
        *shift(K["c"]),
        *digits("1"),
        *shift(hid.KEY_8),
        *shift(hid.KEY_9),
        *shift(hid.KEY_7),
        *shift(hid.KEY_DOT),
        *tap(hid.KEY_DOT),
        *tap(hid.KEY_SLASH),
        *shift(hid.KEY_5),
        *shift(hid.KEY_MINUS),
        *shift(hid.KEY_0),
        *shift(hid.KEY_6),
        *tap(hid.KEY_MINUS),
        *altgr(hid.KEY_8),
        *tap(hid.KEY_LEFTBRACE),
        *tap(hid.KEY_SEMICOLON),
        *tap(hid.KEY_APOSTROPHE),
        *shift(hid.KEY_2),
        *altgr(hid.KEY_2),
        *tap(hid.KEY_102ND),
        *tap(hid.KEY_ENTER),
    ]
    assert decode(events, "se")[0] == ']C1()/:.-%?=&+[åöä"@<\r'
    # The same keys on a US layout are other characters: the layout must match the scanner.
    assert decode(events, "us")[0] != decode(events, "se")[0]


def test_se_dead_keys_combine_or_stand_alone():
    events = [
        *shift(hid.KEY_RIGHTBRACE),
        *tap(hid.KEY_SPACE),  # ^ then Space: ^
        *tap(hid.KEY_RIGHTBRACE),
        *tap(K["a"]),  # ¨ then a: ä
        *altgr(hid.KEY_RIGHTBRACE),
        *altgr(hid.KEY_RIGHTBRACE),  # ~ twice: ~
        *tap(hid.KEY_EQUAL),
        *digits("1"),  # ´ then 1: no such letter, both
        *tap(hid.KEY_EQUAL),
        *tap(hid.KEY_ENTER),
    ]  # a dead key pending at the end
    assert decode(events, "se")[0] == "^ä~´1´\r"


def test_shift_and_caps_lock():
    word = [*tap(K["a"]), *shift(K["b"]), *digits("1"), *shift(hid.KEY_1)]
    assert decode(word)[0] == "aB1!"
    caps_on = [*tap(hid.KEY_CAPSLOCK), *word, *tap(hid.KEY_CAPSLOCK), *tap(K["c"])]
    assert decode(caps_on)[0] == "Ab1!c"  # Caps Lock: letters only, Shift inverts it
    assert decode(word, caps_lock=True)[0] == "Ab1!"  # the LED state read at open
    both = [*tap(hid.KEY_CAPSLOCK), *tap(hid.KEY_LEFTBRACE), *shift(hid.KEY_LEFTBRACE)]
    assert decode(both, "se")[0] == "Åå"  # å is a letter: Caps Lock applies
    right = [(hid.KEY_RIGHTSHIFT, 1), *tap(K["x"]), (hid.KEY_RIGHTSHIFT, 0), *tap(K["x"])]
    assert decode(right)[0] == "Xx"


def test_gs_as_ctrl_right_bracket_in_both_layouts():
    events = [
        *digits("01"),
        *with_mod(hid.KEY_LEFTCTRL, hid.KEY_RIGHTBRACE),
        *digits("10"),
        *with_mod(hid.KEY_RIGHTCTRL, hid.KEY_RIGHTBRACE),
        *tap(hid.KEY_ENTER),
    ]
    for layout in ("us", "se"):
        assert decode(events, layout)[0] == f"01{GS}10{GS}\r"


def test_alt_keypad_codes():
    def alt(code_digits, alt_key=hid.KEY_LEFTALT):
        pad = {d: c for c, d in hid.KEYPAD_DIGITS.items()}
        return [(alt_key, 1), *[e for d in code_digits for e in tap(pad[d])], (alt_key, 0)]

    events = [*alt("029"), *alt("0065"), *alt("93"), *alt("0196"), *alt("013")]
    assert decode(events)[0] == f"{GS}A]Ä\r"
    # Right Alt is AltGr in se (not an Alt code), a second Alt in us.
    assert decode(alt("65", hid.KEY_RIGHTALT))[0] == "A"
    text, d = decode([*alt("999"), *alt("65", hid.KEY_LEFTALT)])
    assert text == SUB + "A" and d.counters.unknown_keys == 1


def test_terminators():
    assert decode([*digits("12"), *tap(hid.KEY_ENTER)])[0] == "12\r"
    assert decode([*digits("12"), *tap(hid.KEY_KPENTER)])[0] == "12\r"
    assert decode([*digits("12"), *tap(hid.KEY_TAB)])[0] == "12\r"
    # A Tab+Enter suffix is one terminator; a terminator with nothing before it is dropped.
    events = [
        *tap(hid.KEY_ENTER),
        *digits("1"),
        *tap(hid.KEY_TAB),
        *tap(hid.KEY_ENTER),
        *digits("2"),
        *with_mod(hid.KEY_LEFTCTRL, K["m"]),
    ]
    assert decode(events)[0] == "1\r2\r"


def test_keypad_digits_and_layout_decimal():
    pad = [
        *tap(hid.KEY_KP4),
        *tap(hid.KEY_KP0),
        *tap(hid.KEY_KPDOT),
        *tap(hid.KEY_KPMINUS),
        *tap(hid.KEY_KPSLASH),
    ]
    assert decode(pad, "us")[0] == "40.-/"
    assert decode(pad, "se")[0] == "40,-/"


def test_garbage_keys_are_counted_and_poison_their_read():
    events = [*digits("12"), *tap(F1), *digits("3"), *tap(hid.KEY_ESC), *tap(hid.KEY_ENTER)]
    text, d = decode(events)
    assert text == f"12{SUB}3{SUB}\r"
    assert d.counters.unknown_keys == 2 and d.counters.keys == 6
    # AltGr levels the layout leaves empty, and AltGr in us (no such level): unknown too.
    assert decode(altgr(K["q"]), "se")[0] == SUB
    assert decode(with_mod(hid.KEY_LEFTCTRL, hid.KEY_SPACE))[0] == SUB


def test_releases_and_autorepeat_type_nothing():
    events = [
        (K["a"], 1),
        (K["a"], 2),
        (K["a"], 2),
        (K["a"], 0),
        (hid.KEY_NUMLOCK, 1),
        (hid.KEY_NUMLOCK, 0),
        (hid.KEY_LEFTMETA, 1),
        (hid.KEY_LEFTMETA, 0),
    ]
    text, d = decode(events)
    assert text == "a" and d.counters.keys == 1


def test_reset_forgets_modifiers_and_half_typed_reads():
    d = KeyDecoder("us")
    d.key(hid.KEY_LEFTSHIFT, 1)  # unplugged with Shift down: the release never comes
    d.key(K["a"], 1)
    assert d.pending
    d.reset()
    assert not d.pending
    assert "".join(d.key(c, v) for c, v in tap(K["a"])) == "a"


def test_unknown_layout():
    with pytest.raises(ValueError, match="layout"):
        KeyDecoder("de")
    with pytest.raises(ValueError, match="cannot type"):
        keystrokes("ä", "us")


@pytest.mark.parametrize("layout", ["us", "se"])
def test_keystrokes_is_the_inverse(layout):
    text = "]E04006381333931\r]C1(01)09520000000007/10:ABC-1.5%?=&\x1d17\r"
    assert decode(keystrokes(text, layout), layout)[0] == text


# -- the shared decoding path -----------------------------------------------------------------


def feed(decoder, text, layout="us", t_ms=1000):
    return decoder.feed_keys(keystrokes(text, layout), t_ms)


def test_decoder_splits_aim_and_strips_framing_like_the_serial_scanner():
    dec = HidDecoder(
        HidScannerConfig(name="h", layout="se", prefix="<", suffix=">", aim="required")
    )
    (scan,) = feed(dec, "<]E04006381333931>\r", "se")
    assert (scan.code, scan.symbology, scan.source) == ("4006381333931", "]E0", "scanner:h")
    assert feed(dec, "4006381333931>\r", "se") == []  # no prefix
    assert feed(dec, "<4006381333931>\r", "se") == []  # no AIM identifier
    c = dec.counters()
    assert c["framing"] == 2 and c["scans"] == 1 and c["keys"] > 0


def test_decoder_rejects_garbage_keys_and_controls_and_reads_on():
    dec = HidDecoder()
    garbage = [*digits("12"), *tap(F1), *digits("3"), *tap(hid.KEY_ENTER)]
    assert dec.feed_keys(garbage, 1000) == []
    assert feed(dec, "\x01\x02\r") == []  # Ctrl+A Ctrl+B
    assert [s.code for s in feed(dec, "12345670\r")] == ["12345670"]
    c = dec.counters()
    assert c["unknown_keys"] == 1 and c["control_bytes"] == 2 and c["scans"] == 1


def test_decoder_duplicates_and_overlong():
    dec = HidDecoder(HidScannerConfig(duplicate_window_ms=500, max_line=16))
    assert len(feed(dec, "4006381333931\r", t_ms=1000)) == 1
    assert feed(dec, "4006381333931\r", t_ms=1200) == []
    assert len(feed(dec, "4006381333931\r", t_ms=1600)) == 1
    assert feed(dec, "9" * 40 + "\r") == []
    c = dec.counters()
    assert c["duplicates"] == 1 and c["overlong"] == 1


def test_decoder_gs_substitute():
    dec = HidDecoder(HidScannerConfig(gs_substitute="~"))
    (scan,) = feed(dec, "]C1010952000000000710ABC~17251231\r")
    assert scan.code == f"010952000000000710ABC{GS}17251231" and scan.symbology == "]C1"


def test_reads_split_across_feeds():
    dec = HidDecoder()
    events = keystrokes("]E04006381333931\r")
    scans = [s for i in range(0, len(events), 3) for s in dec.feed_keys(events[i : i + 3], 5)]
    assert [(s.code, s.symbology) for s in scans] == [("4006381333931", "]E0")]


_text_chars = {
    layout: sorted(
        {ch for entry in hid.LAYOUTS[layout].keys.values() for ch in entry if ch}
        | {GS, "\x01", "\x1b"}
    )
    for layout in hid.LAYOUTS
}


@pytest.mark.parametrize("layout", ["us", "se"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hid_and_serial_scanners_decode_alike(layout, data):
    """Whatever the read holds, a HID scanner typing it gives what a serial scanner sending
    its bytes gives: the same scans, the same rejections."""
    alphabet = st.sampled_from(_text_chars[layout])
    reads = data.draw(st.lists(st.text(alphabet, min_size=1, max_size=30), min_size=1, max_size=6))
    config = HidScannerConfig(layout=layout, max_line=24, duplicate_window_ms=0)
    stream = "".join(r + "\r" for r in reads)
    hid_dec = HidDecoder(config)
    serial_dec = ScanDecoder(config.text_config())
    assert feed(hid_dec, stream, layout) == serial_dec.feed(stream.encode(), 1000)
    hid_counters = hid_dec.counters()
    assert {
        k: v for k, v in hid_counters.items() if k not in ("keys", "unknown_keys")
    } == serial_dec.counters()


# -- configuration ----------------------------------------------------------------------------


def test_config_validation():
    c = HidScannerConfig.from_profile("hand", {"kind": "hid", "device": "/dev/x", "layout": "se"})
    assert (c.source, c.layout, c.text_config().terminator) == ("scanner:hand", "se", "CR")
    with pytest.raises(ScannerConfigError, match="unknown key"):
        HidScannerConfig.from_profile("x", {"kind": "hid", "url": "/dev/x"})
    with pytest.raises(ScannerConfigError, match="unknown key"):
        HidScannerConfig.from_profile("x", {"kind": "hid", "baudrate": 9600})
    with pytest.raises(ScannerConfigError, match="layout"):
        HidScannerConfig(layout="dvorak")
    with pytest.raises(ScannerConfigError, match="device"):
        HidScannerConfig(device="")
    with pytest.raises(ScannerConfigError, match="aim"):
        HidScannerConfig(aim="sometimes")
    with pytest.raises(ScannerConfigError, match="reconnect"):
        HidScannerConfig(reconnect_min_ms=0)
    with pytest.raises(ScannerConfigError, match="gs_substitute"):
        HidScannerConfig(gs_substitute="~~")
    with pytest.raises(ScannerConfigError, match="gs_substitute"):
        HidScannerConfig(gs_substitute="]")
    with pytest.raises(ScannerConfigError, match="gs_substitute"):
        HidScannerConfig(gs_substitute="~", suffix="~")
    with pytest.raises(ScannerConfigError, match="Tab"):
        HidScannerConfig(suffix="\t")


def test_profile_kinds():
    profile = {
        "scanner": {
            "a": {"url": "loop://"},
            "b": {"kind": "serial", "url": "loop://"},
            "c": {"kind": "hid", "device": "/dev/cart-scanner-hid", "layout": "se"},
        }
    }
    a, b, c = configs_from_profile(profile)
    assert isinstance(a, ScannerConfig) and isinstance(b, ScannerConfig)
    assert isinstance(c, HidScannerConfig) and c.layout == "se"
    with pytest.raises(ScannerConfigError, match="kind"):
        configs_from_profile({"scanner": {"d": {"kind": "bluetooth"}}})
    with pytest.raises(ScannerConfigError, match="unknown key"):  # HID keys on a serial one
        configs_from_profile({"scanner": {"e": {"url": "loop://", "layout": "us"}}})
    with pytest.raises(ScannerConfigError, match="not a serial"):
        ScannerConfig.from_profile("f", {"kind": "hid"})


def test_shipped_profile_hid_alternative_is_valid():
    """The commented [scanner.*] block with kind = "hid" in cart-v1.toml, uncommented."""
    text = (ROOT / "hardware/profiles/cart-v1.toml").read_text()
    block = re.search(r"^# \[scanner\.\w+\]\n(?:# \w+ *=.*\n)+", text, re.M)
    assert block, "no commented HID scanner block in cart-v1.toml"
    body = re.sub(r"^# ", "", block.group(), flags=re.M)
    (config,) = configs_from_profile(tomllib.loads(body))
    assert isinstance(config, HidScannerConfig)
    assert config.device == "/dev/cart-scanner-hid"
    rules = (ROOT / "hardware/udev/99-cart.rules").read_text()
    assert 'SYMLINK+="cart-scanner-hid"' in rules


# -- open_evdev with a stand-in python-evdev --------------------------------------------------


class FakeInputDevice:
    grab_error: OSError | None = None
    caps = {hid.EV_KEY: [30]}
    opened: list[FakeInputDevice] = []

    def __init__(self, path):
        self.path, self.name, self.fd = path, "fake scanner", -1
        self.grabbed = self.closed = False
        FakeInputDevice.opened.append(self)

    def capabilities(self):
        return self.caps

    def leds(self):
        return [hid.LED_CAPSL]

    def grab(self):
        if self.grab_error is not None:
            raise self.grab_error
        self.grabbed = True

    def ungrab(self):
        raise OSError(errno.ENODEV, "No such device")  # unplugged: close still closes

    def close(self):
        self.closed = True


@pytest.fixture
def fake_evdev(monkeypatch):
    FakeInputDevice.opened = []
    module = types.SimpleNamespace(InputDevice=FakeInputDevice)
    monkeypatch.setitem(sys.modules, "evdev", module)
    return FakeInputDevice


def test_open_evdev_grabs_and_reads_caps_lock(fake_evdev):
    link = open_evdev("/dev/cart-scanner-hid")
    (dev,) = fake_evdev.opened
    assert dev.grabbed and link.caps_lock and link.path == "/dev/cart-scanner-hid"
    link.close()
    assert dev.closed


def test_open_evdev_refuses_a_device_grabbed_elsewhere(fake_evdev, monkeypatch):
    monkeypatch.setattr(fake_evdev, "grab_error", OSError(errno.EBUSY, "Device or resource busy"))
    with pytest.raises(OSError, match="grabbed by another program"):
        open_evdev("/dev/input/event3")
    assert fake_evdev.opened[0].closed


def test_open_evdev_refuses_a_device_without_keys(fake_evdev, monkeypatch):
    monkeypatch.setattr(fake_evdev, "caps", {3: [0, 1]})
    with pytest.raises(OSError, match="sends no keys"):
        open_evdev("/dev/input/event4")
    assert fake_evdev.opened[0].closed


def test_evdev_link_reads_key_events_only():
    r, w = os.pipe()
    try:
        ev = types.SimpleNamespace
        device = types.SimpleNamespace(
            path="/dev/x",
            fd=r,
            leds=lambda: [],
            read=lambda: iter(
                [
                    ev(type=4, code=4, value=458756),
                    ev(type=hid.EV_KEY, code=30, value=1),
                    ev(type=0, code=0, value=0),
                ]
            ),
        )
        link = hid.EvdevLink(device)
        assert link.read(0) == [] and not link.caps_lock  # nothing to read yet
        os.write(w, b"x")
        assert link.read(5) == [(30, 1)]
    finally:
        os.close(r)
        os.close(w)


# -- the device, hot-plug through a fake opener -----------------------------------------------


class FakeScanner:
    """A scanner that can be unplugged and plugged back in; ``opener`` is HidScanner's."""

    def __init__(self, grabbed_elsewhere=False):
        self.lock = threading.Lock()
        self.plugged = True
        self.grabbed_elsewhere = grabbed_elsewhere
        self.generation = 0
        self.links: list[FakeLink] = []

    def opener(self, path):
        with self.lock:
            if not self.plugged:
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
            if self.grabbed_elsewhere:
                raise OSError(errno.EBUSY, f"{path} is grabbed by another program")
            link = FakeLink(self, self.generation)
            self.links.append(link)
            return link

    def type(self, text, layout="us"):
        with self.lock:
            self.links[-1].events.put(keystrokes(text, layout))

    def unplug(self):
        with self.lock:
            self.plugged = False
            self.generation += 1
            for link in self.links:
                link.events.put(None)  # wakes a blocked read

    def replug(self):
        with self.lock:
            self.plugged = True


class FakeLink:
    caps_lock = False

    def __init__(self, owner, generation):
        self.owner, self.generation = owner, generation
        self.events: queue.Queue = queue.Queue()
        self.closed = False
        self.closed_on: str | None = None
        self.taken = threading.Event()  # a batch of key events was read

    def read(self, timeout_s):
        if self.closed or self.generation != self.owner.generation:
            raise OSError(errno.ENODEV, "No such device")
        try:
            batch = self.events.get(timeout=timeout_s)
        except queue.Empty:
            return []
        if batch is None:
            raise OSError(errno.ENODEV, "No such device")
        self.taken.set()
        return batch

    def close(self):
        self.closed = True
        self.closed_on = threading.current_thread().name


def next_of(scanner, kind, timeout=5.0, state=None):
    while True:
        try:
            event = scanner.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no {kind.__name__} {state or ''} within {timeout} s")
        if isinstance(event, kind) and (state is None or event.state == state):
            return event


def test_scans_unplug_replug_close():
    fake = FakeScanner()
    clock = ManualClock(5000)
    config = HidScannerConfig(name="hid", device="/dev/cart-scanner-hid", layout="se")
    with HidScanner(config, clock=clock, open_device=fake.opener) as scanner:
        status = next_of(scanner, DeviceStatus, state="connected")
        assert (status.device, status.detail) == ("scanner:hid", "/dev/cart-scanner-hid")
        fake.type("]E04006381333931\r", "se")
        scan = next_of(scanner, Scan)
        assert (scan.code, scan.symbology, scan.source, scan.t_ms) == (
            "4006381333931",
            "]E0",
            "scanner:hid",
            5000,
        )

        fake.unplug()
        lost = next_of(scanner, DeviceStatus, state="reconnecting")
        assert lost.device == "scanner:hid"
        fake.replug()
        next_of(scanner, DeviceStatus, state="connected")
        fake.type("]C1010952000000000710ABC\x1d17\r", "se")
        scan = next_of(scanner, Scan)
        assert scan.code == "010952000000000710ABC\x1d17" and scan.symbology == "]C1"
        counters = scanner.counters()
        assert counters["reconnects"] == 1 and counters["read_errors"] == 1
        assert counters["scans"] == 2 and counters["keys"] > 0
    closed = next_of(scanner, DeviceStatus, state="disconnected")
    assert closed.detail == "closed"
    assert all(link.closed for link in fake.links)
    # The device is released on the reader's own thread, never under a blocked read.
    assert {link.closed_on for link in fake.links} == {"scanner:hid-reader"}
    scanner.close()  # idempotent


def test_a_half_typed_read_does_not_survive_an_unplug():
    fake = FakeScanner()
    with HidScanner(HidScannerConfig(name="h"), open_device=fake.opener) as scanner:
        next_of(scanner, DeviceStatus, state="connected")
        with fake.lock:  # Shift held and three digits typed, then the cable comes out
            link = fake.links[-1]
            link.events.put([(hid.KEY_LEFTSHIFT, 1), *digits("123")])
        assert link.taken.wait(5)
        fake.unplug()
        next_of(scanner, DeviceStatus, state="reconnecting")
        fake.replug()
        next_of(scanner, DeviceStatus, state="connected")
        fake.type("4006381333931\r")
        assert next_of(scanner, Scan).code == "4006381333931"


def test_missing_or_held_device_reports_reconnecting_with_the_reason():
    fake = FakeScanner()
    fake.unplug()
    with HidScanner(
        HidScannerConfig(name="h", device="/dev/nope"), open_device=fake.opener
    ) as scanner:
        status = next_of(scanner, DeviceStatus, state="reconnecting")
        assert "cannot open /dev/nope" in status.detail
    busy = FakeScanner(grabbed_elsewhere=True)
    with HidScanner(HidScannerConfig(name="h"), open_device=busy.opener) as scanner:
        status = next_of(scanner, DeviceStatus, state="reconnecting")
        assert "grabbed by another program" in status.detail
        with busy.lock:
            busy.grabbed_elsewhere = False
        next_of(scanner, DeviceStatus, state="connected")


def test_events_to_a_callback_and_not_started():
    fake = FakeScanner()
    got: queue.Queue = queue.Queue()
    scanner = HidScanner(
        HidScannerConfig(name="cb"), on_event=got.put, open_device=fake.opener, start=False
    )
    assert fake.links == []  # nothing opened before start()
    scanner.start()
    while not scanner.connected.is_set():
        assert isinstance(got.get(timeout=5), DeviceStatus)
    fake.type("12345670\r")
    while not isinstance(event := got.get(timeout=5), Scan):
        pass
    assert event.code == "12345670"
    scanner.close()
    with pytest.raises(RuntimeError):
        scanner.get(timeout=0)


def test_profile_assembles_a_hid_scanner(tmp_path):
    """cart run's assembly: a kind = "hid" section becomes a HidScanner whose missing device
    shows in the devices the screen lists."""
    from cart.app.hardware import build

    p = tmp_path / "hid.toml"
    p.write_text(
        '[scanner.wedge]\nkind = "hid"\ndevice = "/nonexistent/cart-scanner-hid"\nlayout = "se"\n'
    )
    runtime = build(p, journal_path=":memory:", vision=False)
    seen = threading.Event()
    devices: list = []

    def listener(view):
        for d in view.devices:
            if d.name == "scanner:wedge":
                devices.append(d)
                seen.set()

    try:
        runtime.attach(listener)
        assert seen.wait(10), "the HID scanner never showed in the view"
    finally:
        runtime.close()
    assert devices[0].state == "reconnecting"
    assert "cannot open /nonexistent/cart-scanner-hid" in devices[0].detail
