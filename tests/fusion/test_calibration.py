"""Fusion judges the camera by the classifier's measured behaviour, not by one model's raw
probability profile: its measured confusion, its strongest look-alike, both views of a re-shown
item."""

from __future__ import annotations

import pytest

from cart.common.events import VisionVerdict, WeightMoving, WeightSettled
from cart.fusion import actions as A
from cart.fusion.alerts import FlagRaised, FlagResolved
from cart.fusion.products import Product, SimpleCatalogue
from cart.fusion.reconciler import FusionConfig, Reconciler, camera_confusion_from

CAT = SimpleCatalogue(
    [
        Product(
            "orange",
            "Orange",
            2495,
            by_weight=True,
            unit_weight_g=180,
            tolerance_g=60,
            label="Orange",
            codes=("4012",),
        ),
        Product(
            "satsumas",
            "Satsumas",
            3995,
            by_weight=True,
            unit_weight_g=90,
            tolerance_g=30,
            label="Satsumas",
            codes=("4055",),
        ),
        Product(
            "melon",
            "Galia melon",
            4995,
            by_weight=True,
            unit_weight_g=900,
            tolerance_g=300,
            label="Galia-Melon",
            codes=("4330",),
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
        Product(
            "grapefruit",
            "Red grapefruit",
            3995,
            by_weight=True,
            unit_weight_g=350,
            tolerance_g=80,
            label="Red-Grapefruit",
            codes=("4288",),
        ),
    ]
)

# the model calls two of its five orange photos something else
MEASURED = {
    "Orange": [(("Satsumas", 0.57), ("Orange", 0.02))] * 2 + [(("Orange", 0.6),)] * 3,
    "Satsumas": [(("Satsumas", 0.4),)] * 4 + [(("Lemon", 0.45),)],
    "Lemon": [(("Lemon", 0.8),)] * 5,
    "Galia-Melon": [(("Galia-Melon", 0.7),)] * 5,
    "Red-Grapefruit": [(("Red-Grapefruit", 0.7),)] * 5,
}
ORANGE_AS_SATSUMAS = (
    ("Satsumas", 0.5693),
    ("Galia-Melon", 0.1215),
    ("Lemon", 0.0457),
    ("Red-Grapefruit", 0.0259),
    ("Orange", 0.0172),
)


def confusion_config(**kw) -> FusionConfig:
    return FusionConfig(camera_confusion=camera_confusion_from(MEASURED), **kw)


def place_produce(r: Reconciler, code: str, grams: float, verdict, t: int = 1_000) -> list:
    out = r.handle(A.SelectProduce(t, None, code, False))
    out += r.handle(WeightMoving(t + 1400, 0.0))
    out += r.handle(VisionVerdict(t + 1700, verdict, "camera:basket"))
    out += r.handle(WeightSettled(t + 2000, grams, grams, 600, 1.7))
    return out


def raised(out, kind="looks_different"):
    return [e.flag for e in out if isinstance(e, FlagRaised) and e.flag.kind == kind]


def test_confusion_rows_are_smoothed_shares_of_each_labels_top1():
    conf = camera_confusion_from(MEASURED, alpha=0.1)
    row = conf["Orange"]
    denom = 5 + 0.1 * len(MEASURED)
    assert row["Satsumas"] == pytest.approx(2.1 / denom)
    assert row["Orange"] == pytest.approx(3.1 / denom)
    assert row[""] == pytest.approx(0.1 / denom)  # a top-1 never measured for oranges
    for r in conf.values():
        assert sum(v for k, v in r.items() if k) < 1.0
    with pytest.raises(ValueError, match="alpha"):
        camera_confusion_from(MEASURED, alpha=0.0)
    assert camera_confusion_from({"Kiwi": []}) == {}  # no photo: no row, not a zero row


def test_a_confusion_the_model_is_known_to_make_is_not_taken_for_a_cheaper_plu():
    # raw probabilities alone: 0.57 satsumas against 0.017 orange looks like a cheaper PLU
    alone = place_produce(Reconciler(CAT), "4012", 540.0, ORANGE_AS_SATSUMAS)
    assert raised(alone)
    # the model calls two of five oranges satsumas: weak evidence against an orange
    known = place_produce(
        Reconciler(CAT, config=confusion_config()), "4012", 540.0, ORANGE_AS_SATSUMAS
    )
    assert not raised(known)


def test_lemons_sold_as_oranges_are_still_caught_with_the_confusion_known():
    # the model never calls an orange a lemon: a lemon verdict stays strong evidence
    seen = (("Lemon", 0.9), ("Satsumas", 0.02))
    out = place_produce(Reconciler(CAT, config=confusion_config()), "4012", 540.0, seen)
    assert raised(out)


def test_the_strongest_look_alike_decides_not_the_average_of_every_listed_label():
    # a smoother model lists more weak labels; they must not dilute the one strong rival
    seen = (
        ("Satsumas", 0.44),
        ("Galia-Melon", 0.13),
        ("Lemon", 0.07),
        ("Red-Grapefruit", 0.06),
        ("Orange", 0.03),
    )
    best = place_produce(Reconciler(CAT), "4012", 540.0, seen)
    mean = place_produce(
        Reconciler(CAT, config=FusionConfig(best_alternative=False)), "4012", 540.0, seen
    )
    assert raised(best) and not raised(mean)


def test_a_reshown_item_is_judged_on_both_views():
    first = (("Satsumas", 0.65), ("Red-Grapefruit", 0.07), ("Orange", 0.014))
    second = (("Satsumas", 0.40), ("Orange", 0.20), ("Lemon", 0.04))

    def play(cfg):
        r = Reconciler(CAT, config=cfg)
        out = place_produce(r, "4012", 540.0, first)
        (flag,) = raised(out)
        out = r.handle(A.ShowAgain(9_000, flag.id))
        out += r.handle(VisionVerdict(10_000, second, "camera:basket"))
        return out

    def looked_right(out):
        return any(isinstance(e, FlagResolved) and "second view" in str(e) for e in out)

    both = play(FusionConfig())
    assert not looked_right(both)
    assert any(isinstance(e, FlagRaised) and e.flag.needs_staff for e in both)
    last_only = play(FusionConfig(joint_views=False))
    assert looked_right(last_only)


def test_held_out_folds_never_judge_a_photo_they_were_measured_on():
    from cart.bench.trips import split_table

    table = {
        "Orange": [[("Orange", 0.9)], [("Satsumas", 0.6)], [("Orange", 0.7)], [("Galia", 0.4)]],
        "Lemon": [[("Lemon", 0.8)], [("Lime", 0.5)], [("Lemon", 0.9)]],
        "Kiwi": [[("Kiwi", 0.9)]],
    }
    seen_played = {k: [] for k in table}
    for part in (0, 1):
        measured, played = split_table(table, part)
        for label, rows in table.items():
            if len(rows) >= 2:
                m = [id(r) for r in measured[label]]
                p = [id(r) for r in played[label]]
                assert not set(m) & set(p)  # no photo on both sides
                assert sorted(m + p) == sorted(id(r) for r in rows)  # every photo used once
            else:
                assert label not in measured and played[label] == rows
            seen_played[label] += played[label]
    # over the two folds every photo of a multi-photo class is played exactly once
    for label, rows in table.items():
        if len(rows) >= 2:
            assert sorted(map(id, seen_played[label])) == sorted(map(id, rows))
