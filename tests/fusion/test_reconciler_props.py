"""Properties of the reconciler on arbitrary input: it never crashes, never lets a basket check
out with a question open, and replays to the same state from its journal."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart.common.events import Scan, VisionVerdict, WeightMoving, WeightSettled
from cart.fusion import actions as A
from cart.fusion.alerts import CheckedOut
from cart.fusion.products import Product, SimpleCatalogue
from cart.fusion.reconciler import Reconciler

CAT = SimpleCatalogue(
    [
        Product(
            "milk",
            "Milk",
            1895,
            unit_weight_g=1580,
            tolerance_g=30,
            label="Arla-Standard-Milk",
            codes=("7310000100147",),
        ),
        Product(
            "cream",
            "Cream",
            1795,
            unit_weight_g=320,
            tolerance_g=12,
            label="Arla-Sour-Cream",
            codes=("7310000100208",),
        ),
        Product(
            "banana",
            "Banana",
            2495,
            by_weight=True,
            unit_weight_g=180,
            tolerance_g=55,
            label="Banana",
            codes=("4011",),
        ),
        Product(
            "beer",
            "Beer",
            1390,
            unit_weight_g=530,
            tolerance_g=12,
            age_restricted=True,
            codes=("7310000200052",),
        ),
    ]
)

codes = st.sampled_from(
    ["7310000100147", "7310000100208", "4011", "7310000200052", "123", "", "\x1b[31m"]
)
labels = st.sampled_from(["Arla-Standard-Milk", "Arla-Sour-Cream", "Banana", "Lemon"])
step = st.one_of(
    st.tuples(st.just("scan"), codes),
    st.tuples(st.just("settle"), st.floats(min_value=-3000, max_value=3000, allow_nan=False)),
    st.tuples(st.just("moving"), st.just(0)),
    st.tuples(st.just("verdict"), labels),
    st.tuples(st.just("answer"), st.integers(min_value=0, max_value=8)),
    st.tuples(st.just("wait"), st.integers(min_value=0, max_value=60_000)),
)


def _play(steps):
    r = Reconciler(CAT)
    t, grams, log, effects = 1_000, 0.0, [], []
    for kind, arg in steps:
        t += 700
        if kind == "scan":
            x = Scan(t, arg)
        elif kind == "settle":
            grams = max(0.0, grams + arg)
            x = WeightSettled(t, grams, arg, 400, 1.0)
        elif kind == "moving":
            x = WeightMoving(t, grams)
        elif kind == "verdict":
            x = VisionVerdict(t, ((arg, 0.9),))
        elif kind == "wait":
            t += arg
            effects += r.advance(t)
            continue
        else:
            flags = r.open_flags
            f = flags[arg % len(flags)] if flags else None
            fid = f.id if f else arg
            x = [
                A.CancelScan(t, fid),
                A.ConfirmQuantity(t, fid),
                A.DeclarePersonal(t, fid),
                A.ShowAgain(t, fid),
                A.SelectProduce(t, fid, "4011", True),
                A.PickRemoved(t, fid, arg),
                A.RemoveLine(t, arg),
                A.Checkout(t),
                A.CallStaff(t, fid),
            ][arg]
        log.append(x)
        effects += r.handle(x)
    return r, log, effects


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=150, deadline=None)
@given(st.lists(step, max_size=40))
def test_never_crashes_and_never_checks_out_with_questions_open(steps):
    r, _, effects = _play(steps)
    if any(isinstance(e, CheckedOut) for e in effects):
        assert r.checked_out
    state = r.state()
    if not state.checked_out:
        assert all(f.message and f.action for f in state.flags)
    # every question names one of the kinds the screen knows
    from cart.fusion.alerts import KINDS

    assert all(f.kind in KINDS for f in state.flags)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=60, deadline=None)
@given(st.lists(step, max_size=30))
def test_replaying_the_inputs_gives_the_same_state(steps):
    r1, log, _ = _play(steps)
    r2 = Reconciler(CAT)
    # replay: the same inputs, and time passing where the original waited
    _ = [r2.handle(x) for x in log]
    r2.advance(r1.now_ms)
    r1.advance(r1.now_ms)
    assert r2.state().lines == r1.state().lines


def test_checkout_refused_while_a_question_is_open():
    r = Reconciler(CAT)
    r.handle(WeightSettled(1000, 500.0, 500.0, 300, 1.0))
    out = r.handle(A.Checkout(2000))
    assert not any(isinstance(e, CheckedOut) for e in out)
    assert any(getattr(e, "kind", "") == "checkout_refused" for e in out)
