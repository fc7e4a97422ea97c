import numpy as np
import pytest

from cart.common.events import WeightMoving, WeightSettled
from drivers.scale.filters import MedianFilter, MovingAverage, StabilityConfig, StabilityDetector
from drivers.scale.loadcell import Calibration, CalibrationError, LoadCells, NotCalibrated


def test_no_grams_until_calibrated():
    cells = LoadCells(Calibration())
    with pytest.raises(NotCalibrated):
        cells.grams(np.zeros((1, 4)))
    cells.set_calibration(Calibration().with_tare([0, 0, 0, 0]))
    with pytest.raises(NotCalibrated):
        cells.grams(np.zeros((1, 4)))


def test_corner_calibration_recovers_each_cell():
    rng = np.random.default_rng(1)
    true_cpg = np.array([40.0, 44.0, 41.5, 46.0])
    tare = rng.uniform(-1e5, 1e5, 4)
    cal = Calibration().with_tare(tare)
    pos = [(0.5, 0.5), (0.1, 0.1), (0.9, 0.1), (0.1, 0.9), (0.9, 0.9)]
    pl = []
    for x, y in pos:
        share = np.array([(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y])
        pl.append((tare + 1000 * share * true_cpg, 1000.0))
    cal = cal.with_reference(pl)
    assert np.allclose(1 / np.array(cal.grams_per_count), true_cpg, rtol=1e-9)
    c = tare + 250 * np.array([0.7, 0.1, 0.15, 0.05]) * true_cpg
    assert LoadCells(cal).grams(c[None, :])[0] == pytest.approx(250)
    with pytest.raises(CalibrationError):
        Calibration().with_tare(tare).with_reference([(tare + 1, 1000.0)])


def test_calibration_round_trips_and_rejects_unknown_keys():
    cal = Calibration(4, (1.0, 2.0, 3.0, 4.0), (0.02, 0.021, 0.022, 0.023))
    assert Calibration.from_dict(cal.to_dict(), 4) == cal
    with pytest.raises(CalibrationError, match="unknown"):
        Calibration.from_dict({"tare": [0]}, 4)


@pytest.mark.parametrize("flt", [lambda: MedianFilter(5), lambda: MovingAverage(7)])
def test_filters_give_the_same_output_for_any_block_split(flt):
    rng = np.random.default_rng(2)
    x = rng.normal(size=300)
    t = np.arange(300)
    whole = flt().process(t, x)[1]
    f = flt()
    parts = [f.process(t[a:b], x[a:b])[1] for a, b in ((0, 1), (1, 50), (50, 51), (51, 300))]
    assert np.allclose(np.concatenate(parts), whole)


def _run(det, x, t0=0, block=37):
    ev = []
    t = t0 + np.arange(len(x)) * 12.5
    for a in range(0, len(x), block):
        ev += det.process(t[a : a + block].astype(np.int64), x[a : a + block])
    return ev


def test_detector_settles_on_steps_and_ignores_noise():
    rng = np.random.default_rng(3)
    det = StabilityDetector(StabilityConfig(noise_g=1.5))
    x = np.concatenate([np.zeros(200), np.full(300, 500.0), np.full(300, 495.0)])
    x = x + rng.normal(0, 1.5, len(x))
    ev = _run(det, x)
    settled = [e for e in ev if isinstance(e, WeightSettled)]
    changes = [e for e in settled if e.delta_g != 0]
    assert [round(e.delta_g) for e in changes] == [
        pytest.approx(500, abs=2),
        pytest.approx(-5, abs=2),
    ]
    assert any(isinstance(e, WeightMoving) for e in ev)
    step = next(e for e in changes if e.delta_g > 100)
    # a clean step settles once a window and the half window before it are flat
    w = det.cfg.window
    assert 200 * 12.5 <= step.t_ms <= 200 * 12.5 + (w + w // 2 + 4) * 12.5


def test_detector_reports_no_change_for_a_bump_and_tracks_slow_drift():
    rng = np.random.default_rng(4)
    det = StabilityDetector(StabilityConfig(noise_g=1.5))
    n = 4000
    t = np.arange(n) / 80
    x = 300 + 0.02 * t * 80 / 80 + rng.normal(0, 1.5, n)  # 0.02 g/s drift
    ring = np.where((t > 20) & (t < 24), 400 * np.exp(-(t - 20) * 3) * np.sin(50 * (t - 20)), 0)
    ev = _run(det, x + ring)
    settled = [e for e in ev if isinstance(e, WeightSettled)]
    assert settled and all(e.delta_g == 0 for e in settled[1:])


def test_detector_gives_the_same_events_for_any_block_size():
    rng = np.random.default_rng(9)
    x = np.concatenate([np.zeros(100), np.linspace(0, 800, 20), np.full(200, 800.0)])
    x = x + rng.normal(0, 1.5, len(x))
    x[130:170] += 60 * np.exp(-np.arange(40) / 8) * np.sin(np.arange(40) * 1.3)
    runs = [
        _run(StabilityDetector(StabilityConfig(noise_g=1.5)), x, block=b) for b in (1, 3, 16, 500)
    ]
    assert all(r == runs[0] for r in runs)
    assert any(isinstance(e, WeightSettled) and e.delta_g > 790 for e in runs[0])


def test_detector_reports_the_level_of_a_change_under_its_resolution():
    # a bag settles on most of its weight, then its rest slumps in: 12 g is under this
    # scale's resolution (about 13 g) but over half of it, so the no-change settle after it
    # reports the level it settled at instead of the weight shown before
    rng = np.random.default_rng(3)
    det = StabilityDetector(StabilityConfig(noise_g=1.5, resolution_k=30.0))
    t = np.arange(800) / 80
    x = np.where(t >= 3.0, 300.0, 0.0) + np.where(t >= 5.0, 12.0, 0.0)
    ev = _run(det, x + rng.normal(0, 1.5, len(t)))
    settled = [e for e in ev if isinstance(e, WeightSettled) and e.t_ms > 3000]
    assert settled[0].delta_g == pytest.approx(300, abs=2)
    later = [e for e in settled if e.t_ms > 5000]
    assert [e.delta_g for e in later] == [0.0]  # under the resolution: no change of its own
    assert later[0].grams == pytest.approx(312, abs=1.5)  # but the level it is at
