"""Key events to scans: the key decoder, then the serial scanner's decoder. Thread-free."""

from __future__ import annotations

from collections.abc import Iterable

from cart.common.events import Scan
from drivers.hid_scanner.config import HidScannerConfig
from drivers.hid_scanner.key_decoder import KeyDecoder
from drivers.scanner import GS, ScanDecoder


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
