"""Settings of one HID scanner (``[scanner.NAME]`` with ``kind = "hid"``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from cart.common.profile import reject_unknown_keys
from drivers.hid_scanner.layouts import LAYOUTS
from drivers.scanner import AIM_MODES, ScannerConfig, ScannerConfigError

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
