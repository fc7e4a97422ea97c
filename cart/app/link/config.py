"""The profile's ``[link]`` section: where the store's broker is and how the cart proves who it
is. Absent: the cart runs alone (the demo, a cart without a store network).

::

    [link]
    host = "store-broker.local"      # the store's Mosquitto
    port = 8883                      # its TLS listener
    ca = "/etc/cart/link/ca.crt"     # the store's CA
    cert = "/etc/cart/link/cart.crt" # this cart's certificate (CN = the cart id)
    key = "/etc/cart/link/cart.key"  # its private key (0600)
    store_keys = "/etc/cart/link/store-keys.toml"  # [keys] id = "hex": who signs bundles
    catalog_dir = "/var/lib/cart/catalog"          # the last good bundle
    resend_s = 30                    # a record not acknowledged is sent again after this
    max_outbox_mb = 256              # then telemetry summaries are dropped (counted)
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cart.common.mqtt import Endpoint
from cart.common.profile import reject_unknown_keys

KEYS = (
    "host",
    "port",
    "ca",
    "cert",
    "key",
    "store_keys",
    "catalog_dir",
    "resend_s",
    "max_outbox_mb",
)


class LinkConfigError(ValueError):
    """A ``[link]`` section that cannot be used (the sentence names the key)."""


@dataclass(frozen=True, slots=True)
class LinkConfig:
    endpoint: Endpoint
    store_keys: dict[str, bytes]
    catalog_dir: Path
    resend_s: float = 30.0
    max_outbox_bytes: int = 256 << 20


def load_store_keys(path: str | Path) -> dict[str, bytes]:
    """``[keys]`` of key id = 64 hex digits (the store's Ed25519 public keys)."""
    from cart.common.keys import CART_ID_RE

    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LinkConfigError(f"{path}: cannot read the store's keys: {exc}") from None
    table = doc.get("keys")
    if not isinstance(table, Mapping) or not table:
        raise LinkConfigError(f"{path}: [keys] must list the store's signing keys")
    out = {}
    for kid, hexkey in table.items():
        ok = isinstance(hexkey, str) and len(hexkey) == 64
        if not CART_ID_RE.match(kid) or not ok:
            raise LinkConfigError(f"{path}: {kid}: a key id and 64 hex digits")
        try:
            out[kid] = bytes.fromhex(hexkey)
        except ValueError:
            raise LinkConfigError(f"{path}: {kid}: not hex") from None
    return out


def from_section(section: Mapping, base: Path | None = None) -> LinkConfig:
    """Validate ``[link]``; relative paths are relative to ``base`` (the profile's folder)."""
    reject_unknown_keys("link", section, KEYS, LinkConfigError)

    def path(name: str, default: str | None = None) -> Path:
        v = section.get(name, default)
        if not isinstance(v, str) or not v:
            raise LinkConfigError(f"[link] {name} must be a file path")
        p = Path(v)
        return p if p.is_absolute() or base is None else base / p

    host, port = section.get("host", "127.0.0.1"), section.get("port", 8883)
    if not isinstance(host, str) or not host:
        raise LinkConfigError("[link] host must be a host name")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise LinkConfigError("[link] port must be a TCP port")
    resend = section.get("resend_s", 30)
    mb = section.get("max_outbox_mb", 256)
    if not isinstance(resend, (int, float)) or not 0.1 <= resend <= 3600:
        raise LinkConfigError("[link] resend_s must be between 0.1 and 3600 seconds")
    if not isinstance(mb, int) or mb < 1:
        raise LinkConfigError("[link] max_outbox_mb must be a positive number of MiB")
    endpoint = Endpoint(host, port, path("ca"), path("cert"), path("key"))
    return LinkConfig(
        endpoint,
        load_store_keys(path("store_keys")),
        path("catalog_dir", "var/catalog"),
        float(resend),
        mb << 20,
    )
