import os
import queue
import select
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import serial

import cart.sim.scale  # noqa: F401 - registers scalesim://
from cart.common.events import DeviceStatus, WeightSettled
from cart.sim.scale import REST_LEAD_MS, BasketModel, SimBridge, SimScale, config_for
from drivers.scale import protocol as sp
from drivers.scale.driver import ConfigError, ScaleConfig, ScaleDriver, save_profile


def _settled(events):
    return [e for e in events if isinstance(e, WeightSettled) and e.delta_g != 0]


def test_in_process_placement_removal_and_fast_forward():
    s = SimScale(seed=11)
    c = s.clock
    s.run_until(c.now_ms() + 2000)
    p = s.place("milk", 1032.0, x=0.2, y=0.7)
    ev = _settled(s.run_until(c.now_ms() + 4000))
    assert len(ev) == 1 and ev[0].delta_g == pytest.approx(1032, abs=3)
    assert ev[0].t_ms <= p.t_settle_ms + 300
    before = s.core.counters()["samples"]
    assert s.run_until(c.now_ms() + 600_000) == []  # ten quiet minutes
    assert s.fast_forwarded_ms > 500_000
    assert s.core.counters()["samples"] - before < 2000
    s.remove("milk")
    ev = _settled(s.run_until(c.now_ms() + 4000))
    assert len(ev) == 1 and ev[0].delta_g == pytest.approx(-1032, abs=3)
    assert s.core.counters()["gaps"] == 0 and s.core.counters()["crc_errors"] == 0


def test_fast_forward_stops_short_of_the_next_action():
    # the detector sees the level just before a motion, as on the cart: the rest before an
    # action is skipped only up to REST_LEAD_MS before it
    s = SimScale(seed=11)
    c = s.clock
    s.run_until(c.now_ms() + 2000)
    t0 = c.now_ms()
    t_place = t0 + 60_000
    seen = []
    s.core.pipeline.taps.append(lambda t, counts, g, f: seen.append(np.asarray(t)))
    s.place("milk", 1032.0, t_ms=t_place)
    ev = _settled(s.run_until(t_place + 4000))
    assert len(ev) == 1 and ev[0].delta_g == pytest.approx(1032, abs=3)
    ts = np.concatenate(seen)
    assert REST_LEAD_MS >= 1000
    lead = (ts >= t_place - 1000) & (ts < t_place)
    assert lead.sum() >= 0.9 * 80  # the last second before the placement, 80 samples
    assert ((ts > t0 + 1000) & (ts < t_place - REST_LEAD_MS - 500)).sum() == 0
    assert s.fast_forwarded_ms > 50_000


def test_bumps_and_pushes_give_no_false_change_on_clean_profile():
    s = SimScale(seed=5, profile="clean")
    c = s.clock
    s.place("a", 2500.0, x=0.3, y=0.3)
    first = _settled(s.run_until(c.now_ms() + 4000))
    assert [round(e.delta_g) for e in first] == [pytest.approx(2500, abs=3)]
    n = len(s.events)
    for _ in range(3):
        s.run_until(s.bump(2.0) + 1500)
        s.run_until(s.push(8000, 1.0) + 4000)
    assert _settled(s.events[n:]) == []
    assert any(isinstance(e, WeightSettled) for e in s.events[n:])


def test_link_faults_are_counted_never_raised_and_reconnect_in_process():
    s = SimScale(seed=3, config=config_for("typical", byte_error_rate=2e-4, byte_drop_rate=1e-4))
    c = s.clock
    s.run_until(c.now_ms() + 20_000)
    s.place("x", 500.0)
    s.run_until(c.now_ms() + 10_000)
    n = s.core.counters()
    assert n["crc_errors"] + n["bytes_discarded"] > 0 and n["gaps"] > 0
    # unplug: nothing arrives; replug reboots the bridge and the core hand-shakes again
    s.bridge.unplug()
    s.run_until(c.now_ms() + 2000)
    s.bridge.replug()
    ev = s.run_until(c.now_ms() + 3000)
    assert any(isinstance(e, DeviceStatus) and e.state == "connected" for e in ev)
    assert s.core.state == "streaming"


def test_model_figures():
    cfg = config_for("typical")
    assert cfg.noise_counts == pytest.approx(46.0, rel=0.01)  # 90 nV at gain 128, AVDD 4.2 V
    m = BasketModel(cfg, seed=0)
    assert np.all(np.abs(m.counts_per_g - 42.9) < 42.9 * 0.11)  # 1 mV/V, 50 kg, +-10 %


def _wait(q, pred, timeout):
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        try:
            ev = q.get(timeout=max(0.0, end - time.monotonic()))
        except queue.Empty:
            break
        if pred(ev):
            return ev
        seen.append(ev)
    raise AssertionError(f"event not seen in time; saw {seen[-8:]}")


def _calibrated(model):
    from drivers.scale.loadcell import Calibration

    tare = model.offset + model.dead * model.counts_per_g
    return ScaleConfig(
        calibration=Calibration(
            4, tuple(map(float, tare)), tuple(map(float, 1 / model.counts_per_g))
        )
    )


def test_threaded_driver_over_url_settles_and_survives_unplug():
    ports = []

    def factory(url, **kw):
        p = serial.serial_for_url(url, **kw)
        ports.append(p)
        return p

    drv = ScaleDriver("scalesim://?seed=2&speed=2", serial_factory=factory)
    with drv:
        assert drv.wait_connected(10)
        model = ports[-1].model
        drv.pipeline.set_calibration(_calibrated(model).calibration)
        model.place("jar", 740.0, t_ms=model.now_ms + 200, ramp_ms=150, drop_mm=0)
        ev = _wait(drv.events, lambda e: isinstance(e, WeightSettled) and e.delta_g != 0, 20)
        assert ev.delta_g == pytest.approx(740, abs=4)
        ports[-1].bridge.unplug()
        _wait(drv.events, lambda e: isinstance(e, DeviceStatus) and e.state == "reconnecting", 10)
        _wait(drv.events, lambda e: isinstance(e, DeviceStatus) and e.state == "connected", 20)
        assert drv.connects >= 2
    drv.close()  # idempotent
    assert drv.closed


@pytest.mark.slow
def test_driver_through_a_pty():
    master, slave = os.openpty()
    model = BasketModel(config_for("typical"), seed=4, t0_ms=0)
    bridge = SimBridge(model, seed=4)
    stop = threading.Event()
    t0 = time.monotonic()

    def pump():
        while not stop.is_set():
            r, _, _ = select.select([master], [], [], 0.005)
            if r:
                try:
                    bridge.write(os.read(master, 256))
                except OSError:
                    return
            data = bridge.advance_to(int((time.monotonic() - t0) * 1000))
            if data:
                os.write(master, data)

    th = threading.Thread(target=pump, daemon=True)
    th.start()
    try:
        with ScaleDriver(os.ttyname(slave), _calibrated(model)) as drv:
            assert drv.wait_connected(10)
            model.place("tin", 415.0, t_ms=model.now_ms + 300, ramp_ms=150, drop_mm=0)
            ev = _wait(drv.events, lambda e: isinstance(e, WeightSettled) and e.delta_g != 0, 20)
            assert ev.delta_g == pytest.approx(415, abs=4)
            assert drv.counters()["crc_errors"] == 0
    finally:
        stop.set()
        th.join(2)
        os.close(master)
        os.close(slave)


def test_profile_save_rewrites_only_the_scale_region(tmp_path):
    src = Path("hardware/profiles/cart-v1.toml").read_text()
    p = tmp_path / "cart.toml"
    head = src.index("\n", src.index("# ---- scanners")) + 1
    p.write_text(src[:head] + "[scanners]\nx = 1\n" + src[head:])
    cfg = ScaleConfig.from_profile(p)
    from dataclasses import replace

    from drivers.scale.loadcell import Calibration

    cal = Calibration(4, (1.5, 2.0, 3.0, 4.0), (0.023, 0.024, 0.025, 0.026))
    save_profile(p, replace(cfg, calibration=cal))
    text = p.read_text()
    assert ScaleConfig.from_profile(p).calibration == cal
    assert "[scanners]\nx = 1" in text and "# ---- classifier" in text
    with pytest.raises(ConfigError, match="unknown"):
        ScaleConfig.from_dict({"prot": "/dev/x"})


def test_bench_prints_json_last(capsys):
    from cart.cli import main

    assert main(["bench", "scale", "--placements", "12", "--push-minutes", "0.5"]) == 0
    import json

    line = capsys.readouterr().out.strip().splitlines()[-1]
    r = json.loads(line)
    for k in (
        "settle_ms_p50",
        "settle_ms_p95",
        "error_g_p50",
        "error_g_p95",
        "false_changes_per_hour",
    ):
        assert k in r and k in r["baseline"]
    assert sp.PROTOCOL_VERSION == 1


@pytest.mark.slow
def test_tare_and_corner_calibration_workflow_over_url(tmp_path):
    from dataclasses import replace

    from cart.commands.scale import POSITIONS, calibrate, tare

    ports = []

    def factory(url, **kw):
        p = serial.serial_for_url(url, **kw)
        ports.append(p)
        return p

    where = {
        "centre": (0.5, 0.5),
        "front-left": (0.1, 0.1),
        "front-right": (0.9, 0.1),
        "rear-left": (0.1, 0.9),
        "rear-right": (0.9, 0.9),
    }
    with ScaleDriver("scalesim://?seed=6&speed=8", serial_factory=factory) as drv:
        assert drv.wait_connected(10)
        model = ports[-1].model
        cal, _ = tare(drv, 1.0)
        drv.cfg = replace(drv.cfg, calibration=cal)

        def prompt(pos):  # the technician moves the reference mass
            # a little ahead of the present: the reader thread advances the model meanwhile
            t = model.now_ms + 100
            if "ref" in model.items:
                model.remove("ref", t_ms=t)
            model.place("ref", 1000.0, *where[pos], t_ms=t + 300, drop_mm=0)

        cal = calibrate(drv, 1000.0, POSITIONS["corners"], 2.0, prompt)
    true = 1 / model.counts_per_g
    dev = np.abs(np.array(cal.grams_per_count) / true - 1)
    assert np.all(dev < 3e-3)


@pytest.mark.slow
def test_cli_tare_writes_the_profile_and_monitor_prints_json(tmp_path, capsys):
    import json
    import shutil

    from cart.cli import main

    prof = tmp_path / "cart.toml"
    shutil.copy("hardware/profiles/cart-v1.toml", prof)
    url = "scalesim://?seed=1&speed=4"
    assert main(["scale", "tare", "--profile", str(prof), "--url", url, "--seconds", "0.5"]) == 0
    cal = ScaleConfig.from_profile(prof).calibration
    assert cal.tared and not cal.calibrated
    assert main(["scale", "monitor", "--profile", str(prof), "--url", url, "--seconds", "1"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert any(x["event"] == "DeviceStatus" and x["state"] == "connected" for x in lines)
    assert (
        main(["scale", "calibrate", "--profile", str(tmp_path / "none.toml"), "--grams", "1000"])
        == 1
    )
    assert "none.toml" in capsys.readouterr().err
    shutil.copy("hardware/profiles/cart-v1.toml", prof)  # untared: calibrate refuses
    assert (
        main(["scale", "calibrate", "--profile", str(prof), "--url", url, "--grams", "1000"]) == 1
    )


def test_actions_scheduled_ahead_are_reached_by_fast_forward():
    s = SimScale(seed=12)
    t0 = s.clock.now_ms()
    s.run_until(t0 + 2000)
    p = s.place("late", 640.0, t_ms=t0 + 120_000, drop_mm=0)
    before = s.core.counters()["samples"]
    ev = _settled(s.run_until(t0 + 125_000))
    assert [round(e.delta_g) for e in ev] == [pytest.approx(640, abs=3)]
    assert ev[0].t_ms >= p.t_start_ms
    assert s.core.counters()["samples"] - before < 80 * 20  # the quiet 2 minutes were skipped
