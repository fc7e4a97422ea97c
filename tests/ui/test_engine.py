"""The runtime with the real core behind fusion (the cart's one set of basket rules): scans,
weights and screen actions in, journaled basket out; restart gives the same basket."""

from __future__ import annotations

import threading

import pytest

from cart.app import actions
from cart.app.stack import build_runtime, fresh_trip
from cart.basket.journal import Journal
from cart.common.clock import ManualClock
from cart.common.events import Scan, WeightSettled
from cart.fusion.session import basket_line_id
from cart.store.loading import load_store

from .screen_text import screen_text

MILK_A = "7310000100147"  # arla-standard-milk, 1580 g
MILK_B = "7310000100130"  # arla-medium-fat-milk, 1580 g
JUICE = "7310000100017"  # bravo-apple-juice, 1060 g
LAGER = "7310000200052"  # age-restricted
COUPON_OATLY = "9900000100056"


@pytest.fixture(scope="module")
def store():
    return load_store()


class Views:
    def __init__(self):
        self.cond = threading.Condition()
        self.last = None

    def __call__(self, view):
        with self.cond:
            self.last = view
            self.cond.notify_all()

    def wait(self, pred, timeout=10.0):
        with self.cond:
            ok = self.cond.wait_for(lambda: self.last is not None and pred(self.last), timeout)
        assert ok, f"no snapshot matched; last: {self.last}"
        return self.last


def start(store, path, *, clock=None):
    clock = clock or ManualClock()
    rt = build_runtime(store, path, clock=clock, synchronous="NORMAL")
    views = Views()
    rt.attach(views)
    return rt, views, clock


def settle(clock, grams, delta):
    clock.advance(1500)
    return WeightSettled(clock.now_ms(), grams, delta, 400, 0.5)


def scan(clock, code):
    clock.advance(800)
    return Scan(clock.now_ms(), code, "]E0", "scanner:hand")


def test_scans_become_priced_lines_journaled_before_shown(store, tmp_path):
    path = tmp_path / "j.sqlite"
    rt, views, clock = start(store, path)
    checked = []
    seen = Views()

    def journaled_first(view):  # on the worker thread, right when the snapshot is published
        with Journal(path, readonly=True) as j:  # a reader beside the cart's writer
            session = j.unfinished()
            ids = [e.payload.get("line") for e in j.events(session.id) if e.kind == "add_line"]
        checked.append(all(basket_line_id(line.line_id) in ids for line in view.lines))
        seen(view)

    rt.attach(journaled_first)
    with rt:
        rt.post(scan(clock, MILK_A))
        rt.post(settle(clock, 1580.0, 1580.0))
        rt.post(scan(clock, JUICE))
        rt.post(settle(clock, 2640.0, 1060.0))
        view = views.wait(lambda v: len(v.lines) == 2 and v.seq == 4)
        expected = [store.catalog.by_gtin(MILK_A).name, store.catalog.by_gtin(JUICE).name]
        assert [ln.name for ln in view.lines] == expected
        assert view.totals.subtotal == sum(ln.total for ln in view.lines)
        assert view.totals.total == view.totals.subtotal - view.totals.savings > 0
        assert view.alerts == ()
        seen.wait(lambda v: v.seq == 4)  # the check ran on the last snapshot too
        assert all(checked) and len(checked) >= 2
    # restart: the same basket, exactly
    rt2, views2, _ = start(store, path, clock=ManualClock(clock.now_ms()))
    with rt2:
        again = views2.wait(lambda v: True)
        assert again.lines == view.lines and again.totals == view.totals
        assert again.alerts == ()  # the replay agrees with the basket: nothing to check


def test_a_restart_on_a_journal_that_does_not_add_up_asks_staff(store, tmp_path):
    # a basket row changed behind fusion's back (the basket says two milks, fusion's inputs
    # one): the restarted cart shows the staff question and cannot check out until staff
    # have checked the basket
    import sqlite3

    from cart.fusion.session import RECOVERY_MESSAGE
    from tests.journal_tools import rechain

    path = tmp_path / "j.sqlite"
    rt, views, clock = start(store, path)
    with rt:
        rt.post(scan(clock, MILK_A))
        rt.post(settle(clock, 1580.0, 1580.0))
        views.wait(lambda v: v.seq == 2 and v.lines)
    db = sqlite3.connect(path)
    with db:
        edit = "UPDATE events SET payload = json_set(payload, '$.qty', 2) WHERE kind = 'add_line'"
        db.execute(edit)
    db.close()
    rechain(path)  # written so by other software: only fusion's own check can tell
    rt2, views2, clock2 = start(store, path, clock=ManualClock(clock.now_ms()))
    with rt2:
        view = views2.wait(lambda v: v.alerts)
        (alert,) = view.alerts
        assert alert.kind == "recovery_check" and alert.staff_only
        assert alert.message == RECOVERY_MESSAGE
        rt2.submit(actions.Pay())
        view = views2.wait(lambda v: v.seq == 1)
        assert view.receipt is None and view.alerts == (alert,)
        rt2.submit(actions.EnterStaffPin("2468"))
        rt2.submit(actions.ResolveAlert(alert.alert_id))
        rt2.submit(actions.LeaveStaffMode())
        rt2.submit(actions.Pay())
        view = views2.wait(lambda v: v.seq == 5)
        assert view.alerts == () and view.receipt is not None


def test_bad_barcode_is_refused_with_its_reason_and_shown_literally(store):
    rt, views, clock = start(store, ":memory:")
    with rt:
        rt.post(scan(clock, "7310000100016"))  # wrong check digit
        view = views.wait(lambda v: v.seq == 1)
        assert view.lines == () and "check digit" in view.message
        rt.post(scan(clock, "\x1b[31m[bold]5000"))
        view = views.wait(lambda v: v.seq == 2)
        assert "\x1b" not in view.message and "\\x1b[31m[bold]5000" in view.message


def test_age_check_needs_staff_with_the_right_pin(store):
    rt, views, clock = start(store, ":memory:")
    with rt:
        rt.post(scan(clock, LAGER))
        view = views.wait(lambda v: any(a.kind == "age_check" for a in v.alerts))
        alert = next(a for a in view.alerts if a.kind == "age_check")
        assert alert.staff_only
        rt.submit(actions.ResolveAlert(alert.alert_id))  # not logged in: refused
        view = views.wait(lambda v: v.seq == 2)
        assert any(a.kind == "age_check" for a in view.alerts) and not view.staff
        rt.submit(actions.EnterStaffPin("0000"))
        view = views.wait(lambda v: v.seq == 3)
        assert not view.staff and "PIN" in view.message
        rt.submit(actions.EnterStaffPin("2468"))
        assert views.wait(lambda v: v.seq == 4).staff
        rt.submit(actions.ResolveAlert(alert.alert_id))
        view = views.wait(lambda v: v.seq == 5)
        assert not any(a.kind == "age_check" for a in view.alerts)
        rt.submit(actions.LeaveStaffMode())
        assert not views.wait(lambda v: v.seq == 6).staff


def test_three_wrong_pins_lock_staff_login_also_after_a_restart(store, tmp_path):
    # fusion's staff gate: 3 wrong PINs lock the keypad for 60 s; the lock-out is rebuilt from
    # the journal (the outcomes, never the PINs), so a restart does not reopen the keypad
    path = tmp_path / "j.sqlite"
    rt, views, clock = start(store, path)
    with rt:
        for seq in (1, 2, 3):
            clock.advance(1000)
            rt.submit(actions.EnterStaffPin("1111"))
            assert "PIN" in views.wait(lambda v, n=seq: v.seq == n).message
        clock.advance(1000)
        rt.submit(actions.EnterStaffPin("2468"))  # the right PIN, but locked
        view = views.wait(lambda v: v.seq == 4)
        assert not view.staff and "Locked" in view.message
    rt2, views2, clock2 = start(store, path, clock=ManualClock(clock.now_ms() + 1000))
    with rt2:
        rt2.submit(actions.EnterStaffPin("2468"))
        view = views2.wait(lambda v: v.seq == 1)
        assert not view.staff and "Locked" in view.message
        clock2.advance(61_000)
        rt2.submit(actions.EnterStaffPin("2468"))
        assert views2.wait(lambda v: v.seq == 2).staff
    with Journal(path) as j:
        rows = list(j.events(j.unfinished().id))
    assert "2468" not in repr([r.payload for r in rows])
    logins = [r.kind.removeprefix("fusion.staff.login_") for r in rows if "login" in r.kind]
    assert logins == ["wrong", "wrong", "wrong", "locked", "locked", "ok"]


def test_produce_chosen_before_placing_is_weighed_by_fusion(store):
    # produce chosen on screen with no question open waits for the next placement; a PLU
    # scanned with the scanner does the same: each is billed at its own placement's weight
    rt, views, clock = start(store, ":memory:")
    with rt:
        rt.submit(actions.AddProduce("4021", bagged=False))  # Golden Delicious, loose, first
        rt.post(settle(clock, 612.0, 612.0))
        view = views.wait(lambda v: v.seq == 2)
        assert view.alerts == () and [ln.quantity for ln in view.lines] == ["0.612 kg"]
        line = view.lines[0]
        assert line.per_kg and line.total == round(612 * line.unit_price / 1000)
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), "4011", "]C0", "scanner:hand"))  # bananas: a PLU label
        rt.post(settle(clock, 1512.0, 900.0))
        view = views.wait(lambda v: v.seq == 4)
        assert view.alerts == () and [ln.quantity for ln in view.lines] == [
            "0.612 kg",
            "0.900 kg",
        ]
        clock.advance(800)
        rt.post(Scan(clock.now_ms(), "4011", "]C0", "scanner:hand"))  # never placed: not billed
        rt.submit(actions.Pay())
        view = views.wait(lambda v: v.seq == 6)
        assert len(view.lines) == 2 and view.receipt is not None


def test_lines_and_alerts_keep_fusions_integer_ids_from_screen_to_journal(store, tmp_path):
    # the view names lines and alerts by fusion's own integer ids and the screen's actions send
    # them back unchanged; the basket journal keeps its "L<n>" / "F<n>" rows; a restart shows
    # the same ids
    path = tmp_path / "j.sqlite"
    rt, views, clock = start(store, path)
    with rt:
        rt.post(scan(clock, MILK_A))
        rt.post(settle(clock, 1580.0, 1580.0))
        rt.post(scan(clock, JUICE))
        rt.post(settle(clock, 2640.0, 1060.0))
        rt.post(scan(clock, LAGER))
        view = views.wait(lambda v: v.seq == 5 and v.alerts)
        state = rt.engine.fs.state()
        assert [ln.line_id for ln in view.lines] == [ln.id for ln in state.lines] == [1, 2, 3]
        assert [a.alert_id for a in view.alerts] == [f.id for f in state.flags] == [1]
        age = view.alerts[0]
        assert age.kind == "age_check" and age.staff_only
        rt.submit(actions.EnterStaffPin("2468"))
        rt.submit(actions.StaffRemoveLine(view.lines[1].line_id))  # the juice, by its id
        view = views.wait(lambda v: v.seq == 7)
        assert [ln.line_id for ln in view.lines] == [1, 3]
        assert store.catalog.by_gtin(JUICE).name not in [ln.name for ln in view.lines]
        rt.submit(actions.ResolveAlert(age.alert_id))
        view = views.wait(lambda v: v.seq == 8)
        assert view.alerts == ()
    with Journal(path) as j:
        rows = list(j.events(j.unfinished().id))
    assert [r.payload["line"] for r in rows if r.kind == "add_line"] == ["L1", "L2", "L3"]
    assert [r.payload["line"] for r in rows if r.kind == "remove_line"] == ["L2"]
    assert [r.payload["flag"] for r in rows if r.kind == "resolve_flag"] == ["F1"]
    rt2, views2, _ = start(store, path, clock=ManualClock(clock.now_ms()))
    with rt2:
        again = views2.wait(lambda v: True)
        assert again.lines == view.lines and [ln.line_id for ln in again.lines] == [1, 3]


def test_which_item_did_you_take_out(store):
    rt, views, clock = start(store, ":memory:")
    with rt:
        for code, total in ((MILK_A, 1580.0), (MILK_B, 3160.0), (JUICE, 4220.0)):
            rt.post(scan(clock, code))
            rt.post(settle(clock, total, 1580.0 if code != JUICE else 1060.0))
        views.wait(lambda v: len(v.lines) == 3 and v.seq == 6 and not v.alerts)
        rt.post(settle(clock, 2640.0, -1580.0))  # one of the two milks came out
        clock.advance(10_000)  # and did not come straight back
        rt.tick()
        view = views.wait(lambda v: any(a.kind == "which_removed" for a in v.alerts))
        alert = next(a for a in view.alerts if a.kind == "which_removed")
        names = {c.label for c in alert.choices if c.key.startswith("line:")}
        assert len(names) == 2 and all("milk" in n.lower() for n in names)
        pick = next(c for c in alert.choices if c.key.startswith("line:"))
        rt.submit(actions.Answer(alert.alert_id, pick.key))
        view = views.wait(lambda v: len(v.lines) == 2 and not v.alerts)
        assert pick.label not in [ln.name for ln in view.lines]


def test_produce_chosen_on_screen_is_billed_by_weight(store):
    rt, views, clock = start(store, ":memory:")
    with rt:
        rt.post(settle(clock, 612.0, 612.0))  # apples placed, no scan
        view = views.wait(lambda v: v.alerts)
        alert = view.alerts[0]
        assert alert.kind in ("scan_added", "weigh_produce")
        rt.submit(actions.AddProduce("4021", alert.alert_id, bagged=False))  # loose, by PLU
        view = views.wait(lambda v: v.lines and not v.alerts)
        line = view.lines[0]
        assert line.per_kg and line.quantity == "0.612 kg"
        assert line.total == round(612 * line.unit_price / 1000)
        assert [c.key for c in rt.search_products("4021", 5)][:1] == ["4021"]
        assert "4021" in [c.key for c in rt.search_products("golden", 5)]


def test_coupon_and_checkout_with_receipt_and_exit_code(store, tmp_path):
    rt, views, clock = start(store, tmp_path / "j.sqlite")
    with rt:
        rt.post(scan(clock, "7310000100185"))  # oatly oat milk
        rt.post(settle(clock, 1045.0, 1045.0))
        rt.submit(actions.EnterCoupon(COUPON_OATLY))
        view = views.wait(lambda v: v.coupons and v.seq == 3)
        assert view.totals.savings > 0
        rt.submit(actions.EnterCoupon("12345"))
        assert "Not a coupon" in views.wait(lambda v: v.seq == 4).message
        rt.submit(actions.Pay())
        view = views.wait(lambda v: v.receipt is not None)
        assert view.receipt.exit_code.startswith("CART1:demo-sthlm-01:")
        assert f":{view.totals.total}:" in view.receipt.exit_code
        assert "TOTAL" in view.receipt.text
        # the next shopper: only on an empty cart, and the new trip starts empty
        rt.submit(actions.NewTrip())
        assert "Take everything out" in views.wait(lambda v: v.seq == 6).message
        rt.post(settle(clock, 2.0, -1043.0))
        rt.submit(actions.NewTrip())
        view = views.wait(lambda v: v.seq == 8)
        assert view.receipt is None and view.lines == () and view.totals.total == 0
        rt.post(scan(clock, JUICE))
        assert len(views.wait(lambda v: v.seq == 9).lines) == 1
    with Journal(tmp_path / "j.sqlite") as j:
        assert [s.status for s in j.sessions()].count("checked_out") == 1
    # an unfinished trip is closed by fresh_trip; the next start opens a new one
    fresh_trip(store, tmp_path / "j.sqlite", clock.now_ms())
    rt2, views2, _ = start(store, tmp_path / "j.sqlite", clock=ManualClock(clock.now_ms()))
    with rt2:
        assert views2.wait(lambda v: True).lines == ()


def test_checkout_is_refused_while_a_question_is_open(store):
    rt, views, clock = start(store, ":memory:")
    with rt:
        rt.post(settle(clock, 300.0, 300.0))  # something unscanned
        views.wait(lambda v: v.alerts)
        rt.submit(actions.Pay())
        view = views.wait(lambda v: v.seq == 2)
        assert view.receipt is None and view.alerts


async def test_catalogue_text_with_markup_is_shown_literally(tmp_path):
    """A product name from the store's catalogue file, through the real core, on the screen."""
    import shutil

    from cart.store.loading import DEMO_STORE, CatalogError
    from cart.ui.app import CartApp

    from .screen_text import screen_text

    folder = tmp_path / "store"
    shutil.copytree(DEMO_STORE, folder)
    catalog = folder / "catalog.toml"
    evil = "[bold red]Arla[/] [link=http://x]milk[/link]"
    catalog.write_text(catalog.read_text().replace('"Arla whole milk 1.5 l"', f'"{evil}"'))
    try:
        store = load_store(folder)
    except CatalogError as exc:  # a catalogue may refuse such names; then nothing to show
        pytest.skip(f"catalogue refuses the name: {exc}")
    rt, views, clock = start(store, ":memory:")
    app = CartApp(rt)
    async with app.run_test(size=(100, 24)) as pilot:
        rt.post(scan(clock, MILK_A))
        views.wait(lambda v: v.lines)
        await pilot.pause()
        await pilot.pause()
        assert evil in screen_text(app)
    rt.close()


def test_produce_chosen_on_screen_is_in_a_store_bag_unless_said_otherwise(store):
    # the screen's default: the store bag's tare comes off (never bill a bag's weight); a PLU of
    # produce sold each (only a sticker) is entered like a scan of it
    from cart.fusion import FusionConfig

    p = store.catalog.by_plu("4021")
    bag = p.tare_g or FusionConfig().bag_tare_g  # the product's own tare, else a store bag's
    rt, views, clock = start(store, ":memory:")
    with rt:
        rt.submit(actions.AddProduce("4021"))
        rt.post(settle(clock, 612.0, 612.0))
        view = views.wait(lambda v: v.seq == 2)
        assert [ln.quantity for ln in view.lines] == [f"{(612 - bag) / 1000:.3f} kg"]
        each = next(q for q in store.catalog.products if q.plu and not q.by_weight)
        rt.submit(actions.AddProduce(each.plu))
        view = views.wait(lambda v: v.seq == 3)
        assert [ln.name for ln in view.lines][-1] == each.name


@pytest.mark.parametrize(("plu", "name"), [("3017", "Pear Conference"), ("4067", "Zucchini")])
async def test_a_plu_typed_key_by_key_on_the_produce_screen_bills_that_produce(store, plu, name):
    # produce placed, the camera unsure between three pears: the produce question opens by
    # itself with those three; the shopper types the PLU from the sticker at once, key by key.
    # No digit is lost and none picks a suggestion: the typed product is billed, by weight.
    from cart.common.events import VisionVerdict
    from cart.ui.app import CartApp
    from cart.ui.screens import ProduceScreen

    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL", vision=True)
    views = Views()
    rt.attach(views)
    app = CartApp(rt)
    async with app.run_test(size=(100, 30)) as pilot:
        seen = (("Anjou", 0.9), ("Kaiser", 0.05), ("Golden-Delicious", 0.03))
        rt.post(VisionVerdict(clock.now_ms() + 200, seen, "camera:basket"))
        rt.post(settle(clock, 612.0, 612.0))
        view = views.wait(lambda v: v.seq == 2 and v.alerts)
        assert view.alerts[0].kind == "weigh_produce" and len(view.alerts[0].choices) >= 3
        for _ in range(50):
            if isinstance(app.screen, ProduceScreen):
                break
            await pilot.pause()
        assert isinstance(app.screen, ProduceScreen)
        for key in plu:
            await pilot.press(key)
        assert app.screen.query_one("#query").value == plu
        await pilot.press("enter")
        view = views.wait(lambda v: v.lines)  # (a zucchini the camera saw as a pear is asked
        # in a store bag (the screen's default): its tare, 5 g, comes off
        assert [(ln.name, ln.quantity) for ln in view.lines] == [(name, "0.607 kg")]  # about)
        assert not any(a.kind == "weigh_produce" for a in view.alerts)
    rt.close()


async def _screen(app, pilot, cls):
    for _ in range(50):
        if isinstance(app.screen, cls):
            return app.screen
        await pilot.pause()
    raise AssertionError(f"no {cls.__name__}; on {app.screen}")


async def test_a_cancel_answers_only_the_scan_it_was_asked_about(store):
    # two scans not yet in the cart, each asked about at the till; the shopper opens the first
    # ("cancel the scan?"); meanwhile that item reaches the scale (the camera sees it): its
    # question is settled and the prompt closes. The cancel key then cancels nothing: it used
    # to go to the other scan's question (the same kind), dropping the juice from the bill
    from cart.common.events import VisionVerdict
    from cart.ui.app import CartApp
    from cart.ui.screens import PickerScreen

    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL", vision=True)
    views = Views()
    rt.attach(views)
    app = CartApp(rt)
    async with app.run_test(size=(100, 30)) as pilot:
        rt.post(scan(clock, MILK_A))
        rt.post(scan(clock, JUICE))
        rt.submit(actions.Pay())
        view = views.wait(lambda v: v.seq == 3 and len(v.alerts) == 2)
        milk_q, juice_q = view.alerts
        assert {milk_q.kind, juice_q.kind} == {"place_scanned"}
        await pilot.pause()
        await pilot.press("enter")
        await _screen(app, pilot, PickerScreen)
        # the milk is put in after all
        rt.post(VisionVerdict(clock.now_ms() + 200, (("Arla-Standard-Milk", 0.9),), "camera"))
        rt.post(settle(clock, 1580.0, 1580.0))
        views.wait(lambda v: v.seq == 5)
        for _ in range(20):
            await pilot.pause()
            if not isinstance(app.screen, PickerScreen):
                break
        await pilot.press("1")  # the "cancel" of the milk's prompt, if it were still open
        await pilot.pause()
        assert not isinstance(app.screen, PickerScreen)
        view = views.last
        assert [a.alert_id for a in view.alerts] == [juice_q.alert_id]
        names = {store.catalog.by_gtin(MILK_A).name, store.catalog.by_gtin(JUICE).name}
        assert {ln.name for ln in view.lines} == names
        # now the shopper changes their mind about the juice: its own question cancels it
        await pilot.press("enter")
        await _screen(app, pilot, PickerScreen)
        await pilot.press("1")
        view = views.wait(lambda v: not v.alerts)
        assert [ln.name for ln in view.lines] == [store.catalog.by_gtin(MILK_A).name]
    rt.close()


async def test_enter_answers_the_shoppers_question_beside_one_for_staff(store):
    # an age check (staff's) is open; the juice scanned and not put in is asked about: Enter
    # opens the juice's question (it used to say "staff will help" and offer no cancel)
    from cart.ui.app import CartApp
    from cart.ui.screens import PickerScreen

    rt, views, clock = start(store, ":memory:")
    app = CartApp(rt)
    async with app.run_test(size=(100, 30)) as pilot:
        rt.post(scan(clock, LAGER))
        rt.post(settle(clock, 530.0, 530.0))
        rt.post(scan(clock, JUICE))
        rt.submit(actions.Pay())
        view = views.wait(lambda v: v.seq == 4 and any(a.kind == "place_scanned" for a in v.alerts))
        assert view.alerts[0].staff_only
        await pilot.pause()
        await pilot.press("enter")
        await _screen(app, pilot, PickerScreen)
        await pilot.press("1")  # cancel the scan
        view = views.wait(lambda v: not any(a.kind == "place_scanned" for a in v.alerts))
        assert store.catalog.by_gtin(JUICE).name not in [ln.name for ln in view.lines]
        assert [a.kind for a in view.alerts] == ["age_check"]
    rt.close()


async def test_call_staff_from_looks_different_opens_the_staff_pin_prompt(store):
    # the camera doubts the milk; the shopper asks for staff from the question: the staff PIN
    # prompt opens on the screen, and the right PIN opens staff mode with the question in it
    from cart.common.events import VisionVerdict
    from cart.ui.app import CartApp
    from cart.ui.screens import EntryScreen, PickerScreen, StaffScreen

    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL", vision=True)
    views = Views()
    rt.attach(views)
    app = CartApp(rt)
    async with app.run_test(size=(100, 30)) as pilot:
        rt.post(scan(clock, MILK_A))
        seen = (("Arla-Lactose-Medium-Fat-Milk", 0.97),)
        rt.post(VisionVerdict(clock.now_ms() + 1000, seen, "camera:basket"))
        rt.post(settle(clock, 1580.0, 1580.0))
        view = views.wait(lambda v: any(a.kind == "looks_different" for a in v.alerts))
        (alert,) = view.alerts
        assert [c.key for c in alert.choices][-2:] == ["show_again", "staff"]
        await pilot.pause()
        await pilot.press("enter")
        await _screen(app, pilot, PickerScreen)
        await pilot.press(str(len(alert.choices)))  # "Call staff"
        await _screen(app, pilot, EntryScreen)
        assert "Staff PIN" in screen_text(app)
        await pilot.press(*"2468", "enter")
        await _screen(app, pilot, StaffScreen)
        assert "does not look like" in screen_text(app)
    rt.close()


async def test_named_staff_log_in_on_the_screen_with_their_id_and_own_pin(tmp_path):
    # a store whose staff each have a PIN: the screen asks who, then the PIN; the right id
    # with the right PIN opens staff mode, another member's PIN for that id does not
    import shutil

    from cart.store.loading import DEMO_STORE
    from cart.store.staff import add_staff
    from cart.ui.app import CartApp

    folder = tmp_path / "store"
    folder.mkdir()
    for name in ("store.toml", "catalog.toml"):
        shutil.copy(DEMO_STORE / name, folder / name)
    add_staff(folder, "anna", "1357")
    add_staff(folder, "bo", "8642")
    store = load_store(folder)
    clock = ManualClock()
    rt = build_runtime(store, ":memory:", clock=clock, synchronous="NORMAL")
    assert rt.staff_named
    views = Views()
    rt.attach(views)
    app = CartApp(rt)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s", *"anna", "enter")
        await pilot.pause()
        await pilot.press(*"8642", "enter")  # bo's PIN, not anna's
        view = views.wait(lambda v: v.message)
        assert not view.staff
        await pilot.press("s", *"anna", "enter")
        await pilot.pause()
        await pilot.press(*"1357", "enter")
        view = views.wait(lambda v: v.staff)
        assert view.staff
    rt.close()
