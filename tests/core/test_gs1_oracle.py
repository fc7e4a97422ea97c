"""Our interpretation against vectors from implementations nobody here wrote: the GS1 Barcode
Syntax Engine's and biip's own unit tests (tests/core/gs1_oracle_vectors.toml names the file,
commit and line of each)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cart.store.barcodes import interpret
from tests.core.conftest import T0

VECTORS = tomllib.loads(
    (Path(__file__).with_name("gs1_oracle_vectors.toml")).read_text(encoding="utf-8")
)["vector"]


def test_the_vectors_are_cited_and_cover_both_oracles():
    assert len(VECTORS) >= 60
    for v in VECTORS:
        assert v["oracle"] in ("valid", "invalid") and v["expect"] in ("accept", "reject")
        assert "@" in v["source"] and ":" in v["source"].rsplit(" ", 1)[1], v
        assert not (v["oracle"] == "invalid" and v["expect"] == "accept"), v
    sources = {v["source"].split("@")[0] for v in VECTORS}
    assert sources == {"gs1/gs1-syntax-engine", "jodal/biip"}
    assert {v["oracle"] for v in VECTORS} == {"valid", "invalid"}


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["code"][:60])
def test_we_agree_with_the_oracle(vector, store):
    it = interpret(vector["code"], config=store.config, t_ms=T0)
    if vector["expect"] == "accept":
        assert it.ok, (vector, it.reason)
        assert it.gtin and len(it.gtin) == 14
    else:
        assert not it.ok and it.reason, vector
        assert it.price is None and it.weight_g is None and not it.gtin


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v["code"].startswith("(")], ids=lambda v: v["code"][:60]
)
def test_element_strings_agree_in_every_form(vector, store):
    """The bracketed form and the same data in a GS1-128 (FNC1 as GS) say the same."""
    from biip import ParseError
    from biip.gs1_messages import GS1Message

    try:
        elements = GS1Message.parse_hri(vector["code"]).element_strings
    except (ParseError, ValueError):
        return  # no other form of a string biip cannot read at all
    fnc1 = "\x1d".join(es.ai.ai + es.value for es in elements)
    hri = interpret(vector["code"], config=store.config, t_ms=T0)
    raw = interpret("]C1" + fnc1, config=store.config, t_ms=T0)
    if "empty value" in hri.reason or "given twice" in hri.reason and "(400)" in vector["code"]:
        return  # biip's FNC1 form has already dropped the empty value / the repeat
    assert raw.ok == hri.ok, (vector, hri.reason, raw.reason)
