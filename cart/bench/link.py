"""``cart bench link``: carts publishing a day of trips each over loopback into the store
database, through one store broker and then through a two-broker bridge (docs/LINK.md).

Everything is real but the shoppers: Mosquitto with TLS, client certificates and the ACL; each
simulated cart (``cart.sim.link_fleet.SimCart``) with its own journal, outbox and MQTT client;
``cart store serve`` as its own process (so its memory can be read) writing to PostgreSQL.
Trips come from the trip simulator: a pool is played once, then each cart journals trips drawn
from it under its own session ids (its receipts, audits, telemetry and staff actions are its
journal's own outbox records).

Runs: ``single`` journals the day as fast as the carts can (a capacity test: its delays are
queueing behind the store service), ``paced`` a few rounds with every cart finishing a trip
every ``pace_s`` seconds (still far busier than a store: the delay a trip's records see),
``bridge`` the day again through the bridge.

Measured: records per second into PostgreSQL (first to last commit), the end-to-end delay of
each receipt, audit and telemetry record (the cart's journal commit to the store database's
commit, both on this host's clock) as p50/p99, the broker's and the service's resident memory,
and exactly once (every record in the database once). ``--outage-s`` stops the store broker
for the middle third of the day (at least that long) while the carts go on journaling trips.
The bridge run: the carts on a store broker that bridges their topics to a central broker,
where the service is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cart.common import wire
from cart.common.mqtt import Endpoint


def _percentile(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def bridge_config(store: str, central_port: int) -> str:
    base = f"{wire.ROOT}/{wire.VERSION}/{store}"
    return "\n".join(
        [
            "connection central",
            f"address 127.0.0.1:{central_port}",
            "cleansession false",
            "bridge_protocol_version mqttv50",
            f"topic {base}/cart/+/record out 1",
            f"topic {base}/cart/+/presence out 1",
            f"topic {base}/cart/+/health out 1",
            f"topic {base}/cart/+/ack in 1",
            f"topic {base}/catalog in 1",
            f"topic {base}/command in 1",
            f"topic {base}/cart/+/command in 1",
        ]
    )


class _Service:
    """``cart store serve`` in a process of its own."""

    def __init__(self, dsn: str, endpoint: Endpoint, folder: Path) -> None:
        cmd = [sys.executable, "-m", "cart", "store", "serve", "--db", dsn]
        cmd += ["--broker", f"{endpoint.host}:{endpoint.port}"]
        if endpoint.tls:
            cmd += ["--ca", str(endpoint.ca), "--cert", str(endpoint.cert)]
            cmd += ["--key", str(endpoint.key)]
        log = open(folder / "service.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)

    def rss_kib(self) -> int:
        from cart.sim.services import rss_kib

        return rss_kib(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _wait_online(dsn: str, carts: int, timeout: float = 120.0) -> None:
    """Until the store database has every cart's presence (the service is subscribed)."""
    import psycopg

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with psycopg.connect(dsn) as conn:
                n = conn.execute("SELECT count(*) FROM carts WHERE online").fetchone()[0]
            if n >= carts:
                return
        except psycopg.Error:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"not all {carts} carts came online within {timeout:.0f} s")


CARTS_PER_PROCESS = 40


def _start_workers(folder: Path, ca, port: int, carts: int, pool) -> list:
    """The fleet in processes of at most ``CARTS_PER_PROCESS`` carts (``fleet_worker``)."""
    import multiprocessing as mp

    from cart.sim.link_fleet import fleet_worker

    ctx = mp.get_context("spawn")
    specs = []
    for i in range(carts):
        cid = f"cart-{i:03d}"
        issued = ca.issue(cid, folder=folder / "pki" / "carts")
        specs.append((cid, Endpoint("127.0.0.1", port, ca.cert_path, issued.cert, issued.key)))
    workers = []
    for k in range(0, carts, CARTS_PER_PROCESS):
        parent, child = ctx.Pipe()
        args = (child, str(folder / "carts"), specs[k : k + CARTS_PER_PROCESS], pool, 10.0)
        proc = ctx.Process(target=fleet_worker, args=args, daemon=True)
        proc.start()
        workers.append((parent, proc))
    for conn, _ in workers:
        conn.recv()  # ready
    return workers


def _stop_workers(workers) -> None:
    for conn, proc in workers:
        try:
            conn.send(("close",))
            if conn.poll(60):
                conn.recv()
        except (OSError, EOFError):
            pass
        proc.join(10)
        if proc.is_alive():
            proc.terminate()


def run_day(
    *,
    pg,
    pool,
    carts: int,
    trips: int,
    bridge: bool,
    outage_s: float,
    pace_s: float = 0.0,
    progress=None,
) -> dict:
    from cart.office import db
    from cart.office.pki import StoreCA, acl_text
    from cart.sim.services import Broker
    from cart.store.loading import load_store

    store = load_store()
    sid = store.config.id
    folder = Path(tempfile.mkdtemp(prefix="cart-bench-link-"))
    ca = StoreCA(folder / "pki")
    server = ca.issue("localhost", server=True)
    central = None
    if bridge:
        central = Broker(folder, tls=None, plain=True, name="central").start()
    broker = Broker(
        folder,
        tls=(ca.cert_path, server.cert, server.key),
        acl=acl_text(sid),
        plain=False,
        bridge=bridge_config(sid, central.plain_port) if central else "",
        name="store",
    ).start()
    dsn = pg.create_database()
    if central is not None:
        svc_ep = Endpoint("127.0.0.1", central.plain_port)
    else:
        svc_cert = ca.issue("store-service")
        svc_ep = Endpoint("127.0.0.1", broker.port, ca.cert_path, svc_cert.cert, svc_cert.key)
    service = _Service(dsn, svc_ep, folder)
    workers: list = []
    try:
        workers = _start_workers(folder, ca, broker.port, carts, pool)
        # every cart connected, the service (and the bridge) passing their presence on
        _wait_online(dsn, carts, timeout=120.0 + 2.0 * carts)
        t0 = time.time()
        # the outage: the broker down from a third of the day to two thirds, the carts
        # journaling all along, and down for outage_s at least
        down = (trips // 3, 2 * trips // 3) if outage_s > 0 else (-1, -1)
        down_at = 0.0
        for r in range(trips):
            if r == down[0]:
                broker.stop()
                down_at = time.time()
            if r == down[1]:
                time.sleep(max(0.0, outage_s - (time.time() - down_at)))
                broker.start()
            for conn, _ in workers:
                conn.send(("round", r))
            for conn, _ in workers:
                conn.recv()
            time.sleep(pace_s)
            if progress:
                progress(f"round {r + 1}/{trips}: {carts * (r + 1)} trips journaled")
        written = time.time() - t0
        times: dict = {}
        expected = pending = 0
        for conn, _ in workers:
            conn.send(("drain", 600.0))
        for conn, _ in workers:
            _, p, w, t = conn.recv()
            pending, expected = pending + p, expected + w
            times.update(t)
        broker_rss = broker.rss_kib() + (central.rss_kib() if central else 0)
        service_rss = service.rss_kib()
        with db.connect(dsn) as conn:
            counts = db.counts(conn)
            dup = db.duplicates(conn)
            span = conn.execute(
                "SELECT extract(epoch FROM max(received_at) - min(received_at)) FROM records"
            ).fetchone()[0]
            got = {
                (cart, rid): ts.timestamp()
                for cart, rid, ts in conn.execute("SELECT cart, id, received_at FROM records")
            }
    finally:
        _stop_workers(workers)
        service.stop()
        broker.stop()
        if central is not None:
            central.stop()
        shutil.rmtree(folder, ignore_errors=True)
    delays = [(got[key] - t) * 1000 for key, t in times.items() if key in got]
    return {
        "carts": carts,
        "trips_per_cart": trips,
        "trips": carts * trips,
        "pending_left": pending,
        "records": counts["records"],
        "records_expected": expected,
        "receipts": counts["receipts"],
        "audits": counts["audits"],
        "exactly_once": counts["records"] == expected and dup == 0 and pending == 0,
        "journal_s": round(written, 2),
        "records_per_s": round(counts["records"] / float(span or 1), 1),
        "delay_ms": {
            "p50": round(_percentile(delays, 0.5), 1),
            "p99": round(_percentile(delays, 0.99), 1),
            "max": round(max(delays or [0]), 1),
        },
        "broker_rss_kib": broker_rss,
        "service_rss_kib": service_rss,
        "outage_s": outage_s,
        "pace_s": pace_s,
    }


def run_bench(
    *,
    carts: int,
    trips: int,
    pool: int,
    bridge: bool,
    outage_s: float,
    seed: int,
    paced_trips: int = 5,
    pace_s: float = 3.0,
    progress=None,
) -> dict:
    from cart.sim.link_fleet import play_trips
    from cart.sim.services import Postgres
    from cart.store.loading import load_store

    played = play_trips(load_store(), [seed * 1_000_003 + i for i in range(pool)])
    pg = Postgres().start()
    try:
        out = {"bench": "link", "host_cpus": os.cpu_count(), "pool_trips": pool}
        out["single"] = run_day(
            pg=pg,
            pool=played,
            carts=carts,
            trips=trips,
            bridge=False,
            outage_s=outage_s,
            progress=progress,
        )
        # the delay at a store's pace: the same carts, a trip each every few seconds (a real
        # store's 200 carts finish a trip every few seconds between them, not every cart)
        out["paced"] = run_day(
            pg=pg,
            pool=played,
            carts=carts,
            trips=paced_trips,
            bridge=False,
            outage_s=0.0,
            pace_s=pace_s,
            progress=progress,
        )
        if bridge:
            out["bridge"] = run_day(
                pg=pg,
                pool=played,
                carts=carts,
                trips=trips,
                bridge=True,
                outage_s=0.0,
                progress=progress,
            )
    finally:
        pg.stop()
    return out
