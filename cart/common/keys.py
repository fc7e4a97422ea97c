"""The cart's signing key and the store's list of cart public keys (files only; the exit code
itself is ``cart.basket.exitcode``).

A cart has one Ed25519 key pair, made at install with ``cart keys init``. Its folder holds:

- ``cart.key``: the 32-byte private seed as hex, mode 0600 (created with ``os.open`` and that
  mode, so it is never readable by anyone else, not even for a moment); a key file that group
  or others may read is refused when loaded, as ssh refuses one;
- ``cart.pub``: ``cart = "<cart id>"`` and ``public_key = "<hex>"`` (TOML, world-readable), the
  line a store copies into its ``carts.toml``.

Where the folder is: the profile's ``[keys] dir``, else ``$CART_KEYS``, else ``var/keys``
(relative to the cart's working directory); see :func:`keys_dir`.

The store keeps the public keys of its carts in ``carts.toml`` (in the store folder, or any
file given to ``cart gate verify --carts``)::

    [carts]
    cart-7f3a9c01 = "3b6a27bc...  (64 hex digits)"

Removing a cart's line revokes it: every code it signs is refused from then on.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

DEFAULT_KEYS_DIR = "var/keys"
PRIVATE_FILE = "cart.key"
PUBLIC_FILE = "cart.pub"
CARTS_FILE = "carts.toml"
CART_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class KeyFileError(RuntimeError):
    """A key file that is missing, unreadable, malformed or too open."""


class KeysMissing(KeyFileError):
    """No key pair in the folder (``cart keys init`` has not been run there)."""


@dataclass(frozen=True)
class CartKey:
    """A cart's identity: its id and its Ed25519 private key (``sign`` only; never printed)."""

    cart_id: str
    private: Ed25519PrivateKey
    ephemeral: bool = False

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_hex(self) -> str:
        return self.public_bytes.hex()

    def derive(self, purpose: str) -> bytes:
        """A 32-byte secret for ``purpose`` (``"journal"``: the journal's HMAC chain key),
        derived from the private key with HKDF-SHA256; the same key, the same secret."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        seed = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        info = f"cart {self.cart_id} {purpose}".encode()
        return HKDF(hashes.SHA256(), 32, salt=b"cart-key-derive-v1", info=info).derive(seed)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature (deterministic: the same message, the same bytes)."""
        return self.private.sign(message)

    def __repr__(self) -> str:  # never the private key
        return f"CartKey({self.cart_id!r}, public={self.public_hex[:16]}…)"


def keys_dir(profile_dir: str | os.PathLike | None = None) -> Path:
    """The key folder: the profile's ``[keys] dir``, else ``$CART_KEYS``, else ``var/keys``."""
    return Path(profile_dir or os.environ.get("CART_KEYS") or DEFAULT_KEYS_DIR)


def default_cart_id(public: bytes) -> str:
    """``cart-`` and the first 8 hex digits of the public key: unique enough in one store."""
    return f"cart-{public.hex()[:8]}"


def generate(cart_id: str | None = None, *, ephemeral: bool = False) -> CartKey:
    """A new key pair in memory (:func:`init_keys` writes one)."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    cid = cart_id or default_cart_id(public)
    if not CART_ID_RE.match(cid):
        raise KeyFileError(f"cart id {cid!r} must match {CART_ID_RE.pattern}")
    return CartKey(cid, private, ephemeral)


def _private_hex(key: CartKey) -> str:
    return key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()


def init_keys(
    folder: str | os.PathLike, cart_id: str | None = None, *, force: bool = False
) -> CartKey:
    """Make the cart's key pair in ``folder`` (created 0700 if absent).

    Refuses to replace an existing key unless ``force``: a cart that gets a new key must have
    its new public key registered with the store, and its old one removed.
    """
    folder = Path(folder)
    priv, pub = folder / PRIVATE_FILE, folder / PUBLIC_FILE
    if not force and (priv.exists() or pub.exists()):
        raise KeyFileError(f"{folder}: a key pair is already there (--force replaces it)")
    key = generate(cart_id)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if force:
            priv.unlink(missing_ok=True)
        # O_EXCL with mode 0600: the file is born owner-only (the umask can only narrow it)
        fd = os.open(
            priv, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(_private_hex(key) + "\n")
            f.flush()
            os.fsync(f.fileno())
        tmp = pub.with_suffix(".pub.tmp")
        tmp.write_text(public_text(key), encoding="utf-8")
        os.replace(tmp, pub)
    except OSError as exc:
        raise KeyFileError(f"{folder}: cannot write the key pair: {exc.strerror or exc}") from exc
    return key


def public_text(key: CartKey) -> str:
    """``cart.pub``: the cart id and its public key (``cart keys show`` prints the store line)."""
    return f'cart = "{key.cart_id}"\npublic_key = "{key.public_hex}"\n'


def carts_line(key: CartKey) -> str:
    """The line for the store's ``carts.toml`` (under ``[carts]``)."""
    return f'"{key.cart_id}" = "{key.public_hex}"'


def check_private_mode(path: Path) -> None:
    """Refuse a private key file that is not a regular file or that group/others may access."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        raise KeysMissing(f"{path}: no cart key (run `cart keys init`)") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"{path}: not a regular file")
    if st.st_mode & 0o077:
        raise KeyFileError(
            f"{path}: mode {stat.S_IMODE(st.st_mode):04o} lets others read the "
            "private key; it must be 0600 (chmod 600, and issue a new key if "
            "anyone may have copied it)"
        )


def load_key(folder: str | os.PathLike) -> CartKey:
    """The cart's key from ``folder`` (raises :class:`KeysMissing` when there is none)."""
    folder = Path(folder)
    priv, pub = folder / PRIVATE_FILE, folder / PUBLIC_FILE
    check_private_mode(priv)
    try:
        seed_hex = priv.read_text(encoding="ascii").strip()
        doc = tomllib.loads(pub.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KeysMissing(f"{exc.filename}: missing (run `cart keys init`)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeyFileError(f"{folder}: cannot read the key pair: {exc}") from exc
    except RecursionError:
        raise KeyFileError(f"{pub}: not readable TOML: nested too deeply") from None
    if not _HEX64.match(seed_hex):
        raise KeyFileError(f"{priv}: not a 64-hex-digit Ed25519 private key")
    cart_id, public_hex = doc.get("cart"), doc.get("public_key")
    if not isinstance(cart_id, str) or not CART_ID_RE.match(cart_id):
        raise KeyFileError(f"{pub}: cart must be an id matching {CART_ID_RE.pattern}")
    key = CartKey(cart_id, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex)))
    if public_hex != key.public_hex:
        raise KeyFileError(f"{pub}: public_key does not belong to {priv}")
    return key


def load_carts(path: str | os.PathLike) -> dict[str, bytes]:
    """The store's known carts: ``{cart id: 32-byte public key}`` from ``[carts]`` in a TOML
    file. Every entry is checked; a malformed one is an error, never skipped."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise KeyFileError(f"{path}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise KeyFileError(f"{path}: not readable TOML: nested too deeply") from None
    unknown = sorted(set(doc) - {"carts"})
    if unknown:
        raise KeyFileError(f"{path}: unknown key(s) {', '.join(unknown)} (only [carts])")
    table = doc.get("carts", {})
    if not isinstance(table, Mapping):
        raise KeyFileError(f"{path}: [carts] must be a table of cart id = public key hex")
    out: dict[str, bytes] = {}
    for cid, hexkey in table.items():
        if not CART_ID_RE.match(cid):
            raise KeyFileError(f"{path}: cart id {cid!r} must match {CART_ID_RE.pattern}")
        if not isinstance(hexkey, str) or not _HEX64.match(hexkey.lower()):
            raise KeyFileError(f"{path}: {cid}: the public key must be 64 hex digits")
        raw = bytes.fromhex(hexkey)
        try:
            Ed25519PublicKey.from_public_bytes(raw)
        except ValueError as exc:
            raise KeyFileError(f"{path}: {cid}: not an Ed25519 public key: {exc}") from exc
        out[cid] = raw
    return out
