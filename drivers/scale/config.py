"""Scale configuration: the ``[scale]`` section of a device profile, validated (unknown keys are
errors) before anything opens, and written back into its region of the profile file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from cart.common.profile import reject_unknown_keys
from drivers.scale import protocol as sp
from drivers.scale.filters import StabilityConfig
from drivers.scale.loadcell import Calibration


class ConfigError(ValueError):
    """The [scale] section of a profile is invalid (the message names the key)."""


@dataclass(frozen=True)
class ScaleConfig:
    port: str = "/dev/cart-scale"
    channels: int = 4
    rate_sps: int = 80
    gain: int = 128
    median_window: int = 3
    command_timeout_ms: int = 150
    command_retries: int = 4
    reconnect_min_ms: int = 250
    reconnect_max_ms: int = 5000
    stability: StabilityConfig = field(default_factory=StabilityConfig)
    calibration: Calibration = field(default_factory=Calibration)

    @classmethod
    def from_dict(cls, d: dict) -> ScaleConfig:
        d = dict(d)
        plain = {f.name: f for f in fields(cls) if f.name not in ("stability", "calibration")}
        reject_unknown_keys("scale", d, set(plain) | {"stability", "calibration"}, ConfigError)
        port = cls.port
        kw: dict[str, int] = {}
        for name, value in d.items():
            if name == "port":
                if not isinstance(value, str):
                    raise ConfigError("[scale].port must be str")
                port = value
            elif name in plain:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ConfigError(f"[scale].{name} must be int")
                kw[name] = value
        channels = kw.get("channels", 4)
        st = d.get("stability", {})
        known = {f.name for f in fields(StabilityConfig)}
        reject_unknown_keys("scale.stability", st, known, ConfigError)
        try:
            stability = StabilityConfig(**st)
            calibration = Calibration.from_dict(d.get("calibration", {}), channels)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"[scale]: {e}") from e
        cfg = cls(port=port, **kw, stability=stability, calibration=calibration)
        if not 1 <= cfg.channels <= sp.MAX_CHANNELS:
            raise ConfigError("[scale].channels must be 1..8")
        if cfg.command_retries < 0 or cfg.command_timeout_ms < 10:
            raise ConfigError("[scale]: command_retries >= 0 and command_timeout_ms >= 10")
        return cfg

    @classmethod
    def from_profile(cls, path: str | Path) -> ScaleConfig:
        import tomllib

        with open(path, "rb") as f:
            doc = tomllib.load(f)
        if "scale" not in doc:
            raise ConfigError(f"{path}: no [scale] section")
        return cls.from_dict(doc["scale"])

    def to_dict(self) -> dict:
        d = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("stability", "calibration")
        }
        base = StabilityConfig()
        st = {
            f.name: getattr(self.stability, f.name)
            for f in fields(StabilityConfig)
            if getattr(self.stability, f.name) != getattr(base, f.name)
        }
        if st:
            d["stability"] = st
        d["calibration"] = self.calibration.to_dict()
        return d


_REGION = re.compile(r"(# ---- scale[^\n]*\n)(.*?)(?=^# ---- )", re.DOTALL | re.MULTILINE)


def save_profile(path: str | Path, config: ScaleConfig) -> None:
    """Rewrite only the [scale] region of a profile (between its comment header and the next
    one); every other section and comment stays byte for byte."""
    import tomli_w

    path = Path(path)
    text = path.read_text()
    body = tomli_w.dumps({"scale": config.to_dict()})
    m = _REGION.search(text)
    if m is None:
        raise ConfigError(f"{path}: no '# ---- scale' region header")
    new = text[: m.start(2)] + body + "\n" + text[m.end(2) :]
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(new)
    tmp.replace(path)


__all__ = ["ConfigError", "ScaleConfig", "save_profile"]
