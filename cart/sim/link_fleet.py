"""Simulated carts on the store link, for the outage test and ``cart bench link``.

Each :class:`SimCart` is what a cart keeps for the link: its own key, its own journal on disk
with the outbox on, its catalogue keeper and command handler, and a real
``cart.app.link.client.CartLink`` connected to a real broker with its own certificate.

Trips come from the headless trip simulator (``cart.sim.trips.TripRunner``: the shopper model
played through fusion and the core basket, no screen). A trip is played in memory, then its
journaled rows are written into the cart's own journal as the cart writes them (opened, rows
appended, closed with its receipt, the exit code issued and its decision journaled), so the
outbox records (receipt, telemetry, staff actions, audit) come from the journal's own
transactions. :meth:`SimCart.replay` writes an already played trip again under a new session id
(the benchmark: a day of trips for hundreds of carts without playing each one).

:meth:`SimCart.reboot` closes the link and the journal and opens both again: what was pending is
still in the outbox.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path

from cart.app.link.catalog import CatalogueKeeper
from cart.app.link.client import CartLink
from cart.app.link.commands import CommandHandler
from cart.basket.issuer import issue_exit_code
from cart.basket.journal import Journal
from cart.basket.journal.outbox import Outbox, OutboxLimits
from cart.common.keys import generate
from cart.common.mqtt import Endpoint


@dataclass(frozen=True, slots=True)
class PlayedTrip:
    """A trip's journaled rows and receipt, ready to be written into a cart's journal."""

    rows: tuple[tuple[int, str, dict], ...]
    receipt: dict | None
    status: str


def play_trips(store, seeds, profile: str = "typical") -> list[PlayedTrip]:
    """Play one trip per seed through the trip simulator (in memory)."""
    from cart.sim.shopper import PROFILES, ShopperModel
    from cart.sim.trips import TripRunner

    prof = PROFILES[profile]
    runner = TripRunner(store, prof)
    model = ShopperModel(list(runner.products.products()), prof)
    out = []
    for seed in seeds:
        play = _play(runner, model.trip(seed))
        out.append(play)
    return out


def _play(runner, trip) -> PlayedTrip:
    from cart.sim.trips import _Play

    p = _Play(runner, trip)
    p.run()
    info = p.journal.sessions()[0]
    rows = tuple((e.t_ms, e.kind, e.payload) for e in p.journal.events(info.id))
    receipt = p.journal.receipt(info.id)
    p.journal.close()
    return PlayedTrip(rows, receipt, info.status)


class SimCart:
    def __init__(
        self,
        folder: Path,
        cart_id: str,
        store,
        *,
        endpoint: Endpoint,
        store_keys: dict[str, bytes],
        resend_s: float = 2.0,
        poll_s: float = 0.1,
        health_s: float = 30.0,
        reconnect_max_s: int = 2,
    ) -> None:
        self.folder, self.cart_id, self.store = Path(folder), cart_id, store
        self.folder.mkdir(parents=True, exist_ok=True)
        self.key = generate(cart_id)
        self.endpoint, self.store_keys = endpoint, store_keys
        self.link_args = {
            "resend_s": resend_s,
            "poll_s": poll_s,
            "health_s": health_s,
            "reconnect_max_s": reconnect_max_s,
        }
        self.next_store = None
        self.catalog_version = 0
        self.locked = ""
        self.spot_check_rate: float | None = None
        self.trips = 0
        self.written: dict[str, float] = {}  # record id -> wall time its journal commit ended
        self.journal: Journal | None = None
        self.link: CartLink | None = None
        self._open()

    # -- life -----------------------------------------------------------------------------------

    def _open(self) -> None:
        self.journal = Journal(
            self.folder / "journal.sqlite",
            synchronous="NORMAL",
            key=self.key.derive("journal"),
            outbox=OutboxLimits(),
        )
        sid = self.store.config.id
        self.keeper = CatalogueKeeper(
            self.folder / "catalog", store_id=sid, keys=self.store_keys, apply=self._offered
        )
        self.keeper.version = self.catalog_version
        self.commands = CommandHandler(
            self.journal,
            store_id=sid,
            cart_id=self.cart_id,
            keys=self.store_keys,
            now_ms=lambda: int(time.time() * 1000),
            act=self._act,
        )
        self.link = CartLink(
            self.journal,
            store_id=sid,
            cart_id=self.cart_id,
            endpoint=self.endpoint,
            health=self._health,
            on_catalog=self.keeper.offer,
            on_command=self.commands.handle,
            **self.link_args,
        )

    def start(self) -> SimCart:
        assert self.link is not None
        self.link.start()
        return self

    def reboot(self) -> None:
        """Power off and on: the link and the journal closed and opened again."""
        self.close()
        self._open()
        self.start()

    def close(self) -> None:
        if self.link is not None:
            self.link.stop()
            self.link = None
        if self.journal is not None:
            self.journal.close()
            self.journal = None

    @property
    def outbox(self) -> Outbox:
        assert self.journal is not None
        return Outbox(self.journal)

    # -- what the store sends -------------------------------------------------------------------

    def _offered(self, store, version: int) -> None:
        self.next_store, self.catalog_version = store, version

    def _act(self, action: str, args: dict) -> None:
        if action == "lock":
            self.locked = args.get("reason") or "locked by the store"
        elif action == "unlock":
            self.locked = ""
        elif action == "spot_check_rate":
            self.spot_check_rate = args["rate"]

    def _health(self) -> dict:
        return {
            "devices": {
                "scale": {"state": "ok"},
                "scanner": {"state": "ok"},
                "camera": {"state": "ok"},
                "classifier": {"state": "ok"},
            },
            "versions": {
                "software": "sim",
                "model": "grocery_lite0_int8",
                "catalog": self.catalog_version,
            },
            "battery": None,
            "locked": bool(self.locked),
        }

    # -- trips ----------------------------------------------------------------------------------

    def write_trip(self, trip: PlayedTrip, session: str) -> str:
        """Journal a played trip as this cart's session ``session`` (between trips a new
        catalogue is taken first); returns the session id."""
        if self.next_store is not None:
            self.store, self.next_store = self.next_store, None
        j = self.journal
        assert j is not None
        rows = list(trip.rows)
        t_open = rows[0][0]
        store = self.store
        pinned = rows[0][2].get("catalog_digest") == store.digest
        sources = (store.digest, *store.sources) if store.sources[1] and pinned else None
        first = (rows[0][0], rows[0][1], {**rows[0][2], "cart": self.cart_id})
        j.open_session(session, t_open, [first], store=sources)
        body, last = rows[1:-1], rows[-1:]
        for k in range(0, len(body), 16):
            j.append(session, body[k : k + 16])
        receipt = copy.deepcopy(trip.receipt)
        if receipt is not None:
            receipt["session"] = session
        j.close_session(session, rows[-1][0], last, status=trip.status, receipt=receipt)
        if trip.status == "checked_out" and receipt is not None:
            issue_exit_code(j, store, self.key, session, receipt)
        now = time.time()
        for kind in ("receipt", "audit", "telemetry"):
            self.written[f"{session}.{kind}"] = now
        self.trips += 1
        if self.link is not None:
            self.link.kick()
        return session


def fleet_worker(conn, folder: str, carts: list[tuple[str, Endpoint]], pool, resend_s: float):
    """One process's share of a simulated fleet, driven over a pipe (``cart bench link``): a
    process holds at most a few dozen carts, as paho's loop uses ``select()``, which cannot
    watch file numbers above 1023, and each cart holds a journal's files and a socket.

    Messages in: ``("round", r)`` one trip per cart; ``("drain", timeout_s)`` wait until every
    outbox is empty; ``("close",)``. Replies: ``("ready",)``, ``("done", r)``,
    ``("drained", pending, written, {(cart, record id): wall time written})``, ``("closed",)``.
    """
    from cart.store.loading import load_store

    store = load_store()
    fleet = [
        SimCart(
            Path(folder) / cid,
            cid,
            store,
            endpoint=ep,
            store_keys={},
            resend_s=resend_s,
            poll_s=0.2,
            health_s=60.0,
        ).start()
        for cid, ep in carts
    ]
    conn.send(("ready",))
    k = 0
    while True:
        msg = conn.recv()
        if msg[0] == "round":
            for c in fleet:
                c.write_trip(pool[k % len(pool)], f"{c.cart_id}-t{msg[1]:03d}")
                k += 1
            conn.send(("done", msg[1]))
        elif msg[0] == "drain":
            deadline = time.time() + msg[1]
            while time.time() < deadline and any(c.outbox.stats()["pending"] for c in fleet):
                time.sleep(0.2)
            pending = sum(c.outbox.stats()["pending"] for c in fleet)
            written = sum(c.outbox.stats()["written"] for c in fleet)
            times = {(c.cart_id, rid): t for c in fleet for rid, t in c.written.items()}
            conn.send(("drained", pending, written, times))
        else:
            for c in fleet:
                c.close()
            conn.send(("closed",))
            return
