"""A live trip through the real scanner parser (``drivers.scanner.ScanDecoder`` fed the bytes
of a simulated scanner), the runtime, fusion and the journal: every printed-price form is
refused with its reason and counted on the scanner's status, an expired item is billed but
blocked for staff, and the honest label forms (deli weight label, bakery price label, GS1-128
variable measure with (310n)+(392n)) bill by their labels, each checked against the scale."""

from __future__ import annotations

import pytest

from cart.app import actions
from cart.app.stack import build_runtime
from cart.basket.journal import Journal
from cart.basket.risk import risk_score
from cart.common.clock import ManualClock
from cart.common.events import WeightSettled
from cart.sim.scanner import ScannerSim
from cart.store.loading import load_store
from drivers.scanner import ScanDecoder, ScannerConfig
from tests.ui.test_engine import Views

T0 = 1_767_258_000_000  # 2026-01-01 09:00 UTC: (17) 251230 is in the past

# (AIM identifier, data) as the scanner sends them
REFUSED = [
    # Arla milk's GTIN with (3922) "price 0.01": a price without its measure
    ("]C1", "0107310000100147392200001", "without the trade measure"),
    # the same as a GS1 Digital Link in a plain QR Code
    ("]Q1", "https://id.gs1.org/01/07310000100147?3922=0001", "without the trade measure"),
    # with a weight to price: still a fixed-price product
    ("]C1", "010731000010014731030015803922000001", "which has a fixed price"),
    # 13 digits in a plain Code 128 are not a GTIN
    ("]C0", "7310000100147", "is not a product code"),
]
EXPIRED_JUICE = ("]C1", "010731000010001717251230")  # bravo apple juice, expired 2025-12-30
DELI_450 = ("]E0", "2310010004508")  # Präst cheese, 450 g weight label (GS1 Sweden 23)
BUNS_4550 = ("]E0", "2001010045508")  # cinnamon buns, 45.50 price label (GS1 Sweden 20)
DELI_GS1_128 = ("]C1", "010231001000000531030003123922004337")  # 0.312 kg, 43.37


@pytest.fixture(scope="module")
def store():
    return load_store()


class Trip:
    def __init__(self, store, path, t0: int = T0) -> None:
        self.clock = ManualClock(t0)
        self.rt = build_runtime(store, path, clock=self.clock, synchronous="NORMAL")
        self.views = Views()
        self.rt.attach(self.views)
        self.sim = ScannerSim("label-trip", seed=3)
        self.decoder = ScanDecoder(ScannerConfig(name="hand"))
        self.grams = 0.0
        self.n = 0

    def _posted(self, k: int = 1):
        self.n += k
        return self.views.wait(lambda v: v.seq == self.n)

    def scan(self, aim: str, data: str):
        self.clock.advance(800)
        events = self.decoder.feed(self.sim.frame(data, aim), self.clock.now_ms())
        assert [(e.symbology, e.code) for e in events] == [(aim, data)]  # the real parser
        for e in events:
            self.rt.post(e)
        return self._posted(len(events))

    def place(self, grams: float):
        self.clock.advance(1500)
        self.grams += grams
        self.rt.post(WeightSettled(self.clock.now_ms(), self.grams, grams, 400, 0.5))
        return self._posted()

    def act(self, action):
        self.rt.submit(action)
        return self._posted()


def rejected_reads(view) -> int:
    dev = next(d for d in view.devices if d.name == "scanner:hand")
    return dict(dev.counters)["rejected_reads"]


def test_printed_prices_are_refused_and_honest_labels_bill_by_label_and_scale(store, tmp_path):
    path = tmp_path / "j.sqlite"
    trip = Trip(store, path)
    with trip.rt:
        for n, (aim, data, why) in enumerate(REFUSED, 1):
            view = trip.scan(aim, data)
            assert view.lines == () and view.alerts == ()
            assert view.message.startswith("This code is not sold here: ") and why in view.message
            assert rejected_reads(view) == n
        # a misread is told as one
        view = trip.scan("]E0", "7310000100016")
        assert view.message.startswith("Could not read that code, scan again")
        assert rejected_reads(view) == 5

        # honest labels: billed by the label, placed when the scale agrees (tare 8 g)
        view = trip.scan(*DELI_450)
        assert [(ln.name, ln.quantity, ln.total) for ln in view.lines] == [
            ("Präst cheese, deli", "0.450 kg", 6255)  # 0.450 kg × 139.00
        ]
        view = trip.place(458.0)
        assert view.alerts == ()
        view = trip.scan(*BUNS_4550)
        assert view.lines[-1].name == "Cinnamon buns, bakery bag" and view.lines[-1].total == 4550
        view = trip.place(330.0)  # within 320 ± 120 g
        assert view.alerts == ()
        view = trip.scan(*DELI_GS1_128)
        assert (view.lines[-1].quantity, view.lines[-1].total) == ("0.312 kg", 4337)
        view = trip.place(320.0)
        assert view.alerts == ()

        # a label the scale does not agree with: billed, and staff check it
        view = trip.scan(*DELI_450)
        view = trip.place(128.0)
        (alert,) = view.alerts
        assert alert.kind == "label_weight" and alert.staff_only
        assert "the label says 450 g but the scale weighed 120 g: staff will check" in alert.message
        label_alert = alert.alert_id

        # an expired item: billed, blocked for staff
        view = trip.scan(*EXPIRED_JUICE)
        expired = next(a for a in view.alerts if a.kind == "expired")
        assert expired.staff_only
        assert (
            expired.message == "Bravo apple juice 1 l is past its expiry date: staff will check it"
        )
        view = trip.place(1060.0)
        view = trip.act(actions.Pay())
        assert view.receipt is None and "question" in view.message
        assert rejected_reads(view) == 5  # only the refused reads count

        trip.act(actions.EnterStaffPin("2468"))
        trip.act(actions.ResolveAlert(expired.alert_id, "approve"))
        view = trip.act(actions.ResolveAlert(label_alert, "remove_line"))
        assert view.alerts == ()
        trip.act(actions.LeaveStaffMode())
        view = trip.act(actions.Pay())
        assert view.receipt is not None
        juice = store.catalog.by_gtin("7310000100017")
        assert [ln.total for ln in view.lines] == [6255, 4550, 4337, juice.price]
        assert view.totals.subtotal == 6255 + 4550 + 4337 + juice.price
    with Journal(path) as j:
        rows = [(e.kind, e.payload) for e in j.events(view.receipt.session_id)]
    refused = [p for k, p in rows if k == "fusion.unknown_code"]
    assert [p["code"] for p in refused] == [d for _, d, _ in REFUSED] + ["7310000100016"]
    assert all(p["reason"] and p["symbology"] for p in refused)
    kinds = [p.get("kind") for k, p in rows if k == "raise_flag"]
    assert kinds == ["label_weight", "expired"]
    assert risk_score(rows).signals["unknown_codes"] == 5


def test_rejected_reads_survive_a_restart_in_the_journal(store, tmp_path):
    path = tmp_path / "j.sqlite"
    trip = Trip(store, path)
    with trip.rt:
        trip.scan(*REFUSED[0][:2])
        trip.scan(*EXPIRED_JUICE)
    again = Trip(store, path, trip.clock.now_ms())
    with again.rt:
        view = again.views.wait(lambda v: True)
        assert [a.kind for a in view.alerts] == ["expired"]  # the replay agrees: no recovery
    with Journal(path) as j:
        session = j.unfinished()
        rows = [(e.kind, e.payload) for e in j.events(session.id)]
    assert sum(k == "fusion.unknown_code" for k, _ in rows) == 1
