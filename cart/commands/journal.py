"""``cart journal check FILE``: what of a journal verifies, and what does not and why; and
``cart bench journal``: journal bytes per idle hour and per trip."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    jr = sub.add_parser("journal", help="basket journal tools")
    jr_sub = jr.add_subparsers(dest="journal_cmd", metavar="ACTION")
    chk = jr_sub.add_parser(
        "check", help="verify a journal's chain, seals and high-water mark (exit 1 on a fault)"
    )
    chk.add_argument("file", help="the journal file (read only; a running cart may hold it)")
    chk.add_argument(
        "--keys",
        default=None,
        help="the cart's key folder, for a journal chained with the cart's key "
        "(default: none; $CART_KEYS or var/keys with --keys default)",
    )
    chk.add_argument("--json", action="store_true", help="print the report as JSON")
    chk.set_defaults(func=_check)
    jr.set_defaults(func=lambda a: (jr.print_help(sys.stderr), 2)[1])


def register_bench(sub) -> None:
    b = sub.add_parser("journal", help="journal bytes per idle hour and per trip")
    b.add_argument("--hours", type=float, default=1.0, help="simulated idle hours")
    b.add_argument("--trips", type=int, default=20)
    b.add_argument("--seed", type=int, default=1)
    b.set_defaults(func=_bench)


def _key(folder: str | None):
    if folder is None:
        return None
    from cart.app.stack import journal_key
    from cart.common.keys import keys_dir, load_key

    return journal_key(load_key(keys_dir(None if folder == "default" else folder)))


def _status(sc) -> str:
    if sc.faults:
        return "DAMAGED"
    return "unproven" if sc.unchained else "ok"


def _check(args) -> int:
    import os

    from cart.basket.journal import Journal, JournalError
    from cart.common.keys import KeyFileError

    if not os.path.exists(args.file):
        print(f"error: {args.file}: no such file", file=sys.stderr)
        return 1
    try:
        key = _key(args.keys)
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        with Journal(args.file, key=key, readonly=True) as j:
            check = j.check
    except JournalError as exc:
        print(f"DAMAGED {exc}", file=sys.stderr)
        return 1
    assert check is not None
    if args.json:
        out = {
            "file": args.file,
            "ok": check.ok,
            "chain": check.chain,
            "head": check.head.describe(),
            "mark": check.mark.describe() if check.mark else None,
            "faults": check.faults,
            "sessions": [
                {
                    "id": sc.id,
                    "status": sc.status,
                    "result": _status(sc),
                    "rows": sc.rows,
                    "verified": sc.verified,
                    "shown": sc.keep,
                    "faults": sc.faults,
                }
                for sc in check.sessions.values()
            ],
        }
        print(json.dumps(out, ensure_ascii=False))
        return 0 if check.ok else 1
    mark = check.mark.describe() if check.mark else "none"
    print(
        f"journal {args.file}: chain {check.chain or 'none'}, head {check.head.describe()}, "
        f"high-water mark {mark}"
    )
    counts = {"ok": 0, "DAMAGED": 0, "unproven": 0}
    for sc in check.sessions.values():
        st = _status(sc)
        counts[st] += 1
        status = sc.status.replace("_", " ")
        if st == "ok":
            print(f"  ok        session {sc.id}: {sc.rows} rows, {status}")
        elif st == "unproven":
            print(f"  unproven  session {sc.id}: {sc.rows} rows, {status}, before the chain")
        else:
            print(
                f"  DAMAGED   session {sc.id}: {sc.verified} of {sc.rows} rows verify "
                f"({sc.keep} can be shown), {status}"
            )
            for f in sc.faults:
                print(f"            {f}")
    for f in check.faults:
        print(f"  FAULT     {f}")
    print(
        f"{len(check.sessions)} session(s): {counts['ok']} verify, {counts['DAMAGED']} "
        f"damaged, {counts['unproven']} before the chain; {len(check.faults)} journal "
        f"fault(s): {'OK' if check.ok else 'DAMAGED'}"
    )
    return 0 if check.ok else 1


def _bench(args) -> int:
    from cart.bench.journal import run

    print(json.dumps(run(args.hours, args.trips, args.seed)))
    return 0
