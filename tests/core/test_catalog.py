"""Store config and catalogue: loading, validation, look-ups, and the demo store."""

from __future__ import annotations

import csv
import tomllib

import pytest
from biip.gtin import Gtin
from hypothesis import given
from hypothesis import strategies as st

from cart.store.loading import CatalogError, load_store
from tests.core.conftest import CATALOG_TOML, STAFF_PIN


def problems_of(path) -> list:
    with pytest.raises(CatalogError) as info:
        load_store(path)
    return info.value.problems


# -- the demo store ---------------------------------------------------------------------------


def test_demo_store_covers_every_class_of_the_dataset(store, shared_data):
    with open(shared_data / "grocery-store" / "classes.csv", newline="") as f:
        classes = {row["Class Name (str)"] for row in csv.DictReader(f)}
    assert len(classes) == 81
    assert store.catalog.labels == classes
    for label in classes:
        assert store.catalog.by_label(label), label


def test_demo_store_products_are_complete_and_realistic(store):
    cat = store.catalog
    produce = [p for p in cat.products if p.plu]
    assert sum(p.by_weight for p in produce) >= 30
    for p in produce:
        assert p.plu.isdigit() and len(p.plu) in (4, 5)
        assert len(p.plu) != 5 or p.organic
    for p in cat.products:
        assert p.price > 0, p.id
        if not p.by_weight:
            assert 0 <= p.weight_tolerance_g < p.unit_weight_g, p.id
        for g in p.gtins:
            Gtin.parse(g)  # raises on a bad check digit
    # well-known IFPS codes
    assert cat.by_plu("4011").label == "Banana"
    assert cat.by_plu("4017").label == "Granny-Smith"
    assert cat.by_plu("94011").organic
    # non-food, an age restriction, promotions of each kind, coupons
    assert any(not p.label for p in cat.products)
    assert any(p.age_min >= 18 for p in cat.products)
    kinds = {pr.kind for pr in cat.promotions.values()}
    assert {"multibuy", "x_for_y", "bogo", "loyalty_price", "per_kg_discount"} <= kinds
    assert any(pr.loyalty_only for pr in cat.promotions.values())
    assert {c.kind for c in cat.coupons.values()} == {"amount_off", "product_amount_off"}
    assert store.config.currency == "SEK" and store.config.tax_inclusive


def test_lookups(store):
    cat = store.catalog
    milk = cat["arla-standard-milk"]
    g13 = milk.gtins[0][1:]
    assert cat.by_gtin(g13) is milk
    assert cat.by_gtin("0" + g13) is milk
    assert cat.by_gtin("not-a-gtin") is None
    assert cat.by_plu("0000") is None
    assert {p.id for p in cat.by_label("Banana")} == {"banana", "banana-organic"}
    assert cat.by_label("Unicorn") == ()
    assert cat.get("nope") is None
    assert cat.search("banan")[0].id.startswith("banana")
    assert cat.search("  ") == ()


def test_staff_pin(store, make_store):
    # the demo store: staff.toml's shared PIN; its store.toml (journaled) holds no staff hash
    assert store.verify_staff_pin("2468") and store.verify_staff_pin("2468", "anyone")
    assert not store.verify_staff_pin("2469")
    assert not store.config.staff_pin_hash and b"argon2" not in store.sources[0]
    s = load_store(make_store())  # a legacy store.toml staff_pin_hash still works
    assert s.verify_staff_pin(STAFF_PIN)
    assert s.config.verify_staff_pin(STAFF_PIN)
    assert not s.config.verify_staff_pin("")


def test_format_money(store):
    fmt = store.config.format_money
    assert fmt(0) == "0.00 SEK"
    assert fmt(5) == "0.05 SEK"
    assert fmt(123456) == "1234.56 SEK"
    assert fmt(-250) == "-2.50 SEK"


# -- validation -------------------------------------------------------------------------------


BAD_CATALOG = """
[[product]]
id = "milk"
name = "Milk"
gtins = ["7310000100016"]
sold_by = "each"
price_each = -5
unit_weight_g = 1000
tax_class = "food"
colour = "white"

[[product]]
id = "milk"
name = "Milk again"
gtins = ["7310000100024"]
sold_by = "each"
unit_weight_g = 1000
tax_class = "luxury"
promotions = ["nope"]

[[product]]
id = "cheese"
name = "Cheese"
gtins = ["7310000100024"]
sold_by = "each"
price_each = 100
unit_weight_g = 300
tax_class = "food"

[[product]]
id = "apple"
name = "Apple"
plu = "4017"
sold_by = "weight"
price_per_kg = 2995
tax_class = "food"

[[product]]
id = "apple2"
name = "Apple 2"
plu = "4017"
sold_by = "weight"
price_per_kg = "cheap"
tax_class = "food"
"""


def test_every_problem_is_reported_with_file_entry_and_field(make_store):
    probs = problems_of(make_store(BAD_CATALOG))
    text = [str(p) for p in probs]
    where = {(p.entry.split(" ")[0], p.field) for p in probs}
    assert all(p.file == "catalog.toml" for p in probs), text
    assert ("product[0]", "colour") in where  # unknown key
    assert ("product[0]", "gtins") in where  # bad check digit
    assert ("product[0]", "price_each") in where  # negative
    assert ("product[1]", "price_each") in where  # missing
    assert ("product[1]", "tax_class") in where  # unknown tax class
    assert ("product[1]", "promotions") in where  # unknown promotion
    assert ("product[2]", "gtins") in where  # duplicate GTIN (with product[1])
    assert ("product[4]", "price_per_kg") in where  # wrong type
    joined = "\n".join(text)
    assert "check digit" in joined and "unknown key" in joined and ">= 0" in joined
    assert "'milk'" in joined  # the entry is named by its id


def test_duplicate_ids_and_plus(make_store):
    cat = CATALOG_TOML + CATALOG_TOML.replace('"7310000100017"', '"7310000100024"')
    probs = problems_of(make_store(cat))
    msgs = " | ".join(str(p) for p in probs)
    assert "duplicate product id" in msgs
    assert "PLU 4011 is also on product 'banana'" in msgs


def test_bad_toml_and_missing_files(make_store, tmp_path):
    probs = problems_of(make_store("[[product]\nid = 1"))
    assert probs[0].file == "catalog.toml" and "not valid TOML" in probs[0].message
    empty = tmp_path / "empty"
    empty.mkdir()
    probs = problems_of(empty)
    assert {p.file for p in probs} == {"store.toml", "catalog.toml"}
    assert all("cannot read" in p.message for p in probs)


def test_bad_store_config(make_store):
    probs = problems_of(
        make_store(currency="kr", tax_mode="sometimes", timezone="Mars/Base", rcn="xx")
    )
    fields = {p.field for p in probs if p.file == "store.toml"}
    assert {"currency", "tax_mode", "timezone", "country"} <= fields


def test_bad_rcn_layout_and_pin_hash(make_store, tmp_path):
    folder = make_store()
    text = (folder / "store.toml").read_text()
    text = text.replace(
        'country = "se"',
        """country = "se"
[[rcn.layout]]
prefix = "23"
measure = "volume"
pattern = "PPPPPPPPVVV"
decimals = 7
""",
    ).replace("pbkdf2_sha256$200000$", "md5$")
    (folder / "store.toml").write_text(text)
    probs = problems_of(folder)
    got = {(p.entry, p.field) for p in probs}
    assert ("rcn.layout[0]", "measure") in got
    assert ("rcn.layout[0]", "pattern") in got
    assert ("rcn.layout[0]", "decimals") in got
    assert ("store", "staff_pin_hash") in got


def test_nothing_is_half_loaded(make_store):
    # one bad coupon at the very end still means no store at all
    cat = (
        CATALOG_TOML
        + """
[[coupon]]
code = "7310000100017"
name = "Not a coupon prefix"
kind = "amount_off"
amount = 100
"""
    )
    probs = problems_of(make_store(cat))
    assert any(p.entry.startswith("coupon[0]") and "99" in p.message for p in probs)


def test_custom_layouts_and_exclusive_tax_store(make_store):
    s = load_store(
        make_store(
            country="US",
            currency="USD",
            tax_mode="exclusive",
            timezone="America/New_York",
            rcn="us",
        )
    )
    assert not s.config.tax_inclusive
    assert s.config.rcn_layouts[0].prefix == "02"


def test_hardware_profile_store_section(tmp_path):
    from pathlib import Path

    from cart.store.loading import store_profile

    root = Path(__file__).resolve().parents[2]
    doc = tomllib.loads((root / "hardware/profiles/cart-v1.toml").read_text())
    prof = store_profile(doc["store"], "cart-v1.toml", base=root)
    assert load_store(prof.path).config.currency == "SEK"
    assert prof.journal_synchronous == "FULL"
    with pytest.raises(CatalogError) as info:
        store_profile({"path": "x", "journal_synchronous": "OFF", "colour": 1}, "p.toml")
    fields = {p.field for p in info.value.problems}
    assert fields == {"journal", "journal_synchronous", "colour"}


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.text(max_size=20),
    st.lists(st.text(max_size=14), max_size=3),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    from tests.core.conftest import write_store

    return write_store(tmp_path_factory.mktemp("fuzz"))


@given(
    key=st.sampled_from(
        [
            "id",
            "name",
            "gtins",
            "plu",
            "sold_by",
            "price_each",
            "price_per_kg",
            "unit_weight_g",
            "weight_tolerance_g",
            "tare_g",
            "label",
            "tax_class",
            "age_min",
            "promotions",
            "extra",
        ]
    ),
    value=_VALUES,
    which=st.integers(0, 1),
)
def test_any_bad_field_gives_catalog_errors_only(fuzz_dir, key, value, which):
    import tomli_w

    doc = tomllib.loads(CATALOG_TOML)
    if value is None:
        doc["product"][which].pop(key, None)
    else:
        doc["product"][which][key] = value
    (fuzz_dir / "catalog.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    try:
        store = load_store(fuzz_dir)
    except CatalogError as exc:
        assert exc.problems and all(p.file == "catalog.toml" for p in exc.problems)
        assert all(p.message for p in exc.problems)
    else:
        assert len(store.catalog) == 2


@given(
    key=st.sampled_from(
        [
            "id",
            "name",
            "country",
            "currency",
            "minor_digits",
            "tax_mode",
            "timezone",
            "staff_pin_hash",
            "loyalty_program",
            "extra",
        ]
    ),
    value=st.one_of(
        _VALUES,
        st.sampled_from(
            ["../../etc/passwd", "/abs", "UTC", "a\x00b", "Europe/../Europe/Oslo", "posix/UTC"]
        ),
    ),
)
def test_any_bad_store_field_gives_catalog_errors_only(fuzz_dir, key, value):
    import tomli_w

    from tests.core.conftest import STORE_TOML

    doc = tomllib.loads(
        STORE_TOML.format(
            country="SE",
            currency="SEK",
            tax_mode="inclusive",
            timezone="Europe/Stockholm",
            food_bp=1200,
            std_bp=2500,
            rcn="se",
        )
    )
    if value is None:
        doc["store"].pop(key, None)
    else:
        doc["store"][key] = value
    (fuzz_dir / "catalog.toml").write_text(CATALOG_TOML, encoding="utf-8")
    (fuzz_dir / "store.toml").write_text(tomli_w.dumps(doc), encoding="utf-8")
    try:
        load_store(fuzz_dir)
    except CatalogError as exc:
        assert exc.problems and all(p.message for p in exc.problems)


def test_variable_measure_flag(make_store):
    s = load_store(make_store())
    assert s.catalog["banana"].variable_measure  # sold by weight: always variable measure
    assert not s.catalog["milk"].variable_measure  # sold each: not unless the catalogue says so
    deli = CATALOG_TOML.replace(
        'label = "Arla-Standard-Milk"', 'label = "Arla-Standard-Milk"\nvariable_measure = true'
    )
    assert load_store(make_store(deli)).catalog["milk"].variable_measure
    bad = CATALOG_TOML.replace('label = "Banana"', 'label = "Banana"\nvariable_measure = false')
    probs = problems_of(make_store(bad))
    assert [(p.field, "always variable measure" in p.message) for p in probs] == [
        ("variable_measure", True)
    ]
    probs = problems_of(
        make_store(
            CATALOG_TOML.replace('label = "Banana"', 'label = "Banana"\nvariable_measure = "yes"')
        )
    )
    assert probs[0].field == "variable_measure"


def test_expired_policy(make_store):
    assert load_store(make_store()).config.expired_policy == "block"  # the default
    folder = make_store()
    text = (folder / "store.toml").read_text()
    (folder / "store.toml").write_text(text.replace("[tax.food]", 'expired = "warn"\n\n[tax.food]'))
    assert load_store(folder).config.expired_policy == "warn"
    (folder / "store.toml").write_text(text.replace("[tax.food]", 'expired = "sell"\n\n[tax.food]'))
    probs = problems_of(folder)
    assert [(p.entry, p.field) for p in probs] == [("store", "expired")]
    assert "block, warn" in probs[0].message


def test_store_language(make_store):
    assert load_store(make_store()).config.language == "en"  # the default
    folder = make_store()
    text = (folder / "store.toml").read_text()
    (folder / "store.toml").write_text(text.replace("[tax.food]", 'language = "sv"\n\n[tax.food]'))
    assert load_store(folder).config.language == "sv"
    (folder / "store.toml").write_text(text.replace("[tax.food]", 'language = "de"\n\n[tax.food]'))
    probs = problems_of(folder)
    assert [(p.entry, p.field) for p in probs] == [("store", "language")]
    assert "en, sv" in probs[0].message


def test_product_names_per_language(make_store):
    from cart.common import i18n

    store = load_store(
        make_store(CATALOG_TOML.replace('label = "Banana"', 'label = "Banana"\nname_sv = "Banan"'))
    )
    banana = next(p for p in store.catalog.products if p.label == "Banana")
    assert banana.name == "Banana"  # the one name, wherever it is kept
    assert dict(banana.names) == {"sv": "Banan"}
    assert i18n.local_name(banana.name) == str(banana.name)
    with i18n.language("sv"):
        assert i18n.local_name(banana.name) == "Banan"
    assert banana in store.catalog.search("banan") and banana in store.catalog.search("BANAN")
    others = [p for p in store.catalog.products if p is not banana]
    assert all(not p.names and type(p.name) is str for p in others)  # falls back to the one name
    probs = problems_of(
        make_store(CATALOG_TOML.replace('label = "Banana"', 'label = "Banana"\nname_de = "x"'))
    )
    assert [p.field for p in probs] == ["name_de"]


def test_promotion_and_coupon_names_per_language(make_store):
    from cart.common import i18n

    extra = """
[[promotion]]
id = "member"
kind = "loyalty_price"
name = "Member price"
name_sv = "Medlemspris"
price = 100

[[coupon]]
code = "9900000200022"
name = "20.00 off"
name_sv = "20 kr rabatt"
kind = "amount_off"
amount = 2000
"""
    store = load_store(make_store(CATALOG_TOML + extra))
    promo, coupon = store.catalog.promotions["member"], store.catalog.coupon("9900000200022")
    assert promo.name == "Member price" and coupon.name == "20.00 off"  # the one name, kept
    with i18n.language("sv"):
        assert i18n.local_name(promo.name) == "Medlemspris"
        assert i18n.local_name(coupon.name) == "20 kr rabatt"
    assert i18n.local_name(coupon.name) == "20.00 off"
    probs = problems_of(make_store(CATALOG_TOML + extra.replace("name_sv", "name_de")))
    assert sorted(p.field for p in probs) == ["name_de", "name_de"]
