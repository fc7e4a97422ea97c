"""Barcode interpretation: every supported form, rejections with reasons, and properties."""

from __future__ import annotations

import subprocess
import sys

import pytest
from biip.checksums import gs1_price_weight_check_digit, gs1_standard_check_digit
from hypothesis import given
from hypothesis import strategies as st

from cart.store.barcodes import interpret, lookup, match, printable
from cart.store.loading import load_store
from tests.core.conftest import T0

MILK = "7310000100147"  # arla-standard-milk in the demo store


def with_check(payload: str) -> str:
    return payload + str(gs1_standard_check_digit(payload))


def test_ean13_with_and_without_aim(store):
    for code, sym in ((MILK, ""), ("]E0" + MILK, ""), (MILK, "]E0")):
        m = lookup(store, code, sym)
        assert m.ok and m.product.id == "arla-standard-milk", (code, m.reason)
    assert lookup(store, "]E0" + MILK).interpretation.symbology == "]E0"


def test_wrong_check_digit_is_rejected_with_the_reason_and_never_matched(store):
    bad = MILK[:-1] + str((int(MILK[-1]) + 1) % 10)
    for code in (bad, "]E0" + bad, "0" + bad, bad[1:]):
        m = lookup(store, code)
        assert not m.ok and m.product is None
        assert "check digit" in m.reason.lower(), m.reason


def test_ean8_upca_upce_gtin14(store):
    assert lookup(store, "96385074").product.id == "oat-biscuits"  # EAN-8
    assert lookup(store, "]E496385074").product.id == "oat-biscuits"
    assert lookup(store, "042100005264").product.id == "energy-drink"  # UPC-A
    assert lookup(store, "04252614").product.id == "energy-drink"  # UPC-E, expanded
    assert lookup(store, "]E004252614").product.id == "energy-drink"
    assert lookup(store, "0" + MILK).product.id == "arla-standard-milk"  # GTIN-14
    assert lookup(store, "]I10" + MILK).product.id == "arla-standard-milk"  # ITF-14
    # an ]E4 (EAN-8) reading of a UPC-E code is not accepted
    assert not lookup(store, "]E404252614").ok


def test_plu_codes(store):
    m = lookup(store, "4011")
    assert m.ok and m.product.id == "banana" and m.interpretation.kind == "plu"
    m = lookup(store, "94011")
    assert m.ok and m.product.id == "banana-organic" and m.interpretation.organic
    m = lookup(store, "94017")  # organic Granny Smith: not sold here, never the conventional
    assert not m.ok and "organic PLU 94017" in m.reason
    assert "must start with 9" in lookup(store, "84011").reason
    assert "3000-4999" in lookup(store, "1234").reason


def test_swedish_weight_and_price_labels(store):
    cheese = with_check("231001" + "000450")  # 23: weight in grams (3 decimals of a kg)
    m = lookup(store, cheese)
    assert m.ok and m.product.id == "prast-cheese"
    assert m.interpretation.kind == "rcn" and m.interpretation.weight_g == 450
    buns = with_check("200101" + "004590")  # 20: price with 2 decimals
    m = lookup(store, buns)
    assert m.ok and m.product.id == "cinnamon-buns" and m.interpretation.price == 4590
    # 24: weight with 2 decimals of a kg (10 g steps); 22: whole kronor
    assert interpret(with_check("24100100" + "0123"), config=store.config).weight_g == 1230
    assert interpret(with_check("22100100" + "0035"), config=store.config).price == 3500
    # a weight label on a product sold each is not sellable
    m = lookup(store, with_check("230101" + "000450"))
    assert not m.ok


def test_british_price_label_with_price_check_digit(make_store):
    gb = load_store(make_store(country="GB", currency="GBP", timezone="Europe/London", rcn="gb"))
    price = "0399"
    code = with_check("2012345" + str(gs1_price_weight_check_digit(price)) + price)
    it = interpret(code, config=gb.config)
    assert it.ok and it.kind == "rcn" and it.price == 399
    wrong_c = (gs1_price_weight_check_digit(price) + 1) % 10
    bad = with_check("2012345" + str(wrong_c) + price)
    it = interpret(bad, config=gb.config)
    assert not it.ok and "price check digit" in it.reason
    # the same layout lookup key for any price
    other = with_check("2012345" + str(gs1_price_weight_check_digit("1250")) + "1250")
    assert interpret(other, config=gb.config).gtin == interpret(code, config=gb.config).gtin


def test_us_upc_number_system_2(make_store):
    us = load_store(make_store(country="US", currency="USD", timezone="America/New_York", rcn="us"))
    price = "1234"
    upc = with_check("212345" + str(gs1_price_weight_check_digit(price)) + price)
    assert len(upc) == 12
    it = interpret(upc, "]E0", config=us.config)
    assert it.ok and it.kind == "rcn" and it.price == 1234


def test_gs1_element_strings(store):
    cfg = store.config
    gtin14 = "0" + MILK
    fnc1 = "\x1d"
    it = interpret(f"]C101{gtin14}3103000450{fnc1}17251231", config=cfg, t_ms=T0)
    assert it.ok and it.kind == "gs1" and it.gtin == gtin14 and it.weight_g == 450
    assert it.expired and it.expiry == "2025-12-31" and "expired" in it.warnings[0]
    # DataBar, price 19.95 alone: GS1 allows a price only with the measure it prices
    it = interpret(f"]e001{gtin14}3922001995", config=cfg, t_ms=T0)
    assert not it.ok and "without the trade measure" in it.reason
    it = interpret(f"]e001{gtin14}3103000450{fnc1}3922001995", config=cfg, t_ms=T0)
    assert it.ok and it.price == 1995 and it.weight_g == 450
    # ... and the carton of milk has a fixed price: a price in its code is never billed
    m = lookup(store, f"]e001{gtin14}3103000450{fnc1}3922001995", t_ms=T0)
    assert not m.ok and "not variable measure" in m.reason
    cheese = lookup(store, "]e00102310010000005310300045039220006255", t_ms=T0)
    assert cheese.ok and cheese.product.id == "prast-cheese" and cheese.interpretation.price == 6255
    it = interpret(f"01{gtin14}17270101", config=cfg, t_ms=T0)  # not yet expired
    assert it.ok and not it.expired and not it.warnings
    it = interpret(f"(01){gtin14}(3102)000123", config=cfg)  # human-readable form
    assert it.ok and it.weight_g == 1230
    bad = "0" + MILK[:-1] + str((int(MILK[-1]) + 1) % 10)
    assert "check digit" in interpret(f"]C101{bad}", config=cfg).reason.lower()
    assert "without a GTIN" in interpret("]C11725123110ABC", config=cfg).reason
    assert lookup(store, f"]C101{gtin14}").product.id == "arla-standard-milk"


def test_expiry_uses_the_store_time_zone(store):
    code = f"]C101{'0' + MILK}17251231"
    stockholm_midnight = 1_767_222_000_000  # 2026-01-01T00:00 in Stockholm = 23:00 UTC
    assert interpret(code, config=store.config, t_ms=stockholm_midnight).expired
    assert not interpret(code, config=store.config, t_ms=stockholm_midnight - 1).expired


def test_gs1_digital_link(store):
    uri = f"https://id.gs1.org/01/0{MILK}/10/LOT7?17=251231"
    m = lookup(store, uri, "]Q1", T0)
    assert m.ok and m.product.id == "arla-standard-milk"
    assert m.interpretation.kind == "digital_link" and m.interpretation.expired
    assert not interpret("https://example.com/hello").ok


def test_coupons_are_recognised(store):
    m = lookup(store, "9900000200022")
    assert m.ok and m.coupon is not None and m.product is None


def test_junk_and_hostile_input(store):
    for code, why in (
        ("", "empty"),
        ("   ", "empty"),
        ("]", "symbology"),
        ("]Z", "symbology"),
        ("hello", "not a product code"),
        ("12345678901", "11 digits"),
        ("\x1b[2J" + MILK, "control character"),
        ("7" * 600, "too long"),
        ("]E4", "empty"),
    ):
        it = interpret(code, config=store.config)
        assert not it.ok and why in it.reason, (code, it.reason)
    assert not lookup(store, "7310000999994").ok  # valid but unknown
    assert "unknown product" in lookup(store, "7310000999994").reason
    assert printable("a\x1b[31mb\x00") == "a\\x1b[31mb\\x00"


def test_match_of_a_rejection_keeps_the_reason(store):
    it = interpret("123")
    assert match(store, it).reason == it.reason


@given(st.text(max_size=80), st.text(max_size=6))
def test_interpret_never_raises(text, sym):
    it = interpret(text, sym)
    assert it.ok or it.reason


@given(st.binary(max_size=60))
def test_interpret_never_raises_on_decoded_bytes(data):
    it = interpret(data.decode("latin-1"), "]E0")
    assert isinstance(it.reason, str)


@given(st.sampled_from([7, 11, 12, 13]), st.data())
def test_gtin_check_digit_round_trip(length, data):
    payload = data.draw(st.text("0123456789", min_size=length, max_size=length))
    if length == 11 and payload[0] not in "01":
        payload = "0" + payload[1:]
    code = with_check(payload)
    it = interpret(code)
    assert (
        it.ok
        and it.gtin == code.zfill(14)
        or (length == 7 and code.zfill(14) in (it.gtin, *it.alt_gtins))
    ), (code, it)
    wrong = code[:-1] + str((int(code[-1]) + data.draw(st.integers(1, 9))) % 10)
    bad = interpret(wrong)
    if length == 7:  # an 8-digit code may still be a valid UPC-E; never the same GTIN-8
        assert code.zfill(14) not in (bad.gtin, *bad.alt_gtins)
    else:
        assert not bad.ok and "check digit" in bad.reason.lower()


def test_cli_barcode_bad_check_digit_exits_non_zero():
    bad = MILK[:-1] + "9"
    out = subprocess.run(
        [sys.executable, "-m", "cart", "barcode", bad],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "check digit" in out.stderr.lower() and "expected" in out.stderr.lower()


def test_cli_barcode_prints_product_price_and_weight():
    cheese = with_check("231001000450")
    out = subprocess.run(
        [sys.executable, "-m", "cart", "barcode", cheese],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "prast-cheese" in out.stdout and "450 g" in out.stdout and "62.55 SEK" in out.stdout


def test_scan_to_basket_event(store):
    from cart.basket.fold import AddLine, ApplyCoupon, scan_event

    ev = scan_event(lookup(store, with_check("231001000450")), T0, "L1")
    assert ev == AddLine(
        T0, line="L1", product="prast-cheese", grams=450, code=with_check("231001000450")
    )
    ev = scan_event(lookup(store, with_check("200101004590")), T0, "L2")
    assert ev.price == 4590 and ev.grams is None and ev.qty == 1
    assert isinstance(scan_event(lookup(store, "9900000200022"), T0, "x"), ApplyCoupon)
    banana = lookup(store, "4011")
    assert banana.needs_weighing
    with pytest.raises(ValueError, match="weigh"):
        scan_event(banana, T0, "L3")
    with pytest.raises(ValueError, match="check digit"):
        scan_event(lookup(store, MILK[:-1] + "0"), T0, "L4")


def test_ean_with_add_on(store):
    it = interpret("]E3" + MILK + "12", config=store.config)
    assert it.ok and it.gtin == "0" + MILK and "add-on 12 ignored" in it.warnings
    assert interpret("]E396385074" + "12345", config=store.config).gtin == "00000096385074"
    assert not interpret("]E212345").ok
    assert not interpret("]E3" + MILK[:-1] + "0" + "12").ok  # the main code is still checked
