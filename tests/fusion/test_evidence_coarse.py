"""The camera's judgement of a placed item by coarse class when its fine label is unsure."""

from __future__ import annotations

import dataclasses

import pytest

from cart.fusion import evidence as ev
from cart.fusion.config import CameraSettings, FusionConfig, settings_from
from cart.fusion.products import Product


def unit(pid: str, price: int, label: str) -> Product:
    return Product(pid, pid.title(), price, unit_weight_g=200, tolerance_g=10, label=label)


GOLDEN = unit("golden", 2000, "Golden")
PINK = unit("pink", 3500, "Pink")
ROYAL = unit("royal", 3400, "Royal")
CITRUS = tuple(unit(f"citrus{i}", 4000 + i, f"Citrus{i}") for i in range(5))
ALL = (GOLDEN, PINK, ROYAL, *CITRUS)
COARSE = {"Golden": "Apple", "Pink": "Apple", "Royal": "Apple"} | {
    f"Citrus{i}": "Citrus" for i in range(5)
}

FINE = settings_from(CameraSettings, FusionConfig())
HIER = settings_from(CameraSettings, FusionConfig(camera_coarse=COARSE))


def facts() -> ev.ProductFacts:
    return ev.ProductFacts(
        lambda label: tuple(p for p in ALL if p.label == label),
        lambda p: (p.unit_weight_g, 5.0),
        len(COARSE),
    )


def post(p, top, s):
    return ev.posterior(p, 200.0, top, facts(), s)


def test_unsure_varieties_of_the_scanned_kind_are_no_reason_to_doubt_it():
    # the camera is not sure which apple: the scanned Golden is an apple, as the camera says
    top = (("Pink", 0.3), ("Royal", 0.28), ("Golden", 0.02))
    assert post(GOLDEN, top, FINE) < 0.7  # by fine label alone: "looks different"
    assert post(GOLDEN, top, HIER) == 1.0  # by coarse class: an apple, as scanned


def test_a_sure_fine_verdict_is_still_judged_by_variety():
    top = (("Pink", 0.8), ("Golden", 0.02))
    assert post(GOLDEN, top, HIER) == pytest.approx(post(GOLDEN, top, FINE))
    assert post(GOLDEN, top, HIER) < 0.7


def test_an_unsure_verdict_spread_over_another_kind_counts_as_that_kind():
    # five citrus labels at 0.12 each: no one of them outweighs the scan, the kind does
    top = tuple((f"Citrus{i}", 0.12) for i in range(5)) + (("Golden", 0.02),)
    assert post(GOLDEN, top, FINE) > 0.7
    assert post(GOLDEN, top, HIER) < 0.7


def test_the_coarse_view_needs_the_hierarchy_and_an_unsure_top_label():
    top = (("Pink", 0.3), ("Royal", 0.28))
    assert ev.coarse_view(top, FINE) is None
    view = ev.coarse_view(top, HIER)
    assert view is not None and view.top1 == "Apple"
    assert view.mass["Apple"] == pytest.approx(0.58)
    assert ev.coarse_view((("Pink", HIER.vision_fine_sure),), HIER) is None  # at the bar: sure
    stricter = dataclasses.replace(HIER, vision_fine_sure=0.9)
    assert ev.coarse_view((("Pink", 0.8),), stricter) is not None
    assert ev.coarse_view((("Unknown", 0.3),), HIER) is None  # no label it knows


def test_a_measured_confusion_is_read_by_coarse_class_too():
    conf = {"Golden": {"Pink": 0.3, "Royal": 0.3, "Golden": 0.39, "": 0.01}}
    s = settings_from(CameraSettings, FusionConfig(camera_coarse=COARSE, camera_confusion=conf))
    top = tuple((f"Citrus{i}", 0.12) for i in range(5)) + (("Golden", 0.02),)
    # a Golden's photos never come out as citrus: a citrus verdict is strong evidence
    assert post(GOLDEN, top, s) < 0.7
    apples = (("Pink", 0.3), ("Royal", 0.28), ("Golden", 0.02))
    assert post(GOLDEN, apples, s) == 1.0


def test_the_cart_judges_vision_with_the_shipped_hierarchy():
    from cart.app.engine import FusionEngine

    cfg = FusionEngine.config(True)
    assert cfg.camera_coarse is not None
    assert cfg.camera_coarse["Granny-Smith"] == cfg.camera_coarse["Pink-Lady"] == "Apple"
    assert len(cfg.camera_coarse) == 81
    assert FusionEngine.config(False).camera_coarse is None
