"""``cart gate verify CODE``: the exit gate's program (``cart.basket.gate``), and
``cart bench spotcheck``: the measured spot-check rate per risk band against the configured one.

Exit status of ``cart gate verify``: 0 OPEN, 3 SPOT CHECK, 1 REFUSE (also when the gate itself
is not configured: it fails closed), 2 bad arguments.
"""

from __future__ import annotations

import os
import sys


def register(sub) -> None:
    p = sub.add_parser("gate", help="the exit gate: verify a cart's exit code")
    gs = p.add_subparsers(dest="gate_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])
    v = gs.add_parser("verify", help="check an exit code: OPEN (0), SPOT CHECK (3), REFUSE (1)")
    v.add_argument("code", help="the exit code as scanned ('-': read one line from stdin)")
    v.add_argument("--store", default=None, help="store folder (default: the demo store)")
    v.add_argument(
        "--carts",
        default=None,
        help="the carts' public keys (default: carts.toml in the store folder)",
    )
    v.add_argument(
        "--db",
        default=os.environ.get("CART_STORE_DB"),
        help="the store database (PostgreSQL DSN; default $CART_STORE_DB): the carts' public "
        "keys are read from it instead of the carts file",
    )
    v.add_argument(
        "--seen",
        default=None,
        help="SQLite file of trips already through the gate (default: "
        "$CART_GATE_SEEN or var/gate-seen.sqlite)",
    )
    v.add_argument(
        "--max-age",
        type=float,
        default=None,
        metavar="MIN",
        help="minutes a code stays valid after check-out (default 15)",
    )
    v.add_argument(
        "--now",
        type=int,
        default=None,
        metavar="MS",
        help="the gate's time, Unix epoch ms (default: the clock)",
    )
    v.add_argument("--json", action="store_true", help="one JSON line instead of text")
    v.set_defaults(func=_verify)


def register_bench(sub) -> None:
    b = sub.add_parser(
        "spotcheck", help="spot-check rate per risk band over simulated trips vs the store's"
    )
    b.add_argument("--trips", type=int, default=1000, help="trips per risk band")
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--store", default=None, help="store folder (default: the demo store)")
    b.set_defaults(func=_bench)


def _db_carts(dsn: str, store_id: str) -> dict[str, bytes]:
    """The carts' public keys from the store database (``cart store register-carts``)."""
    from cart.office import db

    try:
        with db.connect(dsn) as conn:
            return db.cart_keys(conn, store_id)
    except db.StoreDbError as exc:
        raise OSError(str(exc)) from None


def _verify(args) -> int:
    import json
    from pathlib import Path

    from cart.basket.gate import (
        DEFAULT_MAX_AGE_MIN,
        DEFAULT_SEEN,
        REFUSE,
        SeenSessions,
        refuse,
        verify_at_gate,
    )
    from cart.common.clock import SystemClock
    from cart.common.keys import CARTS_FILE, KeyFileError, load_carts
    from cart.store.loading import DEMO_STORE, CatalogError, load_store

    code = sys.stdin.readline() if args.code == "-" else args.code
    max_age = DEFAULT_MAX_AGE_MIN if args.max_age is None else args.max_age
    if not 0 < max_age <= 24 * 60:
        print("--max-age: between 0 and 1440 minutes", file=sys.stderr)
        return 2
    store = None
    try:
        store = load_store(args.store or DEMO_STORE)
        carts = (
            _db_carts(args.db, store.config.id)
            if args.db and not args.carts
            else load_carts(args.carts or Path(store.path) / CARTS_FILE)
        )
        seen = SeenSessions(args.seen or os.environ.get("CART_GATE_SEEN") or DEFAULT_SEEN)
    except (CatalogError, KeyFileError, OSError) as exc:
        verdict = refuse("gate_not_configured", str(exc).replace("\n", "; "))
    else:
        now = args.now if args.now is not None else SystemClock().now_ms()
        with seen:
            verdict = verify_at_gate(
                code,
                store_id=store.config.id,
                carts=carts,
                now_ms=now,
                seen=seen,
                max_age_ms=round(max_age * 60_000),
            )
    c = verdict.claim
    if args.json:
        out = {
            "outcome": verdict.outcome,
            "status": verdict.status,
            "reason": verdict.reason,
            "detail": verdict.detail,
        }
        if c is not None:
            out["claim"] = {
                "store": c.store,
                "cart": c.cart,
                "session": c.session,
                "total": c.total,
                "items": c.items,
                "t_ms": c.t_ms,
                "spot_check": c.spot_check,
                "band": c.band,
            }
        print(json.dumps(out, ensure_ascii=True))
        return verdict.status
    if verdict.outcome == REFUSE:
        print(f"REFUSE: {verdict.reason}: {verdict.detail}")
    else:
        print(f"{verdict.outcome}: {verdict.detail}")
    if c is not None:
        total = (
            store.config.format_money(c.total)
            if store is not None and c.store == store.config.id
            else f"{c.total} (minor units)"
        )
        print(f"  store {c.store}  cart {c.cart}  session {c.session}")
        print(f"  total {total}  items {c.items}  checked out at {_when(c.t_ms)}")
    return verdict.status


def _when(t_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _bench(args) -> int:
    import json

    from cart.store.loading import DEMO_STORE, CatalogError, load_store

    if args.trips < 1:
        print("--trips must be at least 1", file=sys.stderr)
        return 2
    try:
        store = load_store(args.store or DEMO_STORE)
    except CatalogError as exc:
        print(exc, file=sys.stderr)
        return 2
    from cart.bench.spotcheck import run_bench

    out = run_bench(store, trips=args.trips, seed=args.seed)
    for band, r in out["bands"].items():
        print(
            f"{band:<7} configured {r['configured']:.3f}  measured {r['measured']:.3f} "
            f"({r['checked']}/{r['trips']})  ratio {r['ratio']:.3f}  "
            f"{'within' if r['within_tolerance'] else 'OUTSIDE'} 3-sigma binomial tolerance"
        )
    print(json.dumps(out))
    return 0
