"""Every alert kind and every resolution path, driven through the real scanner parser and the
simulated scale bridge with the real driver pipeline (see conftest.DeviceCart)."""

from __future__ import annotations

import pytest

from cart.fusion import actions as A

MILK, JUICE, SOUR = "arla-standard-milk", "bravo-apple-juice", "arla-sour-cream"


def test_scan_then_place_bills_without_a_question(cart):
    cart.scan(MILK)
    cart.place("milk", 1583.0, looks_like="Arla-Standard-Milk")
    assert cart.raised == []
    assert cart.lines() == [MILK]
    assert cart.checkout()


def test_place_then_scan_resolves_scan_added(cart):
    cart.place("milk", 1578.0)
    f = cart.flag("scan_added")
    assert "Scan the item you just added" in f.message
    cart.scan(MILK)
    assert cart.open == ()
    assert cart.checkout()


def test_several_items_scanned_then_placed(cart):
    cart.scan(MILK)
    cart.scan(JUICE)
    cart.scan(SOUR)
    cart.place("a", 1062.0)
    cart.place("b", 321.0)
    cart.place("c", 1575.0)
    assert cart.raised == []
    assert cart.lines() == sorted([MILK, JUICE, SOUR])


def test_scanned_but_not_placed_then_cancelled(cart):
    cart.scan(MILK)
    cart.wait(30_000)
    f = cart.flag("place_scanned")
    assert "Put the scanned" in f.message
    assert not cart.checkout()  # refused while the question is open
    cart.act(A.CancelScan, flag_id=f.id)
    assert cart.lines() == []
    assert cart.checkout()


def test_place_scanned_resolved_by_placing_late_in_view(cart):
    cart.scan(JUICE)
    cart.wait(30_000)
    cart.flag("place_scanned")
    cart.place("juice", 1058.0, looks_like="Bravo-Apple-Juice")
    assert cart.open == ()
    assert cart.lines() == [JUICE]


def test_late_placement_unseen_is_asked_and_the_spare_scan_cancelled(cart):
    cart.scan(JUICE)
    cart.wait(70_000)
    cart.flag("place_scanned")
    cart.place("juice", 1058.0)  # the camera missed it: could be anything of that weight
    cart.flag("scan_added")
    cart.scan(JUICE)
    # the scan explains the placement; the timed-out scan is not silently taken to be the
    # same item (it may be one kept out of the cart): its question stays until answered
    assert [f.kind for f in cart.open] == ["place_scanned"]
    assert cart.lines() == [JUICE, JUICE]
    cart.act(A.CancelScan, flag_id=cart.flag("place_scanned").id)
    assert cart.open == ()
    assert cart.lines() == [JUICE]  # billed once


def test_double_scan_is_answered_by_cancelling_the_spare(cart):
    cart.scan(JUICE)
    cart.scan(JUICE)  # 1.5 s later: past the scanner's duplicate window
    cart.place("juice", 1061.0)
    cart.wait(30_000)
    f = cart.flag("place_scanned")
    cart.act(A.CancelScan, flag_id=f.id)
    assert cart.lines() == [JUICE]
    assert cart.checkout()


def test_quantity_by_weight_confirmed(cart):
    cart.scan(SOUR)
    cart.place("s1", 319.0)
    cart.place("s2", 322.0)
    cart.place("s3", 318.0)
    f = cart.flag("quantity")
    cart.act(A.ConfirmQuantity, flag_id=f.id, quantity=2)
    assert cart.lines() == [SOUR] * 3
    assert cart.open == ()


def test_quantity_with_a_count_that_does_not_fit_is_refused(cart):
    cart.scan(SOUR)
    cart.place("s1", 320.0)
    cart.place("s2", 641.0)  # two more at once
    f = cart.flag("quantity")
    out = cart.act(A.ConfirmQuantity, flag_id=f.id, quantity=5)
    assert any(getattr(e, "kind", "") == "refused" for e in out)
    assert cart.flag("quantity")
    cart.scan(SOUR)
    cart.scan(SOUR)
    assert cart.open == ()
    assert cart.lines() == [SOUR] * 3


def test_item_taken_out_without_telling_is_removed_from_the_bill(cart):
    cart.scan(MILK)
    cart.place("milk", 1580.0)
    cart.scan(SOUR)
    cart.place("sour", 320.0)
    cart.remove("sour")
    assert cart.raised == []
    assert cart.lines() == [MILK]


def test_remove_and_put_back_rebills_without_a_scan(cart):
    cart.scan(JUICE)
    cart.place("juice", 1060.0)
    cart.remove("juice")
    assert cart.lines() == []
    cart.place("juice", 1060.0)
    assert cart.lines() == [JUICE]
    assert cart.raised == []


def test_which_item_picker_when_the_weight_fits_several_products(cart):
    cart.scan(JUICE)
    cart.place("juice", 1058.0)
    cart.scan("arla-sour-milk")
    cart.place("filmjolk", 1055.0)
    cart.remove("juice")
    assert not cart.open  # asked only if the item does not come straight back
    cart.wait(10_000)
    f = cart.flag("which_removed")
    names = {c.name for c in f.candidates}
    assert len(names) == 2
    juice_line = next(int(c.key.split(":")[1]) for c in f.candidates if "apple" in c.name)
    cart.act(A.PickRemoved, flag_id=f.id, line_id=juice_line)
    assert cart.lines() == ["arla-sour-milk"]
    assert cart.open == ()


def test_picker_refuses_a_line_it_did_not_offer(cart):
    cart.scan(JUICE)
    cart.place("juice", 1058.0)
    cart.scan("arla-sour-milk")
    cart.place("filmjolk", 1055.0)
    cart.remove("filmjolk")
    cart.wait(10_000)
    f = cart.flag("which_removed")
    out = cart.act(A.PickRemoved, flag_id=f.id, line_id=999)
    assert any(getattr(e, "kind", "") == "refused" for e in out)
    assert len(cart.lines()) == 2


def test_unscanned_item_taken_back_out_closes_its_alert(cart):
    cart.place("thing", 700.0)
    cart.flag("scan_added")
    cart.scan(MILK)
    cart.place("milk", 1581.0)
    cart.remove("thing")
    assert all(f.kind != "scan_added" for f in cart.open)
    assert cart.lines() == [MILK]


def test_unexplained_removal_resolved_by_putting_it_back(cart):
    cart.scan(JUICE)
    cart.place_together([("juice", 1060.0), ("umbrella", 250.0)])
    cart.flag("scan_added")
    cart.remove("umbrella")
    f = cart.flag("unexplained_removal")
    assert "put it back" in f.message
    cart.place("umbrella", 250.0)
    assert all(x.kind != "unexplained_removal" for x in cart.open)


def test_looks_different_resolved_by_showing_again(cart):
    cart.scan(MILK)
    cart.place("milk", 1580.0, looks_like="Arla-Lactose-Medium-Fat-Milk", p=0.97)
    f = cart.flag("looks_different")
    assert "does not look like" in f.message
    cart.act(A.ShowAgain, flag_id=f.id)
    cart.show("Arla-Standard-Milk")
    assert cart.open == ()
    assert cart.checkout()


def test_looks_different_resolved_by_scanning_the_right_item(cart):
    cart.scan("arla-medium-fat-milk")  # cheaper code
    cart.place("milk", 1580.0, looks_like="Arla-Lactose-Medium-Fat-Milk", p=0.97)
    f = cart.flag("looks_different")
    cart.scan("arla-lactose-medium-fat-milk")
    assert all(x.kind != "looks_different" for x in cart.open)
    # the first scan is kept and waits for its own item: it is never dropped silently
    cart.wait(30_000)
    g = cart.flag("place_scanned")
    cart.act(A.CancelScan, flag_id=g.id)
    assert cart.lines() == ["arla-lactose-medium-fat-milk"]
    assert f.id not in {x.id for x in cart.open}


def test_looks_different_twice_needs_staff(cart):
    cart.scan("arla-medium-fat-milk")
    cart.place("milk", 1580.0, looks_like="Arla-Lactose-Medium-Fat-Milk", p=0.97)
    f = cart.flag("looks_different")
    cart.act(A.ShowAgain, flag_id=f.id)
    cart.show("Arla-Lactose-Medium-Fat-Milk", 0.96)
    g = cart.flag("looks_different")
    assert g.needs_staff
    assert not cart.checkout()


def test_produce_chosen_before_placing_with_bag_tare(cart):
    cart.act(A.SelectProduce, flag_id=None, code="4011", bagged=True)
    cart.place("bananas", 1205.0, looks_like="Banana", bag=True)
    snap = cart.fs.snapshot()
    (line,) = snap.lines
    assert line.product_id == "banana"
    assert abs(line.grams - 1200) <= 3  # net of the store bag (5 g)
    assert cart.raised == []


def test_weigh_produce_offers_the_cameras_top_three(cart):
    cart.place("apples", 812.0, looks_like="Pink-Lady", p=0.8)
    f = cart.flag("weigh_produce")
    assert f.candidates[0].key == "4130"
    cart.act(A.SelectProduce, flag_id=f.id, code=f.candidates[0].key, bagged=False)
    (line,) = cart.fs.snapshot().lines
    assert line.product_id == "pink-lady" and abs(line.grams - 812) <= 3
    assert cart.open == ()


def test_produce_under_a_cheaper_plu_is_questioned(cart):
    cart.place("asparagus", 500.0, looks_like="Asparagus", p=0.9)
    f = cart.flag("weigh_produce")
    cart.act(A.SelectProduce, flag_id=f.id, code="4562", bagged=False)  # carrots: cheaper
    assert cart.flag("looks_different")


def test_personal_bag_declared_becomes_tare(cart):
    cart.place("my bag", 180.0)
    f = cart.flag("scan_added")
    cart.act(A.DeclarePersonal, flag_id=f.id)
    assert cart.open == ()
    cart.scan(JUICE)
    cart.place("juice", 1060.0)
    assert cart.lines() == [JUICE]
    cart.remove("my bag")
    assert cart.lines() == [JUICE] and cart.open == ()


def test_age_restricted_item_needs_staff_approval(cart):
    cart.scan("lager-35-can")
    cart.place("beer", 531.0)
    f = cart.flag("age_check")
    assert f.needs_staff
    assert not cart.checkout()
    cart.act(A.StaffResolve, flag_id=f.id, resolution="approve")  # not logged in: refused
    assert cart.flag("age_check")
    cart.act(A.StaffLogin, staff_id="anna", pin="2468")
    cart.act(A.StaffResolve, flag_id=f.id, resolution="approve", note="ID checked")
    cart.act(A.StaffLogout)
    assert cart.checkout()


def test_line_deleted_on_screen_must_leave_the_cart(cart):
    cart.scan(JUICE)
    cart.place("juice", 1060.0)
    line = cart.fs.snapshot().lines[0]
    cart.act(A.RemoveLine, line_id=int(line.line_id[1:]))
    cart.wait(35_000)
    f = cart.flag("take_out")
    assert "take it out" in f.message
    cart.remove("juice")
    assert cart.open == ()
    assert cart.lines() == []


def test_line_deleted_on_screen_and_item_taken_out(cart):
    cart.scan(JUICE)
    cart.place("juice", 1060.0)
    line = cart.fs.snapshot().lines[0]
    cart.act(A.RemoveLine, line_id=int(line.line_id[1:]))
    cart.remove("juice")
    cart.wait(35_000)
    assert cart.open == () and cart.lines() == []


def test_take_out_resolved_by_scanning_again(cart):
    cart.scan(JUICE)
    cart.place("juice", 1060.0)
    line = cart.fs.snapshot().lines[0]
    cart.act(A.RemoveLine, line_id=int(line.line_id[1:]))
    cart.wait(35_000)
    cart.flag("take_out")
    cart.scan(JUICE)
    assert cart.open == () and cart.lines() == [JUICE]


def test_never_scanned_item_blocks_checkout_until_staff(cart):
    cart.scan(MILK)
    cart.place("milk", 1580.0)
    cart.place("whisky", 1200.0)
    f = cart.flag("scan_added")
    cart.act(A.DeclarePersonal, flag_id=f.id)  # a lie after the first scan: refused
    assert cart.flag("scan_added").needs_staff
    assert not cart.checkout()
    f = cart.flag("scan_added")
    cart.act(A.StaffLogin, staff_id="anna", pin="2468")
    cart.act(A.StaffResolve, flag_id=f.id, resolution="add_product", code="7310000200045")
    assert cart.checkout()
    assert "dish-soap" in cart.lines()


def test_staff_remove_line_and_dismiss(cart):
    cart.scan(MILK)
    cart.wait(30_000)
    f = cart.flag("place_scanned")
    cart.place("x", 95.0)
    g = cart.flag("scan_added")
    cart.act(A.StaffLogin, staff_id="anna", pin="2468")
    cart.act(A.StaffResolve, flag_id=f.id, resolution="remove_line", note="not taken")
    cart.act(A.StaffResolve, flag_id=g.id, resolution="dismiss", note="customer's keys")
    assert cart.lines() == [] and cart.open == ()
    assert cart.checkout()


def test_push_does_not_raise_alerts(cart):
    cart.scan(MILK)
    cart.place("milk", 1580.0)
    for _ in range(3):
        cart.push(5000)
    assert cart.raised == []
    assert cart.checkout()


def test_several_put_in_together_then_scanned_slowly_are_each_billed_once(cart):
    # three items in one placement, then scanned one by one, slowly: the first scan's wait for
    # its item runs out while the others are scanned (its item was already in the cart)
    group = [
        ("alpro-shelf-soy-milk", 1037.0),
        ("arla-medium-fat-milk", 1567.0),
        ("arla-lactose-medium-fat-milk", 1565.0),
    ]
    cart.place_together(group)
    assert cart.flag("scan_added").grams == pytest.approx(4169, abs=3)
    for product, _ in group:
        cart.wait(12_000)
        cart.scan(product)
    assert cart.open == ()
    assert cart.lines() == sorted(p for p, _ in group)
    cart.wait(60_000)  # nothing is left waiting
    assert cart.open == () and cart.checkout()


def test_one_scanned_then_put_in_with_others_then_those_scanned(cart):
    # the biscuits scanned, then put in together with two more items, which are scanned after
    # (a barcode each: a bakery price label is checked against the scale on its own)
    group = [("oat-biscuits", 215.0), ("god-morgon-apple-juice", 1074.0)]
    group.append(("alpro-vanilla-soyghurt", 521.0))
    cart.scan("oat-biscuits")
    cart.place_together(group)
    assert [f.kind for f in cart.open] == ["scan_added"]
    cart.scan("god-morgon-apple-juice")
    cart.scan("alpro-vanilla-soyghurt")
    assert cart.open == ()
    assert cart.lines() == sorted(p for p, _ in group)
    cart.wait(60_000)
    assert cart.open == () and cart.checkout()


def test_showing_again_cannot_clear_a_question_staff_now_decide(cart):
    cart.scan(MILK)
    cart.place("milk", 1580.0, looks_like="Arla-Lactose-Medium-Fat-Milk", p=0.97)
    f = cart.flag("looks_different")
    cart.act(A.ShowAgain, flag_id=f.id)
    cart.show("Arla-Lactose-Medium-Fat-Milk")  # still not what was scanned: staff decide
    g = cart.flag("looks_different")
    assert g.needs_staff and "staff will check" in g.message
    out = cart.act(A.ShowAgain, flag_id=g.id)  # refused: no more showing again
    assert any(getattr(e, "kind", "") == "refused" for e in out)
    cart.show("Arla-Standard-Milk")
    assert [x.id for x in cart.open] == [g.id] and not cart.checkout()
