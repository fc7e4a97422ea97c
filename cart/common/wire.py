"""The store link's wire format, version 1: the MQTT topic tree and the signed envelope
(docs/LINK.md; JSON Schemas in docs/link/v1/). Pure: names, bytes and signatures only.

Topics (``S`` a store id, ``C`` a cart id; both match ``cart.common.keys.CART_ID_RE``)::

    smartcart/v1/S/cart/C/presence   cart -> store  retained; {"state": "online"|"offline"}, the
                                                    broker publishes "offline" as the last will
    smartcart/v1/S/cart/C/health     cart -> store  retained; devices, versions, outbox counters
    smartcart/v1/S/cart/C/record     cart -> store  QoS 1; one outbox record (receipt, audit,
                                                    staff action, telemetry summary)
    smartcart/v1/S/cart/C/ack        store -> cart  QoS 1; record ids now in the database
    smartcart/v1/S/cart/C/command    store -> cart  QoS 1; a signed command for this cart
    smartcart/v1/S/catalog           store -> carts retained, QoS 1; the signed catalogue bundle
    smartcart/v1/S/command           store -> carts QoS 1; a signed command for every cart

The broker's ACL lets cart ``C`` write only under ``smartcart/v1/S/cart/C/`` and read only its
own ``ack`` and ``command`` and the store's ``catalog`` and ``command``: the cart id in a topic
is the broker-authenticated identity, which is what the store service trusts.

Signed envelope (store -> cart: catalogue bundles and commands)::

    {"v": 1, "kind": "catalog"|"command", "signer": "<key id>", "body": {...}, "sig": "<b64>"}

``sig`` is Ed25519 over ``b"smartcart-link-v1\\0" + kind + b"\\0" + signer + b"\\0" +
canonical(body)``, where canonical JSON is sorted keys, no spaces, UTF-8. The domain tag and the
kind stop a signature made for one purpose from being replayed as another.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ROOT = "smartcart"
VERSION = "v1"
CART_LEAVES = ("presence", "health", "record", "ack", "command")
STORE_LEAVES = ("catalog", "command")
SIGNED_KINDS = ("catalog", "command")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
DOMAIN = b"smartcart-link-v1\0"
MAX_PAYLOAD = 4 << 20  # bytes: a catalogue bundle of a large store fits; more is refused


class WireError(ValueError):
    """A topic or payload that is not version 1 of the link (the sentence says what)."""


class SignatureRefused(WireError):
    """A signed envelope that does not verify (unsigned, unknown signer, tampered)."""


def _check_id(what: str, value: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise WireError(f"{what} {value!r} is not an id ({_ID.pattern})")
    return value


def cart_topic(store: str, cart: str, leaf: str) -> str:
    if leaf not in CART_LEAVES:
        raise WireError(f"no cart topic {leaf!r}")
    return f"{ROOT}/{VERSION}/{_check_id('store', store)}/cart/{_check_id('cart', cart)}/{leaf}"


def store_topic(store: str, leaf: str) -> str:
    if leaf not in STORE_LEAVES:
        raise WireError(f"no store topic {leaf!r}")
    return f"{ROOT}/{VERSION}/{_check_id('store', store)}/{leaf}"


def parse_cart_topic(topic: str) -> tuple[str, str, str] | None:
    """``(store, cart, leaf)`` of a cart topic, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[:2] != [ROOT, VERSION] or parts[3] != "cart":
        return None
    store, cart, leaf = parts[2], parts[4], parts[5]
    if not (_ID.match(store) and _ID.match(cart)) or leaf not in CART_LEAVES:
        return None
    return store, cart, leaf


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def loads(payload: bytes) -> Any:
    """A JSON payload, or WireError (too big, not UTF-8, not JSON)."""
    if len(payload) > MAX_PAYLOAD:
        raise WireError(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"payload is not JSON: {exc}") from None


def _message(kind: str, signer: str, body: Mapping[str, Any]) -> bytes:
    return DOMAIN + kind.encode() + b"\0" + signer.encode() + b"\0" + canonical(body)


def sign_envelope(kind: str, body: Mapping[str, Any], key) -> dict[str, Any]:
    """An envelope signed with ``key`` (``cart.common.keys.CartKey``: its id is the signer)."""
    if kind not in SIGNED_KINDS:
        raise WireError(f"no signed kind {kind!r}")
    sig = key.sign(_message(kind, key.cart_id, body))
    return {
        "v": 1,
        "kind": kind,
        "signer": key.cart_id,
        "body": dict(body),
        "sig": base64.b64encode(sig).decode(),
    }


def verify_envelope(doc: Any, kind: str, keys: Mapping[str, bytes]) -> dict[str, Any]:
    """The body of an envelope of ``kind`` signed by one of ``keys`` ({key id: 32-byte Ed25519
    public key}); SignatureRefused (a sentence) otherwise."""
    if not isinstance(doc, Mapping) or doc.get("v") != 1:
        raise SignatureRefused(f"not a version 1 {kind} envelope")
    if doc.get("kind") != kind:
        raise SignatureRefused(f"the envelope is a {doc.get('kind')!r}, not a {kind!r}")
    signer, body, sig = doc.get("signer"), doc.get("body"), doc.get("sig")
    if not isinstance(sig, str) or not sig:
        raise SignatureRefused(f"the {kind} is not signed")
    if not isinstance(signer, str) or signer not in keys:
        raise SignatureRefused(f"the {kind} is signed by {signer!r}, not a key of this store")
    if not isinstance(body, Mapping):
        raise SignatureRefused(f"the {kind} has no body")
    try:
        raw = base64.b64decode(sig, validate=True)
        Ed25519PublicKey.from_public_bytes(keys[signer]).verify(raw, _message(kind, signer, body))
    except (binascii.Error, ValueError, InvalidSignature):
        raise SignatureRefused(f"the {kind}'s signature does not verify (altered?)") from None
    return dict(body)
