"""Camera reader against the simulated camera: gating, duplicates, sources, the device thread."""

from __future__ import annotations

import queue

import cv2
import numpy as np
import pytest

from cart.common.clock import ManualClock
from cart.common.events import DeviceStatus, Scan
from cart.sim.camera import HARD, CameraSim, Conditions
from drivers.camera import Camera, CameraConfig, CameraConfigError, CameraReader, FrameSource


def test_item_entering_is_read_once_with_symbology():
    sim = CameraSim(None, code="4006381333931", seed=1)
    reader = CameraReader(CameraConfig(source="sim"))
    scans = []
    for i, frame in enumerate(sim.empty(5) + sim.frames(8, rest=20)):
        scans += reader.process(frame, i * 33)
    assert [(s.code, s.symbology, s.source) for s in scans] == [
        ("4006381333931", "]E0", "camera:basket")
    ]
    assert reader.counters.duplicates > 5  # seen again and again while it lay there


def test_grocery_photo_under_hard_conditions_is_read(grocery_photo):
    sim = CameraSim(grocery_photo, code="96385074", fmt="EAN8", conditions=HARD, seed=4)
    reader = CameraReader(CameraConfig(source="sim"))
    codes = [
        s.code for i, f in enumerate(sim.frames(10, rest=10)) for s in reader.process(f, i * 33)
    ]
    assert codes == ["96385074"]


def test_idle_basket_is_gated():
    sim = CameraSim(None, code=None, seed=2)
    reader = CameraReader(CameraConfig(source="sim", idle_decode_every=10))
    for i, frame in enumerate(sim.empty(100)):
        assert reader.process(frame, i * 33) == []
    c = reader.counters
    assert c.frames == 100 and c.decoded_frames <= 11 and c.gated_frames >= 89


def test_same_code_again_after_it_left_the_view():
    sim = CameraSim(None, code="4006381333931", seed=3)
    config = CameraConfig(source="sim", duplicate_window_ms=1000)
    reader = CameraReader(config)
    item, empty = sim.frames(1)[0], sim.empty(1)[0]
    t, got = 0, []
    for frame in [item] * 5 + [empty] * 40 + [item] * 5:  # 40 frames * 33 ms out of sight
        got += reader.process(frame, t)
        t += 33
    assert [s.code for s in got] == ["4006381333931", "4006381333931"]


def test_bad_frames_are_counted_not_raised():
    reader = CameraReader(CameraConfig(source="sim"))
    assert reader.process(np.zeros((4, 4), np.float32), 0) == []
    assert reader.process("frame", 0) == []
    assert reader.counters.bad_frames == 2


def test_config_validation():
    with pytest.raises(CameraConfigError, match="unknown key"):
        CameraConfig.from_profile("c", {"source": "0", "resolution": 5})
    with pytest.raises(CameraConfigError, match="unknown decode pass"):
        CameraConfig(extra_passes=("magic",))
    with pytest.raises(CameraConfigError, match="width"):
        CameraConfig(width=0)


def test_profile_section_is_valid():
    import tomllib
    from pathlib import Path

    from drivers.camera import configs_from_profile

    root = Path(__file__).resolve().parents[2]
    profile = tomllib.loads((root / "hardware/profiles/cart-v1.toml").read_text())
    assert [c.name for c in configs_from_profile(profile)] == ["basket"]


def next_of(camera, kind, timeout=5.0, state=None):
    while True:
        try:
            event = camera.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no {kind.__name__} {state or ''} within {timeout} s")
        if isinstance(event, kind) and (state is None or event.state == state):
            return event


def test_folder_replay_through_the_camera_thread(tmp_path):
    CameraSim(None, code="4006381333931", seed=5).write_frames(tmp_path / "f", 6, rest=4)
    clock = ManualClock(start_ms=5000)
    config = CameraConfig(name="replay", source=str(tmp_path / "f"))
    with Camera(config, clock=clock, pace=False) as cam:
        assert next_of(cam, DeviceStatus, state="connected").detail.startswith("folder")
        scan = next_of(cam, Scan)
        end = next_of(cam, DeviceStatus, state="disconnected")
    assert (scan.code, scan.source, scan.t_ms) == ("4006381333931", "camera:replay", 5000)
    assert end.detail == "end of replay"


def test_video_file_replay(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG video")
    for frame in CameraSim(None, code="96385074", fmt="EAN8", seed=6).frames(6, rest=6):
        writer.write(frame)
    writer.release()
    source = FrameSource(CameraConfig(source=str(path)))
    assert source.kind == "file"
    reader = CameraReader(CameraConfig(source=str(path)))
    codes, n = [], 0
    while (frame := source.read()) is not None:
        codes += [s.code for s in reader.process(frame, n * 33)]
        n += 1
    source.close()
    assert n == 12 and codes == ["96385074"]


def test_missing_source_reports_reconnecting_and_close_is_idempotent(tmp_path):
    cam = Camera(CameraConfig(source=str(tmp_path / "nothing-here")))
    status = next_of(cam, DeviceStatus, state="reconnecting")
    assert "nothing-here" in status.detail
    cam.close()
    cam.close()
    assert cam.finished.wait(5) and cam.state == "disconnected"
    with pytest.raises(RuntimeError, match="closed"):
        cam.start()


def test_unreadable_image_in_folder_is_skipped(tmp_path, caplog):
    folder = tmp_path / "f"
    CameraSim(None, code="4006381333931", seed=7).write_frames(folder, 2, rest=2)
    (folder / "frame-0000.png").write_bytes(b"broken")
    source = FrameSource(CameraConfig(source=str(folder)))
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    assert len(frames) == 3 and source.unreadable == 1
    assert "frame-0000.png" in caplog.text


def test_folder_of_only_broken_images_reports_reconnecting(tmp_path):
    (tmp_path / "a.png").write_bytes(b"broken")
    config = CameraConfig(source=str(tmp_path), loop=True, reconnect_min_ms=10)
    with Camera(config, pace=False) as cam:
        status = next_of(cam, DeviceStatus, state="reconnecting")
    assert "no readable image" in status.detail


def test_sim_conditions_are_validated_and_render_fast_path():
    with pytest.raises(ValueError):
        Conditions(perspective=0.9)
    frames = CameraSim(None, conditions=HARD, seed=8).frames(3)
    assert len(frames) == 3 and frames[0].shape == (480, 640, 3) and frames[0].dtype == np.uint8
    assert not np.array_equal(frames[0], frames[2])  # it moves


def test_camera_scans_thread_free_helper():
    from cart.sim.camera import camera_scans

    scans = camera_scans("4006381333931", t0_ms=10_000, frames=3, rest=1, seed=9)
    assert [(s.code, s.symbology, s.source) for s in scans] == [
        ("4006381333931", "]E0", "camera:basket")
    ]
    assert 10_000 <= scans[0].t_ms <= 10_000 + 3 * 33
    # far too dark and blurred: nothing is read, and nothing wrong either
    dark = Conditions(blur=6.0, light=0.1, noise=8.0)
    assert camera_scans("4006381333931", frames=3, conditions=dark, seed=9) == []


def test_camera_reads_is_deterministic_and_memoised():
    from cart.sim.camera import camera_reads

    first = camera_reads("96385074", "EAN8", seed=3)
    assert first and first[0][1:] == ("96385074", "]E4")
    hits = camera_reads.cache_info().hits
    assert camera_reads("96385074", "EAN8", seed=3) == first
    assert camera_reads.cache_info().hits == hits + 1


def test_decoder_failure_is_reported_and_capture_goes_on(tmp_path):
    folder = tmp_path / "f"
    CameraSim(None, code="4006381333931", seed=11).write_frames(folder, 2, rest=2)
    config = CameraConfig(source=str(folder), reconnect_min_ms=20, reconnect_max_ms=50)
    cam = Camera(config, pace=False, start=False)
    real = cam.reader.process
    calls = []

    def flaky(frame, t_ms):
        calls.append(t_ms)
        if len(calls) == 1:
            raise RuntimeError("decoder bug")
        return real(frame, t_ms)

    cam.reader.process = flaky
    with cam:
        cam.start()
        status = next_of(cam, DeviceStatus, state="error")
        assert "decoder bug" in status.detail
        assert next_of(cam, Scan).code == "4006381333931"
    assert cam.errors == 1


def test_a_code_seen_in_one_frame_only_is_not_reported():
    """A misread seldom repeats: one sighting is not enough, two within the window are."""
    sim = CameraSim(None, code="4006381333931", seed=12)
    item, empty = sim.frames(1)[0], sim.empty(1)[0]
    reader = CameraReader(CameraConfig(source="sim", confirm_frames=2, confirm_window_ms=100))
    assert reader.process(item, 0) == []
    assert reader.process(empty, 33) == []
    assert reader.process(item, 200) == []  # the first sighting is too old to confirm it
    assert [s.code for s in reader.process(item, 233)] == ["4006381333931"]
    assert reader.counters.unconfirmed == 2
    single = CameraReader(CameraConfig(source="sim", confirm_frames=1))
    assert [s.code for s in single.process(item, 0)] == ["4006381333931"]
