"""``cart store ...``: the store service and its tools (``cart.office``; docs/LINK.md).

- ``serve``: subscribe to the store's carts and write their records into PostgreSQL;
- ``carts``: fleet status; ``receipt ID|CODE``: one trip's receipt (a till hands the basket
  over by scanning the exit code); ``register-carts``: the carts' public keys for the gates;
- ``publish-catalog DIR``: sign the store folder as the next version and push it;
- ``command CART ACTION``: a signed command (lock, unlock, call_staff, spot_check_rate).

The database is ``--db`` or ``$CART_STORE_DB`` (a libpq DSN); the broker ``--broker HOST:PORT``
or ``$CART_STORE_BROKER`` with ``--ca/--cert/--key`` (the service's client certificate).
"""

from __future__ import annotations

import os
import sys


def _broker_args(p) -> None:
    p.add_argument("--broker", default=os.environ.get("CART_STORE_BROKER", "127.0.0.1:8883"))
    p.add_argument("--ca", default=os.environ.get("CART_STORE_CA"), help="the store CA")
    p.add_argument("--cert", default=os.environ.get("CART_STORE_CERT"), help="our certificate")
    p.add_argument("--key", default=os.environ.get("CART_STORE_CERT_KEY"), help="its key")
    p.add_argument("--client-id", default="store-service")


def _db_arg(p) -> None:
    p.add_argument("--db", default=os.environ.get("CART_STORE_DB"), help="PostgreSQL DSN")


def register(sub) -> None:
    p = sub.add_parser("store", help="the store service: serve, carts, receipt, publish-catalog")
    ss = p.add_subparsers(dest="store_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])
    s = ss.add_parser("serve", help="write the carts' records into the store database")
    _db_arg(s)
    _broker_args(s)
    s.add_argument("--store", default=None, help="store folder (default: the demo store)")
    s.set_defaults(func=_serve)
    c = ss.add_parser("carts", help="fleet status: online, battery, last trip, errors, versions")
    _db_arg(c)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=_carts)
    r = ss.add_parser("receipt", help="a trip's receipt by session id or exit code")
    _db_arg(r)
    r.add_argument("id", help="the session id (as on the receipt) or the CX1 exit code")
    r.add_argument("--cart", default=None, help="the cart, when session ids repeat")
    r.add_argument("--format", choices=("text", "json", "orf"), default="text")
    r.set_defaults(func=_receipt)
    g = ss.add_parser("register-carts", help="put carts.toml's public keys in the database")
    _db_arg(g)
    g.add_argument("--store", default=None, help="store folder (default: the demo store)")
    g.add_argument("--carts", default=None, help="default: carts.toml in the store folder")
    g.set_defaults(func=_register)
    pc = ss.add_parser("publish-catalog", help="sign the store folder and push it to the carts")
    pc.add_argument("dir", help="the store folder (store.toml, catalog.toml)")
    pc.add_argument("--signing-key", required=True, help="the store's key folder (cart keys)")
    pc.add_argument("--version", type=int, default=None, help="default: the last one + 1")
    _db_arg(pc)
    _broker_args(pc)
    pc.set_defaults(func=_publish)
    cm = ss.add_parser("command", help="send a signed command to a cart (or '*': all)")
    cm.add_argument("cart")
    cm.add_argument("action", choices=("lock", "unlock", "call_staff", "spot_check_rate"))
    cm.add_argument("--rate", type=float, default=None)
    cm.add_argument("--band", default="all")
    cm.add_argument("--reason", default="")
    cm.add_argument("--store-id", default=None, help="default: the demo store's id")
    cm.add_argument("--signing-key", required=True, help="the store's key folder")
    _broker_args(cm)
    cm.set_defaults(func=_command)


def register_bench(sub) -> None:
    b = sub.add_parser(
        "link", help="carts x a day of trips over loopback MQTT into PostgreSQL; the bridge run"
    )
    b.add_argument("--carts", type=int, default=200)
    b.add_argument("--trips", type=int, default=30, help="trips per cart (a day)")
    b.add_argument("--pool", type=int, default=40, help="distinct simulated trips played")
    b.add_argument("--outage-s", type=float, default=0.0, help="stop the broker mid-day")
    b.add_argument("--no-bridge", action="store_true", help="skip the two-broker bridge run")
    b.add_argument("--paced-trips", type=int, default=5, help="trips per cart, paced run")
    b.add_argument("--pace-s", type=float, default=3.0, help="seconds between paced rounds")
    b.add_argument("--seed", type=int, default=1)
    b.set_defaults(func=_bench)


def _bench(args) -> int:
    import json
    import signal

    # a stopped benchmark stops its brokers, service and database too (the finally blocks run)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from cart.bench.link import run_bench
    from cart.sim.services import ServiceUnavailable

    try:
        out = run_bench(
            carts=args.carts,
            trips=args.trips,
            pool=args.pool,
            bridge=not args.no_bridge,
            outage_s=args.outage_s,
            seed=args.seed,
            paced_trips=args.paced_trips,
            pace_s=args.pace_s,
            progress=lambda m: print(m, file=sys.stderr),
        )
    except ServiceUnavailable as exc:
        print(f"cart bench link: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(out))
    return 0


def _endpoint(args):
    from pathlib import Path

    from cart.common.mqtt import Endpoint

    host, _, port = args.broker.rpartition(":")
    paths = [Path(x) if x else None for x in (args.ca, args.cert, args.key)]
    return Endpoint(host or "127.0.0.1", int(port), *paths)


def _need_db(args) -> str | None:
    if not args.db:
        print("no store database: --db DSN or $CART_STORE_DB", file=sys.stderr)
    return args.db


def _serve(args) -> int:
    import signal
    import threading

    from cart.office.db import StoreDbError
    from cart.office.serve import StoreService
    from cart.store.loading import DEMO_STORE, CatalogError, load_store

    if not _need_db(args):
        return 2
    try:
        store = load_store(args.store or DEMO_STORE)
        svc = StoreService(
            args.db, store.config.id, _endpoint(args), client_id=args.client_id
        ).start()
    except (CatalogError, StoreDbError, ValueError, OSError) as exc:
        print(f"cart store serve: {exc}", file=sys.stderr)
        return 1
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(f"serving store {store.config.id} from {args.broker}", file=sys.stderr)
    done.wait()
    svc.stop()
    return 0


def _carts(args) -> int:
    import json

    from cart.office import db

    if not _need_db(args):
        return 2
    try:
        with db.connect(args.db) as conn:
            rows = db.fleet(conn)
    except db.StoreDbError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=True))
        return 0
    import datetime as dt

    head = f"{'cart':<16} {'online':<6} {'battery':<7} {'trips':>5} {'last trip':<16}"
    print(f"{head} {'catalog':>7} {'software':<10} {'outbox':>6}  errors")
    for r in rows:
        bat = "-" if r["battery"] is None else f"{r['battery']}%"
        v = r["versions"]
        last = (
            dt.datetime.fromtimestamp(r["last_trip_ms"] / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")
            if r["last_trip_ms"]
            else "-"
        )
        errs = "; ".join(r["errors"]) or "-"
        online = "yes" if r["online"] else "no"
        pending = r["outbox"].get("pending", "-")
        print(
            f"{r['cart']:<16} {online:<6} {bat:<7} {r['trips']:>5} {last:<16} "
            f"{v.get('catalog', '-')!s:>7} {v.get('software', '-')!s:<10} {pending!s:>6}  {errs}"
        )
    return 0


def _receipt(args) -> int:
    import json

    from cart.basket.exitcode import ExitCodeError, verify
    from cart.basket.receipt import render_text
    from cart.office import db
    from cart.office.receipts import to_orf

    if not _need_db(args):
        return 2
    try:
        with db.connect(args.db) as conn:
            session, cart = args.id.strip(), args.cart
            if session.startswith("CX1:"):
                claim = verify(session, db.cart_keys(conn))
                session, cart = claim.session, claim.cart
            found = db.receipt(conn, session, cart)
    except ExitCodeError as exc:
        print(f"that exit code is not one of our carts': {exc}", file=sys.stderr)
        return 1
    except db.StoreDbError as exc:
        print(exc, file=sys.stderr)
        return 1
    if found is None:
        print(f"no single receipt for {session!r} (give --cart if ids repeat)", file=sys.stderr)
        return 1
    cart, receipt = found
    if args.format == "json":
        print(json.dumps({"cart": cart, "receipt": receipt}, ensure_ascii=False))
    elif args.format == "orf":
        print(json.dumps(to_orf(receipt, cart), ensure_ascii=False))
    else:
        print(f"cart {cart}")
        print(render_text(receipt), end="")
    return 0


def _register(args) -> int:
    from pathlib import Path

    from cart.common.keys import CARTS_FILE, KeyFileError, load_carts
    from cart.office import db
    from cart.store.loading import DEMO_STORE, CatalogError, load_store

    if not _need_db(args):
        return 2
    try:
        store = load_store(args.store or DEMO_STORE)
        keys = load_carts(args.carts or Path(store.path) / CARTS_FILE)
        with db.connect(args.db) as conn:
            db.register_carts(conn, store.config.id, keys)
    except (CatalogError, KeyFileError, db.StoreDbError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{len(keys)} cart key(s) registered for store {store.config.id}")
    return 0


def _publish(args) -> int:
    from cart.common.clock import SystemClock
    from cart.common.keys import KeyFileError, load_key
    from cart.office import db
    from cart.office.publish import PublishError, publish_catalog
    from cart.store.loading import CatalogError, load_store

    try:
        key = load_key(args.signing_key)
        store_id = load_store(args.dir).config.id
        version = args.version
        conn = db.connect(args.db) if args.db else None
        if version is None:
            if conn is None:
                print("--version N, or --db to take the last one + 1", file=sys.stderr)
                return 2
            version = db.latest_catalog(conn, store_id) + 1
        body = publish_catalog(
            args.dir,
            version=version,
            t_ms=SystemClock().now_ms(),
            key=key,
            endpoint=_endpoint(args),
            client_id=args.client_id,
        )
        if conn is not None:
            db.note_catalog(conn, store_id, version, body["digest"])
            conn.close()
    except (CatalogError, KeyFileError, PublishError, db.StoreDbError, ValueError) as exc:
        print(f"cart store publish-catalog: {exc}", file=sys.stderr)
        return 1
    print(f"catalogue v{version} of store {store_id} published ({body['digest'][:12]})")
    return 0


def _command(args) -> int:
    from cart.common import wire
    from cart.common.clock import SystemClock
    from cart.common.keys import KeyFileError, load_key
    from cart.office.publish import PublishError, command, publish_once
    from cart.store.loading import load_store

    cmd_args = {"reason": args.reason}
    if args.action == "spot_check_rate":
        if args.rate is None:
            print("spot_check_rate needs --rate (0..1)", file=sys.stderr)
            return 2
        cmd_args = {"rate": args.rate, "band": args.band}
    try:
        key = load_key(args.signing_key)
        store_id = args.store_id or load_store().config.id
        topic, doc = command(
            store_id, args.cart, args.action, cmd_args, SystemClock().now_ms(), key
        )
        publish_once(_endpoint(args), args.client_id, topic, wire.canonical(doc))
    except (KeyFileError, PublishError, ValueError) as exc:
        print(f"cart store command: {exc}", file=sys.stderr)
        return 1
    print(f"command {doc['body']['id']} sent: {args.action} to {args.cart}")
    return 0
