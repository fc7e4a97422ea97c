"""Random but valid basket event streams, reproducible from a seed.

Used by ``cart bench core``, the crash test and property tests: a stream is a function of
(store, seed) only, so a killed process and its checker can regenerate the same events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from cart.basket.fold import (
    AddLine,
    ApplyCoupon,
    Basket,
    BasketEvent,
    CheckOut,
    RaiseFlag,
    RemoveCoupon,
    RemoveLine,
    ResolveFlag,
    SetLoyalty,
    SetQuantity,
    WeighProduce,
)
from cart.store.model import Store

FLAG_KINDS = (
    "unscanned_item",
    "not_placed",
    "removed_item",
    "mismatch",
    "age_check",
    "weigh_produce",
    "staff",
)


def event_stream(
    store: Store,
    seed: int,
    t0_ms: int = 1_767_225_600_000,
    *,
    max_lines: int = 60,
    checkout_after: int | None = None,
) -> Iterator[BasketEvent]:
    """Yield valid basket events forever (or until a check-out after ``checkout_after``).

    The generator folds its own events into a private Basket to stay valid; it does not
    include the session's ``open`` event.
    """
    rng = random.Random(seed)
    cat = store.catalog
    each = [p for p in cat.products if not p.by_weight]
    weighed = [p for p in cat.products if p.by_weight and p.plu]
    coupons = list(cat.coupons.values())
    shadow = Basket(store, "gen")
    from cart.basket.fold import OpenSession

    shadow.apply(OpenSession(t0_ms, store=store.config.id, catalog_digest=store.digest))
    t = t0_ms
    n = 0
    while True:
        t += rng.randint(0, 4000)
        lines = list(shadow._lines)
        flags = shadow.open_flags
        r = rng.random()
        ev: BasketEvent
        if checkout_after is not None and n >= checkout_after:
            for f in flags:
                ev = ResolveFlag(t, flag=f.id, resolution="resolved", by="shopper")
                shadow.apply(ev)
                yield ev
            ev = CheckOut(t)
            shadow.apply(ev)
            yield ev
            return
        if flags and r < 0.15:
            f = flags[0]
            by = rng.choice(("shopper", "staff"))
            ev = ResolveFlag(
                t,
                flag=f.id,
                resolution=rng.choice(("scanned", "removed", "approved")),
                by=by,
                staff_id="s1" if by == "staff" else "",
            )
        elif r < 0.20 and len(flags) < 3:
            ev = RaiseFlag(
                t,
                flag=shadow.next_flag_id(),
                kind=rng.choice(FLAG_KINDS),
                message="Please check",
                action="Do the thing",
                payload={"options": [rng.randint(0, 9) for _ in range(3)]},
            )
        elif lines and (r < 0.30 or len(lines) >= max_lines):
            ev = RemoveLine(t, line=rng.choice(lines), reason="removed")
        elif lines and r < 0.38:
            line = rng.choice(lines)
            st = shadow._lines[line]
            if cat[st.product_id].by_weight and st.fixed_price is None:
                continue
            ev = SetQuantity(t, line=line, qty=rng.randint(1, 6))
        elif r < 0.55 and weighed:
            p = rng.choice(weighed)
            ev = WeighProduce(
                t,
                line=shadow.next_line_id(),
                plu=p.plu,
                grams=rng.randint(20, 3000),
                tare_g=rng.choice((0, 0, 6, 12)),
            )
        elif r < 0.58 and coupons:
            c = rng.choice(coupons)
            applied = any(x.gtin == c.gtin for x in shadow._coupons)
            ev = RemoveCoupon(t, code=c.code) if applied else ApplyCoupon(t, code=c.code)
        elif r < 0.60:
            ev = SetLoyalty(t, member=rng.choice(("", "7001234")))
        else:
            p = rng.choice(each)
            price = rng.randint(100, 9000) if rng.random() < 0.05 else None
            ev = AddLine(
                t,
                line=shadow.next_line_id(),
                product=p.id,
                qty=rng.randint(1, 4),
                price=price,
                code=p.gtins[0] if p.gtins else p.plu,
            )
        shadow.apply(ev)
        n += 1
        yield ev
