"""Regressions for the ways honest trips were silently over- or undercharged on the harsh
profile. Each cause also has a scenario in cart/sim/scenarios/ (played through the simulated
bridge and the real drivers by test_scenarios.py); these pin the reconciler's decisions."""

from __future__ import annotations

import pytest

from cart.common.events import Scan, VisionVerdict, WeightMoving, WeightSettled
from cart.fusion import actions as A
from cart.fusion.alerts import FlagRaised, LineAdded, LineRemoved
from cart.fusion.products import Product, SimpleCatalogue
from cart.fusion.reconciler import Reconciler

CAT = SimpleCatalogue(
    [
        Product(
            "passion",
            "Passion fruit",
            795,
            unit_weight_g=40,
            tolerance_g=12,
            label="Passion-Fruit",
            codes=("4397",),
        ),
        Product(
            "yog",
            "Vanilla yoghurt",
            2795,
            unit_weight_g=1045,
            tolerance_g=25,
            label="Arla-Mild-Vanilla-Yoghurt",
            codes=("7310000100260",),
        ),
        Product(
            "cream",
            "Sour cream",
            1995,
            unit_weight_g=320,
            tolerance_g=12,
            label="Arla-Ecological-Sour-Cream",
            codes=("7310000100192",),
        ),
        Product(
            "lemon",
            "Lemon",
            3995,
            by_weight=True,
            unit_weight_g=130,
            tolerance_g=35,
            label="Lemon",
            codes=("4053",),
        ),
    ]
)


class Feed:
    def __init__(self) -> None:
        self.r = Reconciler(CAT)
        self.t = 1_000
        self.g = 0.0
        self.out: list = []

    def __call__(self, x):
        out = self.r.handle(x)
        self.out += out
        return out

    def scan(self, code: str):
        self.t += 2000
        return self(Scan(self.t, code))

    def settle(self, delta: float, *, after: int = 2000, verdict=None):
        self.t += after
        self(WeightMoving(self.t - 600, self.g))
        if verdict is not None:
            self(VisionVerdict(self.t - 300, verdict, "camera:basket"))
        self.g += delta
        return self(WeightSettled(self.t, self.g, delta, 600, 1.7))

    def lines(self) -> list[str]:
        return sorted(ln.product_id for ln in self.r.state().lines)


def test_a_drop_that_comes_straight_back_did_not_happen():
    # a push shifts the load by about a light item's weight for a moment: the item's line
    # must not be lost (harsh: a passion fruit was taken out of the bill and never came back)
    f = Feed()
    f.settle(1580.0)  # something heavy, unscanned: answered below
    f.scan("7310000100260")
    f.scan("4397")
    f.settle(31.0, verdict=(("Passion-Fruit", 0.9),))
    assert "passion" in f.lines()
    out = f.settle(-21.0)  # the push: light, unseen: held a moment
    out += f.settle(19.5, after=2500)  # the push ends: the weight is back
    assert not any(isinstance(e, (LineRemoved, LineAdded, FlagRaised)) for e in out)
    assert f.lines().count("passion") == 1
    # heavier than the hold-back limit: taken out at once, and restored when it comes back
    f.scan("4397")
    f.settle(44.0, verdict=(("Passion-Fruit", 0.9),))
    out = f.settle(-44.0)
    assert any(isinstance(e, LineRemoved) for e in out)
    out = f.settle(43.6, after=2500)
    assert any(isinstance(e, LineAdded) for e in out)
    assert not any(isinstance(e, FlagRaised) for e in out)


def test_a_light_unseen_change_that_stays_is_explained_after_a_moment():
    f = Feed()
    f.scan("4397")
    f.settle(29.0)  # the passion fruit, unseen: held a moment
    assert f.r.state().lines[0].placed is False
    f.t += 5000
    f.r.advance(f.t)  # the moment passes: it is the scanned passion fruit
    assert f.r.state().lines[0].placed is True
    assert f.r.open_flags == []


def test_a_drop_that_returns_late_is_a_new_placement():
    f = Feed()
    f.scan("4397")
    f.settle(31.0, verdict=(("Passion-Fruit", 0.9),))
    f.settle(-31.0)
    assert f.lines() == []
    out = f.settle(31.0, after=20_000)  # put back much later, unseen: ask, do not guess
    assert f.lines() == []
    assert any(isinstance(e, FlagRaised) and e.flag.kind == "scan_added" for e in out)


def test_put_back_needs_the_camera_to_agree_with_every_look_alike():
    # sour cream taken out; lemons of the same weight put in and seen: not the sour cream
    f = Feed()
    f.scan("7310000100192")
    f.settle(319.6, verdict=(("Arla-Ecological-Sour-Cream", 0.9),))
    f.settle(-318.2, after=8000)
    assert f.lines() == []
    out = f.settle(310.0, after=15_000, verdict=(("Lemon", 0.95),))
    assert f.lines() == []
    assert any(isinstance(e, FlagRaised) and e.flag.kind == "weigh_produce" for e in out)
    # the same item seen coming back is billed again with no question
    g = Feed()
    g.scan("7310000100192")
    g.settle(319.6, verdict=(("Arla-Ecological-Sour-Cream", 0.9),))
    g.settle(-318.2, after=8000)
    out = g.settle(319.0, after=15_000, verdict=(("Arla-Ecological-Sour-Cream", 0.9),))
    assert g.lines() == ["cream"]
    assert not any(isinstance(e, FlagRaised) for e in out)


def test_quantity_confirmed_after_scanning_some_bills_only_the_rest():
    # one scan, then four more put in one by one; the shopper scans three of them and
    # confirms "4": four more in all, not 3 + 4 (harsh: four extra yoghurts were billed)
    f = Feed()
    f.scan("7310000100260")
    f.settle(1046.0, verdict=(("Arla-Mild-Vanilla-Yoghurt", 0.9),))
    for _ in range(4):
        f.settle(1045.0, after=800, verdict=(("Arla-Mild-Vanilla-Yoghurt", 0.9),))
    q = [x for x in f.r.open_flags if x.kind == "quantity"]
    assert q, [x.kind for x in f.r.open_flags]
    for _ in range(3):
        f.scan("7310000100260")
    assert f.lines().count("yog") == 4
    flag = next(x for x in f.r.open_flags if x.kind == "quantity")
    f.t += 1000
    f(A.ConfirmQuantity(f.t, flag.id, 4))
    assert f.lines().count("yog") == 5
    assert f.r.open_flags == []


def test_picker_offers_own_bag_when_the_drop_fits_it_and_a_billed_item(cart):
    # a personal bag of 228 g and a pomegranate of 234 g: a drop of about that weight is
    # asked about, never silently taken for the bag (harsh: the pomegranate stayed billed)
    cart.place("bag", 228.0)
    cart.act(A.DeclarePersonal, flag_id=cart.flag("scan_added").id)
    cart.scan("pomegranate")
    cart.place("pomegranate", 234.5, looks_like="Pomegranate")
    assert cart.lines() == ["pomegranate"]
    cart.remove("pomegranate")
    f = cart.flag("which_removed")
    keys = {c.key for c in f.candidates}
    assert "personal" in keys and any(k.startswith("line:") for k in keys)
    line = next(int(k.split(":")[1]) for k in keys if k.startswith("line:"))
    cart.act(A.PickRemoved, flag_id=f.id, line_id=line)
    assert cart.lines() == [] and cart.open == ()
    cart.remove("bag")  # the bag still counts as tare: it leaves with no question
    assert cart.open == ()
    assert cart.checkout()


def test_picker_answer_own_bag_keeps_the_item_billed(cart):
    cart.place("bag", 228.0)
    cart.act(A.DeclarePersonal, flag_id=cart.flag("scan_added").id)
    cart.scan("pomegranate")
    cart.place("pomegranate", 234.5, looks_like="Pomegranate")
    cart.remove("bag")
    f = cart.flag("which_removed")
    cart.act(A.PickRemoved, flag_id=f.id, line_id=None)
    assert cart.lines() == ["pomegranate"] and cart.open == ()
    out = cart.act(A.PickRemoved, flag_id=f.id, line_id=None)  # answered already
    assert any(getattr(e, "kind", "") == "refused" for e in out)


def test_a_put_back_that_drops_straight_away_reopens_the_question():
    # harsh: a push's transient rise was taken for an unexplained removal put back; its drop
    # a moment later then took a passion fruit off the bill. The question comes back instead.
    f = Feed()
    f.scan("4397")
    f.settle(33.8, verdict=(("Passion-Fruit", 0.9),))
    f.settle(-90.0, after=10_000)  # something of 90 g left that nothing explains
    assert [x.kind for x in f.r.open_flags] == ["unexplained_removal"]
    f.settle(90.2, after=20_000)  # "put back"
    assert f.r.open_flags == []
    out = f.settle(-89.1, after=2_900)  # straight back down: it was not put back
    assert not any(isinstance(e, LineRemoved) for e in out)
    assert f.lines() == ["passion"]
    assert [x.kind for x in f.r.open_flags] == ["unexplained_removal"]


def test_show_produce_question_follows_the_bag_that_settled_again():
    # bridge run: the produce line was re-weighed when its bag settled a moment later, and
    # the "show it to the camera" question kept the old line: the item shown never closed it
    f = Feed()
    f.t += 1000
    f(A.SelectProduce(f.t, None, "4053", True))
    f.settle(151.0)  # unseen: the PLU needs the camera
    show = [x for x in f.r.open_flags if x.kind == "looks_different"]
    assert show
    f.settle(25.8, after=700)  # the bag slumps: the same placement, re-weighed
    assert [ln.weight_g for ln in f.r.state().lines] == [pytest.approx(171.8)]
    f.t += 2000
    f(A.ShowAgain(f.t, show[0].id))
    f.t += 1500
    f(VisionVerdict(f.t, (("Lemon", 0.9),), "camera:basket"))
    assert f.r.open_flags == []


def test_produce_chosen_before_its_bag_settled_again_is_re_weighed():
    # demo under load: the scale thread stalled while the shopper chose the produce, so the
    # answer came between the bag's two settles; the rest of the bag (82 g) was then asked
    # about as a new item ("Scan the item you just added (82 g)")
    f = Feed()
    f.settle(477.0)  # most of the bag: unexplained, nothing seen
    (q,) = f.r.open_flags
    assert q.kind == "scan_added"
    f.t += 300
    f(A.SelectProduce(f.t, q.id, "4053"))
    assert [ln.weight_g for ln in f.r.state().lines] == [pytest.approx(477.0)]
    out = f.settle(82.0, after=700)  # the rest of the bag settles
    assert [ln.weight_g for ln in f.r.state().lines] == [pytest.approx(559.0)]
    assert not any(isinstance(e, FlagRaised) and e.flag.kind == "scan_added" for e in out)
    assert all(x.kind == "looks_different" for x in f.r.open_flags)  # show it to the camera


def test_bag_taken_for_more_of_the_last_item_is_asked_whole_when_it_settles_again():
    # demo autoplay: the first settle of a 559 g bag of produce fitted 2 × the item just
    # scanned ("Looks like 2 more × ..."), and the rest of the bag became a produce question
    # of its own (the produce billed at 82 g; the quantity question open for ever)
    f = Feed()
    f.scan("7310000100192")
    f.settle(320.0)  # the sour cream, placed
    f.settle(640.0, after=3000)  # most of a bag of lemons: unseen, weighs 2 × sour cream
    assert [x.kind for x in f.r.open_flags] == ["quantity"]
    f.settle(113.0, after=700)  # the rest of the bag settles
    (q,) = f.r.open_flags
    assert q.kind == "scan_added" and q.grams == pytest.approx(753.0)
    f.t += 500
    f(A.SelectProduce(f.t, q.id, "4053"))
    assert sorted(ln.weight_g or 0.0 for ln in f.r.state().lines) == [0.0, pytest.approx(753.0)]
    assert f.lines() == ["cream", "lemon"]


def test_rest_of_a_bag_that_rings_long_is_still_the_same_placement():
    # demo autoplay, harsh: the rest of the bag began to move 50 ms after the first settle,
    # but the lightly damped basket took 3.5 s to settle; a second produce line was billed
    f = Feed()
    f.settle(467.0)
    (q,) = f.r.open_flags
    f.t += 1400
    f(A.SelectProduce(f.t, q.id, "4053"))
    f.t += 2170  # 3.57 s after the first settle, moving since 50 ms after it
    f(WeightMoving(f.t - 3520, f.g))
    f.g += 78.5
    out = f(WeightSettled(f.t, f.g, 78.5, 3520, 1.6))
    assert [ln.weight_g for ln in f.r.state().lines] == [pytest.approx(545.5)]
    assert not any(isinstance(e, FlagRaised) and e.flag.kind == "scan_added" for e in out)
    # an item put in later (moving 3.4 s after the bag settled) is not the bag's rest
    f.settle(60.0, after=4000)
    assert [x.kind for x in f.r.open_flags if x.kind != "looks_different"] == ["scan_added"]
