"""``cart run`` with a ``[link]`` section: the link put beside the runtime.

The cart's id is its key's (``cart keys init``): the same id signs its exit codes, names its
certificate (the broker's user name) and its topics. The store's catalogue kept from an earlier
push is verified and used from the start; later pushes go to the engine for the next trip;
commands go to the engine once verified. Health is the screen's own device states, the versions
and the outbox counters.
"""

from __future__ import annotations

import logging

from cart.app.link.catalog import CatalogueKeeper
from cart.app.link.client import CartLink
from cart.app.link.commands import CommandHandler
from cart.app.link.config import LinkConfig

log = logging.getLogger(__name__)


class LinkSource:
    """The link as one of the runtime's sources: closed with it."""

    def __init__(self, link: CartLink) -> None:
        self.link = link

    def close(self) -> None:
        self.link.stop()


def device_health(runtime) -> dict:
    out = {}
    for d in runtime.view.devices:
        state = "ok" if d.state == "connected" else d.state
        out[d.name] = {"state": state, **({"detail": d.detail} if d.detail else {})}
    return out


def attach_link(runtime, cfg: LinkConfig, key, *, versions: dict, clock) -> CartLink:
    """Start the link for ``runtime`` (whose journal was opened with the outbox)."""
    engine = runtime.engine
    journal = engine.session.journal
    store_id = engine.store.config.id
    keeper = CatalogueKeeper(
        cfg.catalog_dir,
        store_id=store_id,
        keys=cfg.store_keys,
        apply=lambda store, version: runtime.call_soon(engine.offer_store, store),
    )
    kept = keeper.saved()
    if kept is not None:
        runtime.call_soon(
            engine.offer_store, kept
        )  # from the next trip (a trip under way keeps its prices)
    commands = CommandHandler(
        journal,
        store_id=store_id,
        cart_id=key.cart_id,
        keys=cfg.store_keys,
        now_ms=clock.now_ms,
        act=lambda action, args: runtime.call_soon(engine.store_command, action, args),
    )

    def health() -> dict:
        return {
            "devices": device_health(runtime),
            "versions": {**versions, "catalog": keeper.version},
            "battery": None,
            "locked": bool(engine.locked),
        }

    link = CartLink(
        journal,
        store_id=store_id,
        cart_id=key.cart_id,
        endpoint=cfg.endpoint,
        health=health,
        on_catalog=keeper.offer,
        on_command=commands.handle,
        resend_s=cfg.resend_s,
    )
    runtime.add_source(LinkSource(link))
    link.start()
    log.info("link: cart %s to %s:%d", key.cart_id, cfg.endpoint.host, cfg.endpoint.port)
    return link
