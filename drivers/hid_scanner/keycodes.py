"""Linux key codes (linux/input-event-codes.h; a stable kernel ABI), the key groups the
decoder tells apart, and the control characters of Ctrl + key."""

from __future__ import annotations

from drivers.scanner import GS

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
