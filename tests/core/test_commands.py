"""The core's commands: catalog check, barcode, receipt, demo --script, bench core."""

from __future__ import annotations

import json

from cart.cli import main
from cart.store.loading import DEMO_STORE
from tests.core.conftest import CATALOG_TOML


def test_catalog_check(capsys, make_store):
    assert main(["catalog", "check", str(DEMO_STORE)]) == 0
    assert "81 classifier labels" in capsys.readouterr().out
    bad = make_store(CATALOG_TOML.replace("price_each = 1295", "price_each = -1"))
    assert main(["catalog", "check", str(bad / "catalog.toml")]) == 1
    err = capsys.readouterr().err
    assert "catalog.toml: product[0] 'milk': price_each: must be >= 0" in err
    assert "nothing loaded" in err


def test_barcode_json(capsys):
    assert main(["barcode", "--json", "]E07310000100147"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["product"]["id"] == "arla-standard-milk"
    assert main(["barcode", "--json", "7310000100148"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["ok"] and "check digit" in out["reason"]


def test_demo_script_then_receipt(capsys, tmp_path):
    journal = str(tmp_path / "journal.sqlite")
    assert main(["demo", "--script", "--journal", journal]) == 0
    out = capsys.readouterr().out
    assert "rejected" in out and "expired" in out and "TOTAL SEK" in out
    assert main(["receipt", "--journal", journal, "--json"]) == 0
    receipt = json.loads(capsys.readouterr().out)
    t = receipt["totals"]
    assert t["total"] == t["subtotal"] - t["savings"] > 0
    assert {ln["promotion"] for ln in receipt["lines"]} >= {
        "Yoggi 3 for 2",
        "Mango buy one get one free",
    }
    assert main(["receipt", receipt["session"], "--journal", journal]) == 0
    assert "TOTAL SEK" in capsys.readouterr().out
    assert main(["receipt", "nope", "--journal", journal]) == 1
    assert main(["receipt", "--journal", str(tmp_path / "none.sqlite")]) == 1


def test_bench_core_prints_a_json_line_last(capsys):
    assert main(["bench", "core", "--events", "150"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    data = json.loads(last)
    assert data["bench"] == "core" and data["events"] == 150
    for key in ("memory_events_per_s", "journal_full_events_per_s", "ratio_full_vs_memory"):
        assert data[key] > 0
