"""Each class of code GS1 does not let mean a price, through the real scanner parser
(``drivers.scanner.ScanDecoder`` fed the bytes a serial scanner sends) into
``cart.store.barcodes.lookup``, and through ``cart barcode`` as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cart.sim.scanner import ScannerSim
from cart.store.barcodes import interpret, lookup
from cart.store.loading import DEMO_STORE, load_store
from drivers.scanner import ScanDecoder, ScannerConfig

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
GS = "\x1d"
MILK14 = "07310000100147"  # Arla milk, sold each at 18.95
CHEESE14 = "02310010000005"  # deli cheese, in-store number, sold by weight

STORE = load_store(DEMO_STORE)

# (AIM identifier, code as scanned, expected: product id or a piece of the refusal reason)
CASES = [
    # a price only for variable measure items, and only with the measure it prices
    ("]C1", f"01{MILK14}392200001", "without the trade measure"),
    ("]Q1", f"https://id.gs1.org/01/{MILK14}?3922=0001", "without the trade measure"),
    ("]e0", f"01{MILK14}3103001000{GS}392200001", "not variable measure"),
    ("]Q1", f"https://id.gs1.org/01/{MILK14}?3103=001000&3922=0001", "not variable measure"),
    ("]e0", f"01{MILK14}3103001000", "not variable measure"),
    ("]e0", f"01{CHEESE14}3103000450{GS}39220006255", "prast-cheese"),
    ("]Q1", f"https://id.gs1.org/01/{CHEESE14}?3103=000450&3922=6255", "prast-cheese"),
    # contradictions
    ("]C1", f"01{MILK14}10A{GS}10B", "twice with different values"),
    ("]C1", f"01{MILK14}0107310000100154", "twice with different values"),
    ("]C1", f"01{MILK14}02{MILK14}3701", "two product identities"),
    ("]e0", f"01{CHEESE14}31030004503102000460", "two net weights"),
    ("]Q1", f"https://id.gs1.org/01/{MILK14}?17=270101&17=280101", "given twice"),
    ("]Q1", f"https://id.gs1.org/01/{MILK14}/10/A?01={MILK14}", "given twice"),
    ("]Q1", f"https://id.gs1.org/01/{MILK14}?999=1", "unknown AI"),
    ("]Q1", f"https://id.gs1.org/01/{MILK14}?99=", "empty value"),
    ("]C1", f"01{MILK14}89X", "not a GS1 element string"),
    ("]Q1", "https://id.gs1.org/01/7310000100147", "14 digits"),
    ("]Q1", f"HtTpS://id.gs1.org/01/{MILK14}", "scheme"),
    # 13 digits in a symbology that carries no GTIN
    ("]Q1", "7310000100147", "not a product code"),
    ("]C0", "7310000100147", "not a product code"),
    ("]A0", "7310000100147", "not a product code"),
    ("]d1", f"01{MILK14}", "not a product code"),
    # honest codes stay honest
    ("]E0", "7310000100147", "arla-standard-milk"),
    ("]C1", f"01{MILK14}10LOT7{GS}17270101", "arla-standard-milk"),
    ("]Q1", f"https://id.gs1.org/01/{MILK14}/10/LOT7", "arla-standard-milk"),
    ("]E0", "2310010004508", "prast-cheese"),  # Swedish weight label, 450 g
]


def _scan(aim: str, code: str, *, send_aim: bool = True):
    sim = ScannerSim("strict")
    try:
        scans = ScanDecoder(ScannerConfig(name="strict")).feed(
            sim.frame(code, aim if send_aim else ""), T0
        )
    finally:
        sim.close()
    assert len(scans) == 1, scans
    return scans[0]


def _check(m, want: str) -> None:
    if "-" in want and " " not in want:  # a product id
        assert m.ok and m.product is not None and m.product.id == want, m.reason
    else:
        assert not m.ok and want in m.reason, m.reason
        assert m.coupon is None and not (m.product is not None and m.ok)


@pytest.mark.parametrize("aim,code,want", CASES, ids=[c[1][:50] for c in CASES])
def test_through_the_scanner_parser(aim, code, want):
    scan = _scan(aim, code)
    assert scan.symbology == aim and scan.code == code
    _check(lookup(STORE, scan.code, scan.symbology, T0), want)


def test_element_strings_without_an_aim_identifier_are_read():
    for code, want in (
        (f"01{MILK14}10LOT7", "arla-standard-milk"),
        (f"01{MILK14}10LOT7{GS}17270101", "arla-standard-milk"),
        (f"01{CHEESE14}3103000450", "prast-cheese"),
        (f"01{MILK14}392200001", "without the trade measure"),
    ):
        scan = _scan("", code, send_aim=False)
        assert scan.symbology == ""
        _check(lookup(STORE, scan.code, scan.symbology, T0), want)


def test_expired_items_need_staff_through_the_scanner(make_store_dir):
    scan = _scan("]C1", f"01{MILK14}17251231")
    m = lookup(STORE, scan.code, scan.symbology, T0)
    assert m.ok and m.interpretation.expired
    assert m.needs_staff == "expired on 2025-12-31: staff must approve the sale"
    warn = load_store(make_store_dir('expired = "warn"'))
    m = lookup(warn, scan.code, scan.symbology, T0)
    assert m.ok and m.interpretation.expired and m.needs_staff == ""
    assert any("expired" in w for w in m.interpretation.warnings)
    m = lookup(STORE, f"01{MILK14}17270101", "]C1", T0)  # not yet expired
    assert m.ok and not m.needs_staff


def test_invisible_characters_never_reach_a_product():
    for ch in ("\u200b", "\u2060", "\ufeff", "\u2028"):
        it = interpret(f"731000{ch}0100147", "]E0", config=STORE.config)
        assert not it.ok and "character" in it.reason and ch not in it.reason


@pytest.fixture
def make_store_dir(tmp_path):
    def make(extra: str):
        folder = tmp_path / "store"
        folder.mkdir(exist_ok=True)
        text = (DEMO_STORE / "store.toml").read_text(encoding="utf-8")
        (folder / "store.toml").write_text(
            text.replace("[tax.food]", extra + "\n\n[tax.food]"), encoding="utf-8"
        )
        (folder / "catalog.toml").write_bytes((DEMO_STORE / "catalog.toml").read_bytes())
        return folder

    return make


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cart", "barcode", *args, "--at-ms", str(T0)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


CLI_CASES = [c for c in CASES if c[0] != "]E0"][::3] + [CASES[-1]]


@pytest.mark.parametrize("aim,code,want", CLI_CASES, ids=[c[1][:50] for c in CLI_CASES])
def test_cart_barcode(aim, code, want):
    out = _cli(code, "--symbology", aim, "--json")
    got = json.loads(out.stdout)
    if "-" in want and " " not in want:
        assert out.returncode == 0 and got["ok"] and got["product"]["id"] == want, got
    else:
        assert out.returncode == 1 and not got["ok"] and want in got["reason"], got
        assert got["interpretation"]["price"] is None or got["product"] is not None


@pytest.mark.slow
def test_cart_barcode_text_output_for_the_issue_codes():
    for code in ("]C10107310000100147392200001", "https://id.gs1.org/01/07310000100147?3922=0001"):
        out = _cli(code)
        assert out.returncode == 1 and "trade measure" in out.stderr and "0.01" not in out.stdout
    out = _cli(f"]C101{MILK14}17251231")
    assert out.returncode == 0 and "staff:   expired on 2025-12-31" in out.stdout
    out = _cli("7310000100147\u202e", "--symbology", "]E0")
    assert out.returncode == 1 and "\u202e" not in out.stderr + out.stdout
    assert "\\u202e" in out.stderr


# Products that are not variable measure, and their GTINs: no code may give them a price.
FIXED = [
    (g, p)
    for p in STORE.catalog.products
    if not p.variable_measure
    for g in p.gtins
    if g[:2] != "02" and g[:3] != "002"
]
AIS = st.sampled_from(
    [
        "3922",
        "3921",
        "3103",
        "3102",
        "3932",
        "17",
        "10",
        "21",
        "30",
        "3925",
        "01",
        "02",
        "37",
        "99",
        "3100",
        "392",
    ]
)


@st.composite
def forged(draw):
    gtin, _ = draw(st.sampled_from(FIXED))
    parts = [("01", gtin)] + [
        (draw(AIS), draw(st.text("0123456789", min_size=1, max_size=8)))
        for _ in range(draw(st.integers(0, 4)))
    ]
    form = draw(st.sampled_from(["fnc1", "hri", "dl", "raw"]))
    if form == "hri":
        return "", "".join(f"({a}){v}" for a, v in parts)
    if form == "dl":
        q = "&".join(f"{a}={v}" for a, v in parts[1:])
        return draw(st.sampled_from(["]Q1", "]d1", ""])), f"https://id.gs1.org/01/{gtin}?{q}"
    text = GS.join(a + v for a, v in parts)
    if form == "raw":
        return "", text
    return draw(st.sampled_from(["]C1", "]e0", "]Q3", "]d2", "]C0", "]Q1"])), text


@settings(max_examples=400, deadline=None)
@given(forged(), st.integers(0, 2_000_000_000_000))
def test_no_code_prices_a_fixed_price_product(case, t_ms):
    aim, code = case
    it = interpret(code, aim, config=STORE.config, t_ms=t_ms)  # never raises
    assert it.ok or it.reason
    m = lookup(STORE, code, aim, t_ms)
    if m.ok and m.product is not None:
        assert not m.product.variable_measure
        assert m.interpretation.price is None and m.interpretation.weight_g is None, (code, m)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["", "]E0", "]C1", "]Q1", "]e0", "]C0", "]Z9"]))
def test_interpretation_never_raises_and_prices_only_variable_measure(text, aim):
    m = lookup(STORE, text, aim, T0)
    assert isinstance(m.reason, str)
    if m.ok and m.product is not None and m.interpretation.price is not None:
        p = m.product
        assert (
            p.variable_measure
            or m.interpretation.kind == "rcn"
            or m.interpretation.gtin[:2] == "02"
            or m.interpretation.gtin[:3] == "002"
        )
