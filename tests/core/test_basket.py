"""The basket fold, flags and snapshots; sessions bound to the journal; replay."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart.basket.fold import (
    AddLine,
    ApplyCoupon,
    Basket,
    BasketError,
    CancelSession,
    CheckOut,
    OpenSession,
    RaiseFlag,
    RemoveCoupon,
    RemoveLine,
    ResolveFlag,
    SetLoyalty,
    SetQuantity,
    WeighProduce,
    event_from_row,
)
from cart.basket.journal import Journal, JournalError
from cart.basket.session import CartSession, RecoveryError, replay
from cart.sim.eventgen import event_stream
from tests.core.conftest import T0


@pytest.fixture
def basket(store):
    b = Basket(store, "s")
    b.apply(OpenSession(T0, store=store.config.id, catalog_digest=store.digest))
    return b


def test_add_weigh_set_remove(basket):
    basket.apply(AddLine(T0 + 1, line="L1", product="arla-standard-milk", qty=2))
    basket.apply(WeighProduce(T0 + 2, line="L2", plu="4011", grams=1234, tare_g=6))
    s = basket.snapshot()
    assert [ln.line_id for ln in s.lines] == ["L1", "L2"]
    assert s.line("L1").amount == 2 * 1895 and s.line("L2").amount == 3079
    assert s.totals.total == 2 * 1895 + 3079
    assert s.expected_weight_g == 2 * 1580 + 1234
    basket.apply(SetQuantity(T0 + 3, line="L1", qty=1))
    basket.apply(RemoveLine(T0 + 4, line="L2"))
    s = basket.snapshot()
    assert [(ln.line_id, ln.qty) for ln in s.lines] == [("L1", 1)]
    assert s.seq == 5 and s.t_ms == T0 + 4
    assert basket.next_line_id() == "L3"  # ids are never reused


@pytest.mark.parametrize(
    "ev, why",
    [
        (AddLine(T0, line="L1", product="nope"), "unknown product"),
        (AddLine(T0, line="L1", product="banana"), "grams needed"),
        (AddLine(T0, line="L1", product="arla-standard-milk", grams=100), "sold each"),
        (AddLine(T0, line="L1", product="arla-standard-milk", qty=0), "qty"),
        (AddLine(T0, line="", product="arla-standard-milk"), "line id"),
        (WeighProduce(T0, line="L1", plu="4051", grams=300), "sold each"),
        (WeighProduce(T0, line="L1", plu="4011", grams=0), "grams"),
        (WeighProduce(T0, line="L1", plu="9999", grams=10), "unknown PLU"),
        (RemoveLine(T0, line="L9"), "no line"),
        (SetQuantity(T0, line="L9", qty=2), "no line"),
        (ApplyCoupon(T0, code="123"), "unknown coupon"),
        (RemoveCoupon(T0, code="9900000200022"), "not applied"),
        (ResolveFlag(T0, flag="F9", resolution="x"), "no flag"),
        (RaiseFlag(T0, flag="F1", kind="", action="x"), "kind"),
        (RaiseFlag(T0, flag="F1", kind="staff", action="x", payload={"x": {1, 2}}), "JSON"),
        (CancelSession(T0, by="shopper"), "staff"),
        (OpenSession(T0), "already open"),
        (AddLine(T0 - 1, line="L1", product="arla-standard-milk"), "backwards"),
    ],
)
def test_invalid_events_are_refused_and_change_nothing(basket, ev, why):
    before = basket.snapshot()
    with pytest.raises(BasketError, match=why):
        basket.apply(ev)
    assert basket.snapshot() is before and basket.seq == before.seq


def test_line_ids_cannot_be_reused(basket):
    basket.apply(AddLine(T0, line="A", product="arla-standard-milk"))
    basket.apply(RemoveLine(T0, line="A"))
    with pytest.raises(BasketError, match="already used"):
        basket.apply(AddLine(T0, line="A", product="arla-standard-milk"))


def test_weighed_line_quantity_cannot_change(basket):
    basket.apply(WeighProduce(T0, line="L1", plu="4011", grams=500))
    with pytest.raises(BasketError, match="weighed"):
        basket.apply(SetQuantity(T0, line="L1", qty=2))


def test_flags_lifecycle_and_check_out(basket):
    basket.apply(AddLine(T0, line="L1", product="lager-35-can"))
    basket.apply(
        RaiseFlag(
            T0 + 1,
            flag="F1",
            kind="age_check",
            message="Lager is 18+",
            action="Wait for staff",
            payload={"line": "L1"},
        )
    )
    basket.apply(
        RaiseFlag(
            T0 + 2,
            flag="F2",
            kind="removed_item",
            message="Which item?",
            action="Pick the item you took out",
            payload={"options": [{"line": "L1", "name": "Lager"}]},
        )
    )
    s = basket.snapshot()
    assert [f.id for f in s.flags] == ["F1", "F2"] and s.flags[1].payload["options"][0][
        "line"
    ] == "L1"
    with pytest.raises(BasketError, match="open flag"):
        basket.apply(CheckOut(T0 + 3))
    with pytest.raises(BasketError, match="staff_id"):
        basket.apply(ResolveFlag(T0 + 3, flag="F1", resolution="approved", by="staff"))
    basket.apply(ResolveFlag(T0 + 3, flag="F1", resolution="approved", by="staff", staff_id="7"))
    basket.apply(ResolveFlag(T0 + 4, flag="F2", resolution="picked:L1", by="shopper"))
    with pytest.raises(BasketError, match="already resolved"):
        basket.apply(ResolveFlag(T0 + 5, flag="F2", resolution="again"))
    assert basket.snapshot().flags == ()
    audit = basket.all_flags
    assert [(f.id, f.resolved_by, f.staff_id, f.resolved_ms) for f in audit] == [
        ("F1", "staff", "7", T0 + 3),
        ("F2", "shopper", "", T0 + 4),
    ]
    basket.apply(CheckOut(T0 + 6))
    assert basket.snapshot().closed
    with pytest.raises(BasketError, match="checked out"):
        basket.apply(AddLine(T0 + 7, line="L2", product="arla-standard-milk"))


def test_cancel_closes_and_zeroes(basket):
    basket.apply(AddLine(T0, line="L1", product="arla-standard-milk"))
    basket.apply(RaiseFlag(T0, flag="F1", kind="staff", message="m", action="a"))
    basket.apply(CancelSession(T0, staff_id="9", reason="test"))
    s = basket.snapshot()
    assert s.state == "cancelled" and s.totals.total == 0 and s.flags == ()


def test_loyalty_and_coupon_events(basket):
    basket.apply(AddLine(T0, line="L1", product="arla-standard-milk"))
    assert basket.snapshot().totals.savings == 0
    basket.apply(SetLoyalty(T0, member="7001"))
    assert basket.snapshot().totals.savings == 400
    basket.apply(ApplyCoupon(T0, code="9900000100056"))
    with pytest.raises(BasketError, match="already applied"):
        basket.apply(ApplyCoupon(T0, code="9900000100056"))
    assert basket.snapshot().coupons[0].amount == 0  # oat drink not in the basket
    basket.apply(AddLine(T0, line="L2", product="oatly-oat-milk"))
    assert basket.snapshot().totals.coupon_savings == 1000
    basket.apply(RemoveCoupon(T0, code="9900000100056"))
    assert basket.snapshot().totals.coupon_savings == 0


def test_snapshot_is_immutable_and_cached(basket):
    basket.apply(AddLine(T0, line="L1", product="arla-standard-milk"))
    s = basket.snapshot()
    assert basket.snapshot() is s
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.seq = 99
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.lines[0].qty = 5
    basket.apply(SetQuantity(T0, line="L1", qty=2))
    assert s.lines[0].qty == 1 and basket.snapshot().lines[0].qty == 2


def test_namespaced_rows_are_ignored_and_unknown_kinds_refused(basket):
    assert basket.apply_row(T0, "fusion.pending", {"anything": [1, 2]}) is False
    assert basket.seq == 1
    with pytest.raises(BasketError, match="unknown basket event"):
        basket.apply_row(T0, "teleport", {})
    with pytest.raises(BasketError, match="unknown field"):
        event_from_row(T0, "add_line", {"line": "L1", "product": "x", "colour": 1})


def test_rows_round_trip(store):
    for ev in itertools.islice(event_stream(store, 3, T0), 300):
        t, kind, payload = ev.row()
        assert event_from_row(t, kind, payload) == ev


# -- sessions and the journal -----------------------------------------------------------------


def test_session_journals_before_it_applies(store, tmp_path):
    with Journal(tmp_path / "j.sqlite") as j:
        cart = CartSession.start(j, store, T0, session_id="s1")
        seen = []
        cart.subscribe(seen.append)
        snap = cart.apply(
            AddLine(T0 + 1, line="L1", product="arla-standard-milk"),
            extra=[(T0 + 1, "fusion.placed", {"grams": 1580})],
        )
        assert seen == [snap]
        assert [(e.seq, e.kind) for e in j.events("s1")] == [
            (1, "open"),
            (2, "add_line"),
            (3, "fusion.placed"),
        ]
        # a bad event in a batch: nothing of the batch is journaled or applied
        with pytest.raises(BasketError):
            cart.apply(
                AddLine(T0 + 2, line="L2", product="arla-standard-milk"),
                RemoveLine(T0 + 2, line="nope"),
            )
        assert j.count("s1") == 3 and len(cart.snapshot().lines) == 1
        # a journal failure: nothing is applied
        j.close()
        with pytest.raises(JournalError):
            cart.apply(AddLine(T0 + 3, line="L2", product="arla-standard-milk"))
        assert len(cart.snapshot().lines) == 1
        with pytest.raises(BasketError, match="namespaced"):
            cart.record((T0, "add_line", {}))


def test_recover_unfinished_session_exactly(store, tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        cart = CartSession.start(j, store, T0, session_id="trip")
        for ev in itertools.islice(event_stream(store, 11, T0), 200):
            cart.apply(ev)
        cart.record((T0 + 10**7, "staff.login", {"staff": "7"}))
        want = cart.snapshot()
    with Journal(path) as j:
        rows = []
        again = CartSession.recover(j, store, on_row=rows.append)
        assert again.id == "trip"
        assert again.snapshot() == want
        assert rows[-1].kind == "staff.login" and len(rows) == j.count("trip")
        again.apply(
            AddLine(T0 + 10**7, line=again.basket.next_line_id(), product="arla-standard-milk")
        )
        assert j.count("trip") == len(rows) + 1


def test_check_out_stores_the_receipt_and_closes(store, tmp_path):
    with Journal(tmp_path / "j.sqlite") as j:
        cart = CartSession.start(j, store, T0, session_id="a")
        cart.apply(AddLine(T0, line="L1", product="arla-standard-milk"))
        snap = cart.apply(CheckOut(T0 + 5))
        assert snap.closed and j.unfinished() is None
        r = j.receipt("a")
        assert r["totals"]["total"] == 1895 and r["state"] == "checked_out"
        assert j.receipt() == r
        assert CartSession.recover(j, store) is None
        with pytest.raises(JournalError, match="checked out"):
            j.append("a", [(T0, "fusion.x", {})])
        new = CartSession.resume_or_start(j, store, T0 + 10, session_id="b")
        assert new.id == "b" and j.unfinished().id == "b"


def test_a_session_keeps_its_prices_when_the_catalogue_changes(store, make_store, tmp_path):
    from cart.store.loading import load_store

    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        cart = CartSession.start(j, store, T0, session_id="a")
        cart.apply(AddLine(T0, line="L1", product="arla-standard-milk"))
        want = cart.snapshot()
    # overnight the store's files change: the unfinished session still replays exactly
    cheaper = (
        (store.path / "catalog.toml").read_text().replace("price_each = 1895", "price_each = 1000")
    )
    new_store = load_store(make_store(cheaper))
    assert new_store.digest != store.digest
    with Journal(path) as j:
        again = CartSession.recover(j, new_store)
        assert again.store.digest == store.digest and again.snapshot() == want
        snap = again.apply(AddLine(T0 + 1, line="L2", product="arla-standard-milk"))
        assert snap.line("L2").amount == 1895  # the trip's prices, not tomorrow's
        # a session opened without a copy of its store is refused, not silently repriced
        j.open_session("b", T0, [OpenSession(T0, catalog_digest="0" * 64)])
        with pytest.raises(RecoveryError, match="another catalogue"):
            CartSession.recover(j, new_store, "b")


@pytest.mark.slow
@given(seed=st.integers(0, 2**32), n=st.integers(0, 150), batch=st.integers(1, 5))
def test_replaying_any_journal_gives_the_same_basket(store, seed, n, batch):
    with Journal(":memory:") as j:
        cart = CartSession.start(j, store, T0, session_id="p")
        events = list(itertools.islice(event_stream(store, seed, T0), n))
        for i in range(0, len(events), batch):
            cart.apply(*events[i : i + batch])
        live = cart.snapshot()
        replayed = replay(j, store, "p").snapshot()
        assert replayed == live
        # and the same as folding without any journal
        b = Basket(store, "p")
        b.apply(OpenSession(T0, store=store.config.id, catalog_digest=store.digest))
        for ev in events:
            b.apply(ev)
        assert b.snapshot() == live
