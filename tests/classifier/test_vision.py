"""confirm / suggest: the classifier's verdict checked against the scanned product."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart.common.events import VisionVerdict
from cart.fusion.vision import (
    CONFIRM,
    MISMATCH,
    UNSURE,
    Hierarchy,
    VisionPolicy,
    confirm,
    suggest,
    verdict_from_probabilities,
)

H = Hierarchy(
    {
        "Granny-Smith": "Apple",
        "Pink-Lady": "Apple",
        "Golden-Delicious": "Apple",
        "Banana": "Banana",
        "Arla-Standard-Milk": "Milk",
        "Arla-Medium-Fat-Milk": "Milk",
        "Lemon": "Lemon",
        "Lime": "Lime",
    }
)


def v(*top):
    return VisionVerdict(t_ms=1000, top=tuple(top))


@dataclass
class Product:
    label: str
    plu: str | None
    name: str = ""


def test_confirm_on_the_fine_class():
    c = confirm(v(("Granny-Smith", 0.8), ("Pink-Lady", 0.1)), "Granny-Smith", H)
    assert (c.verdict, c.level, c.confidence) == (CONFIRM, "fine", 0.9)
    assert c.seen == "Granny-Smith"


def test_confirm_on_the_coarse_class_when_the_variety_is_unclear():
    c = confirm(v(("Pink-Lady", 0.45), ("Granny-Smith", 0.3), ("Banana", 0.05)), "Granny-Smith", H)
    assert (c.verdict, c.level) == (CONFIRM, "coarse")
    assert c.confidence == pytest.approx(0.75)


def test_mismatch_needs_another_class_to_be_clear():
    c = confirm(
        v(("Banana", 0.9), ("Lemon", 0.05), ("Granny-Smith", 0.02)), "Arla-Standard-Milk", H
    )
    # 0.03 left outside the top-3, shared by 5 classes of which 2 are milk
    assert c.verdict == MISMATCH and c.confidence == pytest.approx(1 - 0.03 * 2 / 5, abs=1e-3)
    # much probability left outside the top-k could still be milk: unsure, not mismatch
    c = confirm(v(("Banana", 0.6), ("Lemon", 0.05)), "Arla-Standard-Milk", H)
    assert c.verdict == UNSURE


def test_unsure_when_the_scanned_product_has_no_vision_label():
    for label in ("", None, "Whisky-12-Years"):
        c = confirm(v(("Banana", 0.99)), label, H)
        assert (c.verdict, c.confidence) == (UNSURE, 0.0)
    assert confirm(v(), "Banana", H).verdict == UNSURE


def test_bad_verdicts_are_rejected():
    with pytest.raises(ValueError):
        confirm(v(("Banana", 1.5)), "Banana", H)
    with pytest.raises(ValueError):
        confirm(v(("Banana", 0.7), ("Lime", 0.7)), "Banana", H)
    with pytest.raises(ValueError):
        confirm(VisionVerdict(0, top=(("Banana",),)), "Banana", H)


def test_policy_is_validated():
    with pytest.raises(ValueError):
        VisionPolicy(confirm_fine=1.5)
    with pytest.raises(ValueError):
        VisionPolicy(mismatch_max=0.8, confirm_coarse=0.7)


probs = st.lists(st.floats(0, 1), min_size=1, max_size=5).map(
    lambda xs: [x / max(1.0, sum(xs)) for x in xs]
)


@given(
    p=probs,
    labels=st.lists(st.sampled_from(sorted(H.coarse_of)), min_size=5, max_size=5, unique=True),
    expected=st.sampled_from(sorted(H.coarse_of)),
)
def test_confirm_properties(p, labels, expected):
    top = tuple(sorted(zip(labels, p, strict=False), key=lambda e: -e[1]))
    c = confirm(v(*top), expected, H)
    assert c.verdict in (CONFIRM, MISMATCH, UNSURE)
    assert 0.0 <= c.confidence <= 1.0 + 1e-9
    same = sum(q for lb, q in top if H.coarse(lb) == H.coarse(expected))
    if c.verdict == CONFIRM:
        assert same >= 0.5 - 1e-9
    if c.verdict == MISMATCH:
        assert same <= 0.1 + 1e-9
    # the verdict never depends on the event's time
    assert confirm(VisionVerdict(5, top=top), expected, H) == c


def test_suggest_ranks_plus_by_probability():
    products = [
        Product("Granny-Smith", "4017"),
        Product("Pink-Lady", "4130"),
        Product("Golden-Delicious", "4021"),
        Product("Banana", "4011"),
        Product("Arla-Standard-Milk", None),
        Product("Lemon", "4053"),
    ]
    got = suggest(v(("Pink-Lady", 0.6), ("Granny-Smith", 0.2), ("Banana", 0.1)), products, H)
    assert [s.plu for s in got] == ["4130", "4017", "4011"]
    assert got[0].label == "Pink-Lady" and got[0].score == 0.6
    # labels outside the top-k rank by their coarse class
    got = suggest(v(("Pink-Lady", 0.9)), products, H)
    assert [s.plu for s in got] == ["4130", "4017", "4021"]  # ties: by PLU
    assert got[1].score == 0.0 and got[1].coarse_score == 0.9


def test_suggest_skips_barcoded_unknown_and_duplicate_products():
    products = [
        Product("Arla-Standard-Milk", None),
        Product("Banana", "4011"),
        Product("Banana", "4011"),
        Product("Dragonfruit", "3040"),
        Product("", "4000"),
    ]
    got = suggest(v(("Arla-Standard-Milk", 0.7), ("Banana", 0.2)), products, H)
    assert [s.plu for s in got] == ["4011"]
    assert suggest(v(), products, H) == []
    with pytest.raises(ValueError):
        suggest(v(), products, H, k=0)


def test_real_photos_end_to_end(classifier, hierarchy, grocery):
    """A photo of a banana confirms a scanned banana and contradicts a scanned milk carton."""
    top = classifier.classify_file(grocery / "val/Fruit/Banana/Banana_003.jpg", k=5)
    verdict = verdict_from_probabilities(1234, top)
    assert verdict.top[0][0] == "Banana" and len(verdict.top) == 5
    assert confirm(verdict, "Banana", hierarchy).verdict == CONFIRM
    assert confirm(verdict, "Arla-Standard-Milk", hierarchy).verdict == MISMATCH
    shelf = [
        Product(lb, str(4000 + i))
        for i, lb in enumerate(hierarchy.coarse_of)
        if hierarchy.coarse(lb) in ("Banana", "Apple", "Pear", "Lemon")
    ]
    assert suggest(verdict, shelf, hierarchy)[0].label == "Banana"


def test_profile_section_is_read_and_validated():
    import tomllib
    from pathlib import Path

    from cart.fusion.vision import ClassifierSettings

    root = Path(__file__).resolve().parents[2]
    profile = tomllib.loads((root / "hardware/profiles/cart-v1.toml").read_text())
    s = ClassifierSettings.from_profile(profile["classifier"], root)
    assert s.model == root / "models/grocery_lite0_int8.tflite" and s.model.is_file()
    assert s.labels.is_file() and s.threads == 1 and s.top_k == 5
    assert s.policy == VisionPolicy(0.5, 0.7, 0.1, 0.5)
    for bad in (
        {"threads": 0},
        {"threads": True},
        {"modle": "x"},
        {"model": ""},
        {"confirm_fine": 2},
        {"top_k": 100},
    ):
        with pytest.raises(ValueError):
            ClassifierSettings.from_profile(bad, root)


def test_demo_catalogue_labels_are_classes_the_model_knows(hierarchy):
    from cart.store.loading import load_store

    catalog = load_store().catalog
    assert catalog.labels, "the demo store should label its produce"
    assert catalog.labels <= set(hierarchy.coarse_of)


def test_suggest_from_the_real_catalogue(classifier, hierarchy, grocery):
    from cart.store.loading import load_store

    catalog = load_store().catalog
    top = classifier.classify_file(grocery / "val/Fruit/Banana/Banana_003.jpg", k=5)
    got = suggest(verdict_from_probabilities(0, top), catalog, hierarchy)
    assert 1 <= len(got) <= 3
    assert got[0].label == "Banana"
    assert got[0].plu in {p.plu for p in catalog.by_label("Banana")}
    # the catalogue path and the plain-iterable path agree
    assert got == suggest(verdict_from_probabilities(0, top), catalog.products, hierarchy)[:3]
