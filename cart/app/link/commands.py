"""Commands from the store: lock the cart (and unlock it), call staff, set the spot-check rate.

A command is a ``cart.common.wire`` envelope of kind ``command`` signed with one of the
store's keys; its body::

    {"id": "c-123", "store": "S", "cart": "C" | "*", "t_ms": 1767225600000,
     "action": "lock" | "unlock" | "call_staff" | "spot_check_rate", "args": {...}}

It is carried out only when the signature is the store's, it is for this store and this cart
(or every cart), it is at most ``max_age_ms`` old by the cart's clock (and not from the future
beyond the skew), and its id was never seen before (replay). Each one, carried out or refused,
is journaled: a ``command`` record in the outbox (so the store sees what the cart did with it)
and its id kept in the journal's ``link_state``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from cart.basket.journal.outbox import Outbox, Record
from cart.common import wire

log = logging.getLogger(__name__)
ACTIONS = ("lock", "unlock", "call_staff", "spot_check_rate")


class CommandRefused(ValueError):
    pass


def check_args(action: str, args: Any) -> dict[str, Any]:
    if not isinstance(args, Mapping):
        raise CommandRefused("args must be an object")
    if action == "spot_check_rate":
        rate, band = args.get("rate"), args.get("band", "all")
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise CommandRefused("spot_check_rate needs a rate between 0 and 1")
        if band not in ("all", "low", "medium", "high"):
            raise CommandRefused("band must be all, low, medium or high")
        return {"rate": float(rate), "band": band}
    reason = args.get("reason", "")
    return {"reason": reason if isinstance(reason, str) else ""}


class CommandHandler:
    """``handle(doc)`` -> ``(outcome, detail)``; ``act(action, args)`` carries it out."""

    def __init__(
        self,
        journal,
        *,
        store_id: str,
        cart_id: str,
        keys: Mapping[str, bytes],
        now_ms: Callable[[], int],
        act: Callable[[str, dict[str, Any]], None],
        max_age_ms: int = 10 * 60_000,
        skew_ms: int = 2 * 60_000,
    ) -> None:
        self.outbox = Outbox(journal)
        self.store_id, self.cart_id, self.keys = store_id, cart_id, dict(keys)
        self.now_ms, self.act = now_ms, act
        self.max_age_ms, self.skew_ms = max_age_ms, skew_ms
        self.done = 0
        self.refused = 0

    def _check(self, doc: Any) -> dict[str, Any]:
        try:
            body = wire.verify_envelope(doc, "command", self.keys)
        except wire.SignatureRefused as exc:
            raise CommandRefused(str(exc)) from None
        cid, action, t_ms = body.get("id"), body.get("action"), body.get("t_ms")
        if not isinstance(cid, str) or not 0 < len(cid) <= 100:
            raise CommandRefused("the command has no id")
        if body.get("store") != self.store_id:
            raise CommandRefused(f"command {cid} is for store {body.get('store')!r}")
        if body.get("cart") not in (self.cart_id, "*"):
            raise CommandRefused(f"command {cid} is for cart {body.get('cart')!r}")
        if action not in ACTIONS:
            raise CommandRefused(f"command {cid}: unknown action {action!r}")
        if not isinstance(t_ms, int):
            raise CommandRefused(f"command {cid} has no time")
        now = self.now_ms()
        if t_ms < now - self.max_age_ms:
            raise CommandRefused(f"command {cid} expired")
        if t_ms > now + self.skew_ms:
            raise CommandRefused(f"command {cid} is from the future")
        if self.outbox.get(f"command.{cid}") is not None:
            raise CommandRefused(f"command {cid} was already received (replayed)")
        return {**body, "args": check_args(action, body.get("args", {}))}

    def handle(self, doc: Any) -> tuple[str, str]:
        try:
            body = self._check(doc)
        except CommandRefused as exc:
            self.refused += 1
            log.error("store command refused: %s", exc)
            self._journal(doc, "refused", str(exc))
            return "refused", str(exc)
        self.act(body["action"], body["args"])
        self.done += 1
        log.info("store command %s: %s %s", body["id"], body["action"], body["args"])
        self._journal(doc, "done", "", body["id"])
        return "done", ""

    def _journal(self, doc: Any, outcome: str, detail: str, cid: str | None = None) -> None:
        """The command and its outcome, in the journal (one transaction)."""
        raw = wire.canonical(doc) if doc is not None else b"null"
        rid = f"cmd.{cid}" if cid else f"cmd.refused.{hashlib.sha256(raw).hexdigest()[:16]}"
        body = doc.get("body") if isinstance(doc, dict) else None
        rec = Record(
            rid,
            "command",
            self.now_ms(),
            "",
            {
                "outcome": outcome,
                "detail": detail,
                "command": body if isinstance(body, dict) else None,
            },
        )
        self.outbox.add([rec], seen=f"command.{cid}" if cid else None)
