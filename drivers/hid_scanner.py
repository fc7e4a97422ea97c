"""USB HID ("keyboard wedge") barcode scanner driver, through python-evdev.

Most USB scanners ship as HID keyboards: a read arrives as key presses, ``[prefix][AIM id]code
[suffix]<Enter>``, typed in the keyboard layout set on the scanner. The driver opens the input
device node (``/dev/cart-scanner-hid`` from ``hardware/udev/99-cart.rules``, or a
``/dev/input/by-id/...-event-kbd`` link), takes an exclusive grab (``EVIOCGRAB``: while it holds
the device no other reader - the console, the kiosk's compositor, a terminal - sees a key of it),
turns the key events into text with a layout's key map, and feeds that text to the serial
scanner's decoder (:class:`drivers.scanner.ScanDecoder`): prefix and suffix stripping, AIM
identifiers, control-character rejection, over-long lines, duplicate suppression and their
counters are the same code for both kinds of scanner. Events are :class:`Scan` and
:class:`DeviceStatus`, exactly as from :class:`drivers.scanner.Scanner`.

Layers, each usable on its own:

* :class:`KeyDecoder` - pure: ``key(code, value) -> str`` for Linux key codes (press 1, release
  0, autorepeat 2) with Shift, Caps Lock, AltGr, Ctrl and Alt+keypad state. Enter and Tab end a
  read (``"\\r"``); a key the layout does not map gives U+001A (SUB), so the read it is in is
  rejected, and is counted in ``unknown_keys``.
* :class:`HidDecoder` - :class:`KeyDecoder` + :class:`drivers.scanner.ScanDecoder`:
  ``feed_keys([(code, value)], t_ms) -> [Scan]``, ``counters()``. No device, no thread.
* :class:`HidScanner` - the device: :class:`drivers.scanner.Scanner`'s reader thread, reconnect
  loop (unplug: "reconnecting"; replug: read again), statuses and queue, on an evdev node.

GS (ASCII 29, the GS1 field separator) is typed by scanners as **Ctrl+]**: Ctrl with the key
right of P (``KEY_RIGHTBRACE``), in every layout - Ctrl combinations go by key position, as
the scanners' "function code" output does. Alt + keypad digits (``Alt+029``) is also decoded,
and a scanner set to send a printable substitute instead can name it in ``gs_substitute``.

python-evdev is imported only when a real device is opened, so the decoders work (and are
tested) where it is not installed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import select
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

from cart.common.clock import Clock
from cart.common.events import DeviceStatus, Scan
from cart.common.profile import reject_unknown_keys
from drivers.scanner import AIM_MODES, GS, ScanDecoder, Scanner, ScannerConfig, ScannerConfigError

log = logging.getLogger(__name__)

SUB = "\x1a"  # stands for a key the layout does not map: the read is rejected (control_bytes)
POLL_S = 0.1  # the reader wakes at least this often to notice close()

# -- Linux key codes (linux/input-event-codes.h; a stable kernel ABI) ---------------------------
EV_KEY = 1
LED_CAPSL = 1
KEY_ESC, KEY_MINUS, KEY_EQUAL, KEY_BACKSPACE, KEY_TAB = 1, 12, 13, 14, 15
KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9, KEY_0 = range(2, 12)
KEY_LEFTBRACE, KEY_RIGHTBRACE, KEY_ENTER, KEY_LEFTCTRL = 26, 27, 28, 29
KEY_SEMICOLON, KEY_APOSTROPHE, KEY_GRAVE, KEY_LEFTSHIFT, KEY_BACKSLASH = 39, 40, 41, 42, 43
KEY_COMMA, KEY_DOT, KEY_SLASH, KEY_RIGHTSHIFT, KEY_KPASTERISK = 51, 52, 53, 54, 55
KEY_LEFTALT, KEY_SPACE, KEY_CAPSLOCK, KEY_NUMLOCK, KEY_SCROLLLOCK = 56, 57, 58, 69, 70
KEY_KP7, KEY_KP8, KEY_KP9, KEY_KPMINUS, KEY_KP4, KEY_KP5, KEY_KP6, KEY_KPPLUS = range(71, 79)
KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP0, KEY_KPDOT = range(79, 84)
KEY_102ND, KEY_KPENTER, KEY_RIGHTCTRL, KEY_KPSLASH, KEY_RIGHTALT = 86, 96, 97, 98, 100
KEY_LEFTMETA, KEY_RIGHTMETA = 125, 126
LETTER_KEYS = {  # key code of each letter (QWERTY positions: both layouts)
    "q": 16,
    "w": 17,
    "e": 18,
    "r": 19,
    "t": 20,
    "y": 21,
    "u": 22,
    "i": 23,
    "o": 24,
    "p": 25,
    "a": 30,
    "s": 31,
    "d": 32,
    "f": 33,
    "g": 34,
    "h": 35,
    "j": 36,
    "k": 37,
    "l": 38,
    "z": 44,
    "x": 45,
    "c": 46,
    "v": 47,
    "b": 48,
    "n": 49,
    "m": 50,
}
KEYPAD_DIGITS = {
    KEY_KP0: "0",
    KEY_KP1: "1",
    KEY_KP2: "2",
    KEY_KP3: "3",
    KEY_KP4: "4",
    KEY_KP5: "5",
    KEY_KP6: "6",
    KEY_KP7: "7",
    KEY_KP8: "8",
    KEY_KP9: "9",
}
KEYPAD_KEYS = frozenset(
    {*KEYPAD_DIGITS, KEY_KPDOT, KEY_KPMINUS, KEY_KPPLUS, KEY_KPASTERISK, KEY_KPSLASH, KEY_KPENTER}
)
TERMINATOR_KEYS = frozenset({KEY_ENTER, KEY_KPENTER, KEY_TAB})
SHIFT_KEYS = frozenset({KEY_LEFTSHIFT, KEY_RIGHTSHIFT})
CTRL_KEYS = frozenset({KEY_LEFTCTRL, KEY_RIGHTCTRL})
IGNORED_KEYS = frozenset({KEY_NUMLOCK, KEY_SCROLLLOCK, KEY_LEFTMETA, KEY_RIGHTMETA})

# Ctrl + key -> control character, by key position (the US character of the key): Ctrl+A..Z
# are 0x01..0x1A, Ctrl+[ ESC, Ctrl+\ FS, Ctrl+] GS, Ctrl+^ (6) RS, Ctrl+_ (-) US, Ctrl+@ (2) NUL.
CTRL_CHARS = {code: chr(ord(letter) - 0x60) for letter, code in LETTER_KEYS.items()}
CTRL_CHARS.update(
    {
        KEY_2: "\x00",
        KEY_LEFTBRACE: "\x1b",
        KEY_BACKSLASH: "\x1c",
        KEY_RIGHTBRACE: GS,
        KEY_6: "\x1e",
        KEY_MINUS: "\x1f",
    }
)

# Combining marks of the dead keys (a dead key then Space gives the spacing character).
COMBINING = {"´": "\u0301", "`": "\u0300", "¨": "\u0308", "^": "\u0302", "~": "\u0303"}


@dataclass(frozen=True)
class Layout:
    """A keyboard layout: key code -> (plain, Shift, AltGr) characters ("" for none).

    ``dead``: the characters typed by dead keys (they combine with the next key; Space gives
    the character itself). ``altgr``: Right Alt is AltGr (else it is a second Alt)."""

    name: str
    keys: Mapping[int, tuple[str, str, str]]
    dead: frozenset[str] = frozenset()
    altgr: bool = False


def _letters() -> dict[int, tuple[str, str, str]]:
    return {code: (ch, ch.upper(), "") for ch, code in LETTER_KEYS.items()}


def _keypad(decimal: str) -> dict[int, tuple[str, str, str]]:
    pad = {code: (d, d, "") for code, d in KEYPAD_DIGITS.items()}
    pad.update(
        {
            KEY_KPDOT: (decimal, decimal, ""),
            KEY_KPMINUS: ("-", "-", ""),
            KEY_KPPLUS: ("+", "+", ""),
            KEY_KPASTERISK: ("*", "*", ""),
            KEY_KPSLASH: ("/", "/", ""),
        }
    )
    return pad


def _row(codes: Iterable[int], plain: str, shifted: str, altgr: str = "") -> dict:
    codes = list(codes)
    altgr = altgr or " " * len(codes)
    return {
        c: (p, s, "" if a == " " else a)
        for c, p, s, a in zip(codes, plain, shifted, altgr, strict=True)
    }


_DIGIT_KEYS = [KEY_1, KEY_2, KEY_3, KEY_4, KEY_5, KEY_6, KEY_7, KEY_8, KEY_9, KEY_0]

US = Layout(
    "us",
    {
        **_letters(),
        **_row(_DIGIT_KEYS, "1234567890", "!@#$%^&*()"),
        **_row(
            [
                KEY_GRAVE,
                KEY_MINUS,
                KEY_EQUAL,
                KEY_LEFTBRACE,
                KEY_RIGHTBRACE,
                KEY_BACKSLASH,
                KEY_SEMICOLON,
                KEY_APOSTROPHE,
                KEY_COMMA,
                KEY_DOT,
                KEY_SLASH,
                KEY_102ND,
                KEY_SPACE,
            ],
            "`-=[]\\;',./\\ ",
            '~_+{}|:"<>?| ',
        ),
        **_keypad("."),
    },
)

# Swedish (sv-SE, ISO): shifted digits !"#¤%&/()=, AltGr digits @£${[]}, + ? \ on the key
# right of 0, å ö ä on the keys right of P and L, ' * left of Enter, < > | left of Z,
# - _ on the key right of the full stop; ´ ` and ¨ ^ ~ are dead keys; the keypad's decimal
# key gives a comma.
SE = Layout(
    "se",
    {
        **_letters(),
        **_row(_DIGIT_KEYS, "1234567890", '!"#¤%&/()=', " @£$€ {[]}"),
        **_row(
            [
                KEY_GRAVE,
                KEY_MINUS,
                KEY_EQUAL,
                KEY_LEFTBRACE,
                KEY_RIGHTBRACE,
                KEY_SEMICOLON,
                KEY_APOSTROPHE,
                KEY_BACKSLASH,
                KEY_102ND,
                KEY_COMMA,
                KEY_DOT,
                KEY_SLASH,
                KEY_SPACE,
            ],
            "§+´å¨öä'<,.- ",
            "½?`Å^ÖÄ*>;:_ ",
            " \\  ~   |    ",
        ),
        LETTER_KEYS["e"]: ("e", "E", "€"),
        LETTER_KEYS["m"]: ("m", "M", "µ"),
        **_keypad(","),
    },
    dead=frozenset("´`¨^~"),
    altgr=True,
)

LAYOUTS = {layout.name: layout for layout in (US, SE)}


def _layout(layout: str | Layout) -> Layout:
    if isinstance(layout, Layout):
        return layout
    try:
        return LAYOUTS[layout]
    except KeyError:
        raise ValueError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}") from None


@dataclass
class KeyCounters:
    keys: int = 0  # key presses, modifiers and lock keys excluded
    unknown_keys: int = 0  # presses the layout does not map (each makes its read rejected)


class KeyDecoder:
    """Key events in, text out. Pure: no device, no clock.

    ``key(code, value)`` takes one ``EV_KEY`` event (value 1 press, 0 release, 2 autorepeat,
    which is ignored: a scanner never holds a key) and returns the characters it completes,
    often ``""``. ``"\\r"`` ends a read: Enter, keypad Enter and Tab (and Ctrl+M, Ctrl+J,
    Ctrl+I or their Alt codes); a terminator right after another one (a Tab+Enter suffix) or
    at the start is dropped, so no empty reads come out. Other control characters (Ctrl+A,
    Esc ...) are passed on for the scanner decoder to reject; an unmapped key gives
    :data:`SUB`.

    Caps Lock inverts Shift for letters only (å ä ö included). Alt held (Left Alt, and Right
    Alt where the layout has no AltGr) with keypad digits gives the character of that decimal
    code when Alt is released: 1-127 ASCII, 0128-0255 (leading zero) Windows-1252. Keypad
    keys are read as digits whatever the Num Lock state.
    """

    def __init__(self, layout: str | Layout = "us", caps_lock: bool = False) -> None:
        self.layout = _layout(layout)
        self.counters = KeyCounters()
        self._shift: set[int] = set()
        self._ctrl: set[int] = set()
        self._alt: set[int] = set()
        self._altgr = False
        self.reset(caps_lock)

    def reset(self, caps_lock: bool = False) -> None:
        """Forget modifiers held and a half-typed read's state (a new device session)."""
        self._shift.clear()
        self._ctrl.clear()
        self._alt.clear()
        self._altgr = False
        self.caps_lock = caps_lock
        self._dead = ""  # a dead key waiting for the next one
        self._alt_digits = ""
        self._alt_bad = False  # a non-keypad key was pressed with Alt held
        self._in_read = False  # characters since the last terminator

    @property
    def pending(self) -> bool:
        """A read has begun and not ended."""
        return self._in_read or bool(self._dead)

    def _is_alt(self, code: int) -> bool:
        return code == KEY_LEFTALT or (code == KEY_RIGHTALT and not self.layout.altgr)

    def key(self, code: int, value: int) -> str:
        if value == 2:
            return ""
        pressed = value == 1
        if code in SHIFT_KEYS:
            (self._shift.add if pressed else self._shift.discard)(code)
            return ""
        if code in CTRL_KEYS:
            (self._ctrl.add if pressed else self._ctrl.discard)(code)
            return ""
        if code == KEY_RIGHTALT and self.layout.altgr:
            self._altgr = pressed
            return ""
        if self._is_alt(code):
            if pressed:
                self._alt.add(code)
                return ""
            self._alt.discard(code)
            return "" if self._alt else self._alt_released()
        if not pressed or code in IGNORED_KEYS:
            return ""
        if code == KEY_CAPSLOCK:
            self.caps_lock = not self.caps_lock
            return ""
        self.counters.keys += 1
        return self._press(code)

    def _press(self, code: int) -> str:
        if code in TERMINATOR_KEYS:
            return self._terminate()
        if self._alt:
            if code in KEYPAD_DIGITS and len(self._alt_digits) < 4:
                self._alt_digits += KEYPAD_DIGITS[code]
            else:
                self._alt_bad = True
            return ""
        if self._ctrl:
            ctrl = CTRL_CHARS.get(code)
            return self._unknown() if ctrl is None else self._control(ctrl)
        entry = self.layout.keys.get(code)
        if entry is None:
            return self._unknown()
        plain, shifted, altgr = entry
        if self._altgr:
            ch = altgr
        else:
            letter = plain.isalpha() and shifted == plain.upper() != plain
            ch = shifted if bool(self._shift) != (self.caps_lock and letter) else plain
        if not ch:
            return self._unknown()
        if ch in self.layout.dead:
            return self._dead_key(ch)
        return self._text(self._compose(ch))

    # -- output -----------------------------------------------------------------------------

    def _text(self, text: str) -> str:
        if text:
            self._in_read = True
        return text

    def _flush_dead(self) -> str:
        dead, self._dead = self._dead, ""
        return self._text(dead)

    def _compose(self, ch: str) -> str:
        """``ch`` after a pending dead key: combined where Unicode has the letter."""
        dead, self._dead = self._dead, ""
        if not dead:
            return ch
        if ch == " ":
            return dead
        combined = unicodedata.normalize("NFC", ch + COMBINING[dead])
        return combined if len(combined) == 1 else dead + ch

    def _dead_key(self, ch: str) -> str:
        if not self._dead:
            self._dead = ch
            return ""
        if self._dead == ch:  # the dead key twice: the character itself
            self._dead = ""
            return self._text(ch)
        out = self._flush_dead()
        self._dead = ch
        return out

    def _terminate(self) -> str:
        out = self._flush_dead()
        if not self._in_read:
            return ""
        self._in_read = False
        return out + "\r"

    def _control(self, ch: str) -> str:
        if ch in "\r\n\t":
            return self._terminate()
        return self._flush_dead() + self._text(ch)

    def _unknown(self) -> str:
        self.counters.unknown_keys += 1
        return self._flush_dead() + self._text(SUB)

    def _alt_released(self) -> str:
        digits, bad = self._alt_digits, self._alt_bad
        self._alt_digits, self._alt_bad = "", False
        if bad:
            return self._unknown()
        if not digits:
            return ""
        n = int(digits)
        if 0 < n < 128:
            ch = chr(n)
            return self._control(ch) if n < 32 or n == 127 else self._text(self._compose(ch))
        if 128 <= n <= 255 and digits.startswith("0"):
            ch = bytes([n]).decode("cp1252", errors="replace")
            if ch != "\ufffd":
                return self._text(self._compose(ch))
        return self._unknown()


def keystrokes(text: str, layout: str | Layout = "us") -> list[tuple[int, int]]:
    """The ``(code, value)`` key events a scanner in ``layout`` sends to type ``text``: the
    inverse of :class:`KeyDecoder` (Shift for capitals, AltGr where needed, a dead key then
    Space, Ctrl+] for GS, Ctrl+letter for other controls, Enter for CR or LF, Tab for HT).
    For tests, simulators and bring-up; raises ValueError for a character the layout cannot
    type."""
    lay = _layout(layout)
    where: dict[str, tuple[int, int]] = {}  # character -> (key, level); the main block first
    for code, entry in sorted(lay.keys.items(), key=lambda kv: (kv[0] in KEYPAD_KEYS, kv[0])):
        for level, ch in enumerate(entry):
            if ch:
                where.setdefault(ch, (code, level))
    ctrl = {ch: code for code, ch in CTRL_CHARS.items()}
    modifier = {1: KEY_LEFTSHIFT, 2: KEY_RIGHTALT}
    out: list[tuple[int, int]] = []

    def tap(code: int, mod: int | None = None) -> None:
        if mod is not None:
            out.append((mod, 1))
        out.extend([(code, 1), (code, 0)])
        if mod is not None:
            out.append((mod, 0))

    for ch in text:
        if ch in "\r\n":
            tap(KEY_ENTER)
        elif ch == "\t":
            tap(KEY_TAB)
        elif ch in ctrl:
            tap(ctrl[ch], KEY_LEFTCTRL)
        elif ch in where:
            code, level = where[ch]
            tap(code, modifier.get(level))
            if ch in lay.dead:
                tap(KEY_SPACE)
        else:
            raise ValueError(f"layout {lay.name} cannot type {ch!r}")
    return out


# -- configuration --------------------------------------------------------------------------

_GS_SUBSTITUTE_RE = re.compile(r"[!-~]")  # one printable ASCII character


@dataclass(frozen=True)
class HidScannerConfig:
    """Settings of one HID scanner (``[scanner.NAME]`` with ``kind = "hid"``).

    ``aim``, ``prefix``, ``suffix``, ``max_line`` (bytes of UTF-8), ``duplicate_window_ms`` and
    the reconnect delays mean what they mean for a serial scanner (:class:`ScannerConfig`);
    the read ends at Enter or Tab, so there is no ``terminator`` and no baud rate."""

    name: str = "main"
    kind: str = "hid"
    device: str = "/dev/cart-scanner-hid"  # the input event node (a udev or by-id symlink)
    layout: str = "us"  # the keyboard country set on the scanner: us | se
    aim: str = "auto"
    prefix: str = ""
    suffix: str = ""
    gs_substitute: str = ""  # a printable character the scanner sends for GS; "" for none
    max_line: int = 256
    duplicate_window_ms: int = 800
    reconnect_min_ms: int = 100
    reconnect_max_ms: int = 1000

    def __post_init__(self) -> None:
        where = f"scanner {self.name}"
        if self.kind != "hid":
            raise ScannerConfigError(f'{where}: kind must be "hid", got {self.kind!r}')
        if not isinstance(self.device, str) or not self.device:
            raise ScannerConfigError(f"{where}: device must be a non-empty path")
        if self.layout not in LAYOUTS:
            raise ScannerConfigError(
                f"{where}: layout {self.layout!r} is not one of {', '.join(LAYOUTS)}"
            )
        if self.aim not in AIM_MODES:  # checked again below; named here for the HID reader
            raise ScannerConfigError(
                f"{where}: aim {self.aim!r} is not one of {', '.join(AIM_MODES)}"
            )
        for key in ("prefix", "suffix"):
            value = getattr(self, key)
            if isinstance(value, str) and "\t" in value:
                raise ScannerConfigError(f"{where}: {key} cannot hold a Tab (it ends a read)")
        sub = self.gs_substitute
        if not isinstance(sub, str) or (sub and not _GS_SUBSTITUTE_RE.fullmatch(sub)):
            raise ScannerConfigError(
                f'{where}: gs_substitute must be one printable ASCII character or ""'
            )
        if sub and (sub == "]" or sub in self.prefix or sub in self.suffix):
            raise ScannerConfigError(
                f"{where}: gs_substitute {sub!r} must not be ] nor occur in prefix or suffix"
            )
        self.text_config()  # the shared settings, validated as a serial scanner's

    def text_config(self) -> ScannerConfig:
        """The settings of the text-level decoding, shared with the serial scanner."""
        return ScannerConfig(
            name=self.name,
            url=self.device,
            terminator="CR",
            aim=self.aim,
            prefix=self.prefix,
            suffix=self.suffix,
            max_line=self.max_line,
            duplicate_window_ms=self.duplicate_window_ms,
            reconnect_min_ms=self.reconnect_min_ms,
            reconnect_max_ms=self.reconnect_max_ms,
        )

    @classmethod
    def from_profile(cls, name: str, section: Mapping[str, Any]) -> HidScannerConfig:
        """Build from a ``[scanner.NAME]`` table with ``kind = "hid"``; unknown keys are
        errors."""
        known = {f.name for f in fields(cls) if f.name != "name"}
        reject_unknown_keys(f"scanner.{name}", section, known, ScannerConfigError)
        return cls(name=name, **dict(section))

    @property
    def source(self) -> str:
        """The name its events carry: ``scanner:NAME``."""
        return f"scanner:{self.name}"


# -- decoding -------------------------------------------------------------------------------


class HidDecoder(ScanDecoder):
    """Key events to :class:`Scan`: :class:`KeyDecoder`, then the serial scanner's
    :class:`ScanDecoder` (framing, AIM, validation, duplicates). Thread-free."""

    def __init__(self, config: HidScannerConfig | None = None) -> None:
        self.hid_config = config or HidScannerConfig()
        super().__init__(self.hid_config.text_config())
        self.keys = KeyDecoder(self.hid_config.layout)

    def feed_keys(self, events: Iterable[tuple[int, int]], t_ms: int) -> list[Scan]:
        """``(code, value)`` key events; the scans the reads they complete give."""
        text = "".join(self.keys.key(code, value) for code, value in events)
        if not text:
            return []
        if self.hid_config.gs_substitute:
            text = text.replace(self.hid_config.gs_substitute, GS)
        return self.feed(text.encode("utf-8"), t_ms)

    def reset(self, caps_lock: bool = False) -> None:
        """Forget a half-typed read and the modifiers held (a new device session)."""
        self.parser.reset()
        self.keys.reset(caps_lock)

    def counters(self) -> dict[str, int]:
        c = super().counters()
        c["keys"] = self.keys.counters.keys
        c["unknown_keys"] = self.keys.counters.unknown_keys
        return c


# -- the device -----------------------------------------------------------------------------


class KeyLink(Protocol):
    """An open, exclusively held key device (see :func:`open_evdev`)."""

    caps_lock: bool

    def read(self, timeout_s: float) -> list[tuple[int, int]]:
        """The ``(code, value)`` key events that arrive within ``timeout_s``; raises OSError
        when the device is gone."""
        ...

    def close(self) -> None: ...


class EvdevLink:
    """A grabbed ``evdev.InputDevice``: key events out, the grab released on close."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self.path = device.path
        try:
            self.caps_lock = LED_CAPSL in device.leds()
        except OSError:
            self.caps_lock = False

    def read(self, timeout_s: float) -> list[tuple[int, int]]:
        ready, _, _ = select.select([self.device.fd], [], [], timeout_s)
        if not ready:
            return []
        try:
            return [(e.code, e.value) for e in self.device.read() if e.type == EV_KEY]
        except BlockingIOError:
            return []

    def close(self) -> None:
        for step in (self.device.ungrab, self.device.close):
            with contextlib.suppress(OSError):  # unplugged: the grab went with the device
                step()


def open_evdev(path: str) -> EvdevLink:
    """Open ``path`` with python-evdev and grab it exclusively; OSError when it cannot be
    opened, is not a keyboard, or another program holds the grab."""
    try:
        import evdev
    except ImportError as exc:
        raise OSError(errno.ENOSYS, f"python-evdev is not installed ({exc})") from exc
    device = evdev.InputDevice(path)
    try:
        if EV_KEY not in device.capabilities():
            raise OSError(errno.ENOTTY, f"{path} ({device.name}) sends no keys")
        device.grab()
    except OSError as exc:
        device.close()
        if exc.errno == errno.EBUSY:
            raise OSError(errno.EBUSY, f"{path} is grabbed by another program") from exc
        raise
    return EvdevLink(device)


class HidScanner(Scanner):
    """A HID keyboard-wedge scanner: :class:`Scanner`'s thread, reconnect loop, statuses,
    queue and counters, reading key events from an input device it holds exclusively.

    ``open_device(path) -> KeyLink`` defaults to :func:`open_evdev`; tests pass a fake."""

    def __init__(
        self,
        config: HidScannerConfig,
        on_event: Callable[[Scan | DeviceStatus], None] | None = None,
        clock: Clock | None = None,
        open_device: Callable[[str], KeyLink] | None = None,
        start: bool = True,
    ) -> None:
        super().__init__(config.text_config(), on_event=on_event, clock=clock, start=False)
        self.hid_config = config
        self.decoder: HidDecoder = HidDecoder(config)
        self._open_device = open_device or open_evdev
        if start:
            self.start()

    def _close(self) -> None:
        """Stop the reader (it wakes every :data:`POLL_S`), which closes the device and
        releases the grab on its own thread; then report."""
        self.worker.ask_stop()
        self.worker.join()
        self._close_port()  # left open only by a reader that did not stop
        self._set_state("disconnected", self._closed_detail())

    def _open_link(self) -> KeyLink:
        return self._open_device(self.hid_config.device)

    def _read_loop(self, link: KeyLink) -> None:
        self.decoder.reset(getattr(link, "caps_lock", False))
        while not self.stopping:
            try:
                events = link.read(POLL_S)
            except (OSError, ValueError) as exc:  # unplugged (ENODEV)
                if self.stopping:
                    return
                self.read_errors += 1
                log.warning("%s: read failed (%s); reconnecting", self.config.device, exc)
                return
            if events:
                for scan in self.decoder.feed_keys(events, self.clock.now_ms()):
                    self._emit(scan)


__all__ = [
    "HidDecoder",
    "HidScanner",
    "HidScannerConfig",
    "KeyDecoder",
    "KeyLink",
    "LAYOUTS",
    "Layout",
    "EvdevLink",
    "keystrokes",
    "open_evdev",
]
