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

from drivers.hid_scanner.config import HidScannerConfig
from drivers.hid_scanner.decoder import HidDecoder
from drivers.hid_scanner.device import POLL_S as POLL_S
from drivers.hid_scanner.device import EvdevLink, HidScanner, KeyLink, open_evdev
from drivers.hid_scanner.key_decoder import SUB as SUB
from drivers.hid_scanner.key_decoder import KeyCounters as KeyCounters
from drivers.hid_scanner.key_decoder import KeyDecoder, keystrokes
from drivers.hid_scanner.keycodes import *  # noqa: F403 - the key codes, as before
from drivers.hid_scanner.layouts import LAYOUTS, Layout
from drivers.hid_scanner.layouts import SE as SE
from drivers.hid_scanner.layouts import US as US

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
