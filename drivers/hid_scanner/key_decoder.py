"""Key events to text (``KeyDecoder``, pure) and text to key events (``keystrokes``)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from drivers.hid_scanner.keycodes import (
    COMBINING,
    CTRL_CHARS,
    CTRL_KEYS,
    IGNORED_KEYS,
    KEY_CAPSLOCK,
    KEY_ENTER,
    KEY_LEFTALT,
    KEY_LEFTCTRL,
    KEY_LEFTSHIFT,
    KEY_RIGHTALT,
    KEY_SPACE,
    KEY_TAB,
    KEYPAD_DIGITS,
    KEYPAD_KEYS,
    SHIFT_KEYS,
    TERMINATOR_KEYS,
)
from drivers.hid_scanner.layouts import Layout, _layout

SUB = "\x1a"  # stands for a key the layout does not map: the read is rejected (control_bytes)


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
