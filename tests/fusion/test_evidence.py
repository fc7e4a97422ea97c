"""The evidence maths as pure functions: no reconciler, only arguments and results."""

from __future__ import annotations

import math

import pytest

from cart.fusion import evidence as ev
from cart.fusion.config import CameraSettings, FusionConfig, MatchSettings, settings_from
from cart.fusion.products import Product

M = settings_from(MatchSettings, FusionConfig())
CAM = settings_from(CameraSettings, FusionConfig())

CREAM = Product("cream", "Sour cream", 1995, unit_weight_g=320, tolerance_g=12, label="Cream")
ECO = Product("eco", "Organic cream", 3995, unit_weight_g=320, tolerance_g=12, label="Eco")
CHEAP = Product("cheap", "Cheap cream", 995, unit_weight_g=320, tolerance_g=12, label="Cheap")
MELON = Product("melon", "Melon", 2995, unit_weight_g=1500, tolerance_g=600, label="Melon")
PINE = Product("pine", "Pineapple", 3495, unit_weight_g=1200, tolerance_g=40, label="Pine")
LEMON = Product(
    "lemon", "Lemon", 3995, by_weight=True, unit_weight_g=130, label="Lemon", codes=("4053",)
)
ALL = (CREAM, ECO, CHEAP, MELON, PINE, LEMON)


def facts(n_labels: int = 10) -> ev.ProductFacts:
    return ev.ProductFacts(
        lambda label: tuple(p for p in ALL if p.label == label),
        lambda p: (p.unit_weight_g, max(0.5, p.tolerance_g / 2)),
        n_labels,
    )


def item(ref, mean, var, t_ms=None, label=None, kind=ev.ItemKind.PENDING_SCAN):
    return ev.Expected(ref, kind, mean, var, t_ms, label)


def test_tolerance_is_match_k_sigma_never_under_the_floor():
    assert ev.tolerance(0.0, 0.0, M) == M.match_floor_g
    assert ev.tolerance(9.0, 4.0, M) == pytest.approx(M.match_k * 5.0)


def test_gaussian_pdf_peaks_at_the_mean():
    assert ev.gaussian_pdf(0.0, 0.0, 1.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert ev.gaussian_pdf(3.0, 0.0, 1.0) < ev.gaussian_pdf(1.0, 0.0, 1.0)


def test_counts_that_fit_brackets_the_likeliest_count():
    assert ev.counts_that_fit(80.0, 40.0, 1.0, 1.5, 1, 2, M) == [2]
    assert ev.counts_that_fit(80.0, 40.0, 1.0, 1.5, 3, 2, M) == []  # 2 is below the start


def test_best_subset_takes_the_smallest_set_that_fits():
    items = [item("a", 100.0, 4.0), item("b", 200.0, 4.0), item("c", 300.0, 4.0)]
    assert ev.best_subset(300.0, items, 1.5, M, max_subset=3, now=0) == ["c"]
    assert sorted(ev.best_subset(500.0, items, 1.5, M, max_subset=3, now=0)) == ["b", "c"]
    assert ev.best_subset(650.0, items, 1.5, M, max_subset=3, now=0) is None
    assert ev.best_subset(600.0, items, 1.5, M, max_subset=2, now=0) is None


def test_best_subset_prefers_the_newer_expectation_and_the_narrower_fit():
    old, new = item("old", 100.0, 4.0, t_ms=0), item("new", 100.0, 4.0, t_ms=110_000)
    assert ev.best_subset(100.0, [old, new], 1.5, M, max_subset=1, now=120_000) == ["new"]
    narrow, wide = item("narrow", 100.0, 1.0), item("wide", 100.0, 25.0)
    assert ev.best_subset(101.0, [narrow, wide], 1.5, M, max_subset=1, now=0) == ["narrow"]


def test_the_camera_witnesses_only_a_single_pending_scan():
    a = item("a", 320.0, 36.0, label="Cream")
    b = item("b", 320.0, 36.0, label="Eco")
    top = (("Cream", 0.9),)
    assert ev.best_subset(320.0, [a, b], 1.5, M, max_subset=1, now=0, top=top) == ["a"]
    top = (("Eco", 0.9),)
    assert ev.best_subset(320.0, [a, b], 1.5, M, max_subset=1, now=0, top=top) == ["b"]
    # billed lines are never weighed by the camera: the newest (first listed last) wins a tie
    a2, b2 = (
        ev.Expected(x.ref, ev.ItemKind.BILLED_LINE, 320.0, 36.0, None, x.label) for x in (a, b)
    )
    assert ev.best_subset(320.0, [a2, b2], 1.5, M, max_subset=1, now=0, top=top) == ["b"]
    assert ev.best_subset(320.0, [b2, a2], 1.5, M, max_subset=1, now=0, top=top) == ["a"]


def test_camera_loglik_and_the_floor_of_unlisted_labels():
    top = (("Cream", 0.6), ("Eco", 0.3))
    assert ev.camera_loglik("Cream", top, 10) == pytest.approx(math.log(0.6))
    floor = ev.unlisted_floor(dict(top), 10, 2)
    assert floor == pytest.approx(0.1 / 8)
    assert ev.camera_loglik("Melon", top, 10) == pytest.approx(math.log(floor))
    assert ev.camera_loglik(None, top, 10) == pytest.approx(math.log(0.1))


def test_posterior_needs_a_view_and_a_label():
    assert ev.posterior(CREAM, 320.0, None, facts(), CAM) is None
    assert ev.posterior(Product("x", "X", 100), 320.0, (("Cream", 0.9),), facts(), CAM) is None


def test_posterior_doubts_a_scan_when_the_camera_sees_a_dearer_look_alike():
    assert ev.posterior(CREAM, 320.0, (("Cream", 0.9),), facts(), CAM) == 1.0
    doubt = ev.posterior(CREAM, 320.0, (("Eco", 0.95), ("Cream", 0.02)), facts(), CAM)
    assert doubt < 0.7
    # a cheaper look-alike cannot undercharge: not an alternative, unless every one counts
    assert ev.posterior(CREAM, 320.0, (("Cheap", 0.95), ("Cream", 0.02)), facts(), CAM) == 1.0
    assert (
        ev.posterior(
            CREAM, 320.0, (("Cheap", 0.95), ("Cream", 0.02)), facts(), CAM, dearer_only=False
        )
        < 0.7
    )


def test_posterior_takes_the_weight_as_a_second_witness():
    top = (("Pine", 0.6), ("Melon", 0.35))
    # a melon that weighs like a pineapple: the weight backs the camera's doubt
    light = ev.posterior(MELON, 1200.0, top, facts(), CAM, dearer_only=False)
    heavy = ev.posterior(MELON, 2000.0, top, facts(), CAM, dearer_only=False)
    assert light < heavy


def test_joint_multiplies_the_likelihood_ratios_of_two_views():
    assert ev.joint(0.8, None, CAM) == 0.8
    off = settings_from(CameraSettings, FusionConfig(joint_views=False))
    assert ev.joint(0.8, 0.2, off) == 0.8
    assert ev.joint(0.8, 0.2, CAM) < 0.8  # a weak first view pulls a better second one down
    assert ev.joint(CAM.vision_prior, 0.5, CAM) == pytest.approx(0.5)


def test_camera_vetoes_a_loose_fit_only_for_a_far_better_rival_not_just_placed():
    top = (("Pine", 0.9),)
    assert ev.camera_vetoes(MELON, 1200.0, top, facts(), CAM, set())
    assert not ev.camera_vetoes(MELON, 1200.0, top, facts(), CAM, {"pine"})  # weights swapped
    assert not ev.camera_vetoes(MELON, 1500.0, (("Melon", 0.9),), facts(), CAM, set())
    assert not ev.camera_vetoes(MELON, 1200.0, None, facts(), CAM, set())


def test_produce_suggestions_list_produce_in_the_cameras_order():
    sugg = ev.produce_suggestions((("Cream", 0.5), ("Lemon", 0.4)), facts().by_label)
    assert [(c.key, c.name, c.score) for c in sugg] == [("4053", "Lemon", 0.4)]
    assert ev.produce_suggestions(None, facts().by_label) == []


def test_produce_share_sums_the_produce_the_camera_saw():
    lime = Product("lime", "Lime", 4995, by_weight=True, label="Lime", codes=("4048",))
    by_label = {p.label: (p,) for p in (*ALL, lime)}.get

    def share(top):
        return ev.produce_share(top, lambda label: by_label(label, ()))

    # two citrus at 0.3 each: unsure which, sure it is produce
    assert share((("Lemon", 0.3), ("Lime", 0.3), ("Cream", 0.2))) == pytest.approx(0.6)
    assert share((("Cream", 0.6), ("Eco", 0.3))) == 0.0  # nothing sold by weight
    assert share((("Unknown-Label", 0.9),)) == 0.0
    assert share(None) == 0.0


def test_a_placement_said_to_hold_n_items_is_weighed_whole():
    # "2 × small melon" weighs what one pineapple does: the weight cannot tell them apart, so
    # the camera's pineapple decides; judged as one small melon of its mean weight (as a
    # confirmed quantity once was), the pineapple was ruled out by a weight nobody measured
    small = Product("small", "Small melon", 1495, unit_weight_g=600, tolerance_g=60, label="Sm")
    both = (*ALL, small)
    f = ev.ProductFacts(
        lambda label: tuple(p for p in both if p.label == label),
        lambda p: (p.unit_weight_g, max(0.5, p.tolerance_g / 2)),
        10,
    )
    top = (("Pine", 0.9),)
    assert ev.posterior(small, 1200.0, top, f, CAM, count=2) < 0.7
    assert ev.posterior(small, 600.0, top, f, CAM) > 0.7
    # two small melons that weigh it, and a camera that agrees: no doubt
    assert ev.posterior(small, 1190.0, (("Sm", 0.9),), f, CAM, count=2) > 0.99
