"""``cart catalog check``, ``cart barcode``, ``cart receipt`` and ``cart bench core``."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    cat = sub.add_parser("catalog", help="store catalogue tools")
    cat_sub = cat.add_subparsers(dest="catalog_cmd", metavar="ACTION")
    chk = cat_sub.add_parser("check", help="validate a store folder, store.toml or catalog.toml")
    chk.add_argument("file", help="store folder or one of its files")
    chk.set_defaults(func=_catalog_check)
    cat.set_defaults(func=lambda a: (cat.print_help(sys.stderr), 2)[1])

    bc = sub.add_parser("barcode", help="say what a barcode means (or why it is rejected)")
    bc.add_argument("code", help="the scanned text (may start with an AIM identifier like ]E0)")
    bc.add_argument("--symbology", default="", help="AIM identifier sent separately, e.g. ]E0")
    bc.add_argument("--store", default=None, help="store folder (default: the demo store)")
    bc.add_argument(
        "--at-ms",
        type=int,
        default=None,
        help="'now' for expiry checks, epoch ms (default: the system clock)",
    )
    bc.add_argument("--json", action="store_true", help="print JSON")
    bc.set_defaults(func=_barcode)

    rc = sub.add_parser("receipt", help="print a checked-out session's receipt")
    rc.add_argument("session", nargs="?", default=None, help="session id (default: the latest)")
    rc.add_argument(
        "--journal",
        default=None,
        help="journal file (default: $CART_JOURNAL or var/journal.sqlite)",
    )
    rc.add_argument("--json", action="store_true", help="print the receipt's JSON")
    rc.set_defaults(func=_receipt)


def register_bench(sub) -> None:
    b = sub.add_parser("core", help="basket events/s: journaled (SQLite WAL) vs in memory")
    b.add_argument("--events", type=int, default=3000)
    b.add_argument("--seed", type=int, default=1)
    b.set_defaults(func=_bench)


# ---------------------------------------------------------------------------------------------


def _catalog_check(args) -> int:
    from cart.store.loading import CatalogError, load_store

    try:
        store = load_store(args.file)
    except CatalogError as exc:
        for p in exc.problems:
            print(p, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing loaded", file=sys.stderr)
        return 1
    c = store.catalog
    print(
        f"OK {store.path}: store {store.config.id} ({store.config.currency}, "
        f"{store.config.tax_mode} tax), {len(c)} products, {len(c.promotions)} promotions, "
        f"{len(c.coupons)} coupons, {len(c.labels)} classifier labels"
    )
    return 0


def _barcode(args) -> int:
    from cart.common.clock import SystemClock
    from cart.store.barcodes import lookup
    from cart.store.loading import DEMO_STORE, CatalogError, load_store

    try:
        store = load_store(args.store or DEMO_STORE)
    except CatalogError as exc:
        print(exc, file=sys.stderr)
        return 2
    t_ms = args.at_ms if args.at_ms is not None else SystemClock().now_ms()
    m = lookup(store, args.code, args.symbology, t_ms)
    if args.json:
        return _barcode_json(m)
    return _barcode_text(m, store.config.format_money)


def _barcode_json(m) -> int:
    it = m.interpretation
    out = {
        "ok": m.ok,
        "reason": m.reason,
        "needs_staff": m.needs_staff,
        "interpretation": it.to_dict(),
        "product": None,
        "coupon": None,
    }
    if m.product is not None:
        p = m.product
        out["product"] = {
            "id": p.id,
            "name": p.name,
            "sold_by": p.sold_by,
            "price": p.price,
            "age_min": p.age_min,
        }
    if m.coupon is not None:
        out["coupon"] = {"code": m.coupon.code, "name": m.coupon.name, "amount": m.coupon.amount}
    from cart.common.text import visible_json

    print(visible_json(out))
    return 0 if m.ok else 1


def _barcode_text(m, fmt) -> int:
    from cart.common.text import printable, visible

    it = m.interpretation
    if not it.ok:
        print(f"rejected: {printable(it.text, 60)!s}: {visible(it.reason)}", file=sys.stderr)
        return 1
    symbology = f", {it.symbology}" if it.symbology else ""
    print(f"code:    {printable(it.text, 60)}  ({it.kind}{symbology})")
    if it.gtin:
        print(f"GTIN:    {it.gtin}")
    if it.plu:
        print(f"PLU:     {it.plu}{' (organic)' if it.organic else ''}")
    if it.price is not None:
        print(f"price:   {fmt(it.price)} (in the code)")
    if it.weight_g is not None:
        print(f"weight:  {it.weight_g} g (in the code)")
    if it.expiry:
        print(f"expiry:  {it.expiry}")
    for w in it.warnings:
        print(f"warning: {visible(w)}")
    if m.needs_staff:
        print(f"staff:   {visible(m.needs_staff)}")
    if m.product is not None:
        p = m.product
        unit = "/kg" if p.by_weight else " each"
        extra = f", age {p.age_min}+" if p.age_min else ""
        print(f"product: {p.id}: {printable(p.name)} — {fmt(p.price)}{unit}{extra}")
        if p.by_weight and it.weight_g is not None and it.price is None:
            from cart.pricing.rounding import weight_amount

            print(f"amount:  {fmt(weight_amount(p.price, it.weight_g))}")
    if m.coupon is not None:
        print(f"coupon:  {printable(m.coupon.name)} ({fmt(m.coupon.amount)})")
    if not m.ok:
        print(f"not sellable: {visible(m.reason)}", file=sys.stderr)
        return 1
    return 0


def _receipt(args) -> int:
    from cart.basket.journal import Journal, JournalError, default_journal_path
    from cart.basket.receipt import render_text

    path = args.journal or default_journal_path()
    import os

    if not os.path.exists(path):
        print(f"no journal at {path}", file=sys.stderr)
        return 1
    try:
        with Journal(path) as j:
            if args.session is not None:
                info = j.session(args.session)
                if info is None:
                    print(f"no session {args.session!r} in {path}", file=sys.stderr)
                    return 1
                if info.status == "open":
                    print(
                        f"session {args.session!r} is still open: no receipt yet", file=sys.stderr
                    )
                    return 1
            receipt = j.receipt(args.session)
    except JournalError as exc:
        print(exc, file=sys.stderr)
        return 1
    if receipt is None:
        print(f"no checked-out session in {path}", file=sys.stderr)
        return 1
    if args.json:
        from cart.common.text import visible_json

        print(visible_json(receipt, indent=1))
    else:
        sys.stdout.write(render_text(receipt))
    return 0


def _bench(args) -> int:
    from cart.bench.core import run

    print(json.dumps(run(args.events, args.seed)))
    return 0
