"""The camera witness at run time: basket-camera frames of real grocery photos go through the
shipped int8 classifier in the vision worker, its verdicts reach fusion through the runtime, and
the screen shows what fusion makes of them. Missing model, photos or camera degrade, never crash.
"""

from __future__ import annotations

import threading
import time

import pytest

from cart.app.stack import build_runtime
from cart.app.vision import (
    FrameBuffer,
    TappedReader,
    VisionWorker,
    attach,
    class_photos,
    load_worker,
)
from cart.common.clock import ManualClock
from cart.common.events import Scan, VisionVerdict, WeightMoving, WeightSettled
from cart.sim.camera import CameraSim, Conditions
from cart.sim.demo_app import DemoApp
from cart.store.loading import load_store
from cart.ui.app import CartApp

from .screen_text import screen_text

SIZE = (400, 320)  # a close basket camera: the item fills most of the frame


@pytest.fixture(scope="module")
def photos(shared_data):
    found = class_photos(shared_data / "grocery-store")
    if not found:
        pytest.skip(f"no grocery photos under {shared_data / 'grocery-store'}")
    return found


@pytest.fixture(scope="module")
def classifier():
    from models.runtime import Classifier, ClassifierError

    try:
        clf = Classifier()
    except ClassifierError as exc:
        pytest.skip(f"shipped classifier not loadable: {exc}")
    yield clf
    clf.close()


def frames_of(photo, n=4, rest=2, seed=0):
    return CameraSim(
        photo, code=None, size=SIZE, conditions=Conditions(noise=2.0), seed=seed
    ).frames(n, rest)


class Rig:
    """The real runtime, fusion (vision on), core and an in-memory journal on a manual clock,
    with a vision worker running the real classifier. Records what reaches the engine."""

    def __init__(self, classifier=None, **worker_args) -> None:
        from models.runtime import Classifier

        self.store = load_store()
        self.clock = ManualClock(1_767_258_000_000)
        self.runtime = build_runtime(self.store, ":memory:", clock=self.clock, vision=True)
        self.seen: list = []
        handle = self.runtime.engine.handle_event

        def recording(event, t_ms):
            self.seen.append(event)
            handle(event, t_ms)

        self.runtime.engine.handle_event = recording
        self.runtime.start()
        clf = classifier if classifier is not None else Classifier()
        self.worker = attach(
            self.runtime, VisionWorker(clf, None, clock=self.clock, **worker_args)
        ).start()

    def show(self, photo, seed=0) -> None:
        """The basket camera sees the item come in and rest (33 ms a frame)."""
        for f in frames_of(photo, seed=seed):
            self.clock.advance(33)
            self.worker.buffer.push(f, self.clock.now_ms())

    def place(self, photo, grams: float, code: str | None = None) -> None:
        if code:
            self.clock.advance(500)
            self.runtime.post(Scan(self.clock.now_ms(), code, "]E0", "scanner:hand"))
        self.clock.advance(400)
        self.runtime.post(WeightMoving(self.clock.now_ms(), grams / 2))
        self.show(photo)
        self.clock.advance(300)
        total = self.grams = getattr(self, "grams", 0.0) + grams
        self.runtime.post(WeightSettled(self.clock.now_ms(), total, grams, 700, 0.4))
        assert self.worker.wait_idle(10)
        assert self.runtime.wait_idle(10)

    def verdicts(self) -> list[VisionVerdict]:
        return [e for e in self.seen if isinstance(e, VisionVerdict)]

    def close(self) -> None:
        self.runtime.close()


def code_of(store, product_id: str) -> str:
    return next(p for p in store.catalog.products if p.id == product_id).gtins[0][1:]


def test_a_scanned_product_placed_gets_the_real_models_verdict(photos, classifier):
    import cv2

    photo = photos["Oatly-Natural-Oatghurt"][0]
    rig = Rig()
    try:
        rig.place(photo, 1045, code_of(rig.store, "oatly-natural-oatghurt"))
        (verdict,) = rig.verdicts()
        settle = next(e for e in rig.seen if isinstance(e, WeightSettled))
        assert verdict.t_ms >= settle.t_ms  # the injected clock, after the settle it answers
        assert verdict.source == "camera:basket" and len(verdict.top) == 5
        # exactly what the shipped model says of the frame the camera saw at rest
        expected = classifier.classify(cv2.cvtColor(frames_of(photo)[-1], cv2.COLOR_BGR2RGB))
        assert [lb for lb, _ in verdict.top] == [lb for lb, _ in expected]
        assert verdict.top[0][0] == "Oatly-Natural-Oatghurt"
        view = rig.runtime.view
        assert [ln.name for ln in view.lines] == ["Oatly oatgurt natural 1 kg"]
        assert view.alerts == ()  # the camera agrees: no question
        status = next(d for d in view.devices if d.name == "classifier")
        assert status.state == "connected" and "int8" in status.detail
        assert dict(status.counters)["verdicts"] == 1
    finally:
        rig.close()


async def test_a_different_item_than_scanned_raises_the_mismatch_on_screen(photos):
    # scanned: Arla natural yoghurt (18.95); placed: Valio vanilla yoghurt (29.95), same weight
    rig = Rig()
    app = CartApp(rig.runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await asyncio_to_thread(
                rig.place,
                photos["Valio-Vanilla-Yoghurt"][0],
                1045,
                code_of(rig.store, "arla-natural-yoghurt"),
            )
            (verdict,) = rig.verdicts()
            assert verdict.top[0][0] == "Valio-Vanilla-Yoghurt"
            await until(pilot, lambda: any(a.kind == "looks_different" for a in app.view.alerts))
            await pilot.pause()
            text = screen_text(app)
            assert "does not look like Arla natural yoghurt" in text, text
    finally:
        rig.close()


async def test_produce_entry_lists_the_classifiers_top_three(photos):
    from cart.ui.screens import ProduceScreen

    rig = Rig()
    app = CartApp(rig.runtime)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await asyncio_to_thread(rig.place, photos["Granny-Smith"][0], 600)
            (verdict,) = rig.verdicts()
            await until(pilot, lambda: any(a.kind == "weigh_produce" for a in app.view.alerts))
            alert = next(a for a in app.view.alerts if a.kind == "weigh_produce")
            # the choices are the catalogue's produce for the model's labels, best first, with
            # the model's probabilities
            by_label = {p.label: p for p in rig.store.catalog.products if p.by_weight}
            expected = [
                (by_label[lb].name, f"{100 * p:.0f}%") for lb, p in verdict.top if lb in by_label
            ][:3]
            assert [(c.label, c.detail) for c in alert.choices[:3]] == expected
            assert alert.choices[0].label == "Apple Granny Smith"
            await pilot.pause(0.2)
            if not isinstance(app.screen, ProduceScreen):  # it opens by itself for the alert
                await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, ProduceScreen))
            await pilot.pause()
            text = screen_text(app)
            for name, pct in expected:
                assert name in text and pct in text, text
            await pilot.press("enter")  # the first suggestion, highlighted
            await until(pilot, lambda: any("Granny" in ln.name for ln in app.view.lines))
            await until(pilot, lambda: not app.view.alerts)
            # later, with no question open, produce entry still offers what the camera saw
            assert app.view.suggestions[0].label == "Apple Granny Smith"
            await until(pilot, lambda: not isinstance(app.screen, ProduceScreen))
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, ProduceScreen))
            first = app.screen.query_one("#tiles").tiles[0]
            assert first.choice.key == app.view.suggestions[0].key
            assert first.suggested == f"{100 * verdict.top[0][1]:.0f}%"
            assert f"camera {first.suggested}" in screen_text(app)
    finally:
        rig.close()


def test_one_inference_at_a_time_newer_requests_replace_waiting_ones(photos, classifier):
    class Gated:
        """The real classifier behind a gate, counting how many calls run at once."""

        quantized, threads, model_path = True, 1, "grocery_lite0_int8.tflite"

        def __init__(self):
            self.gate = threading.Event()
            self.entered = threading.Event()
            self.running = self.most = 0

        def classify(self, rgb, k):
            self.running += 1
            self.most = max(self.most, self.running)
            self.entered.set()
            self.gate.wait(10)
            try:
                return classifier.classify(rgb, k)
            finally:
                self.running -= 1

        def close(self):
            pass

    gated = Gated()
    rig = Rig(gated)
    try:
        rig.show(photos["Banana"][0])
        rig.worker.request("placement")
        assert gated.entered.wait(10)
        for _ in range(4):  # while the first runs: one waits, three are replaced
            rig.worker.request("placement")
        gated.gate.set()
        assert rig.worker.wait_idle(10) and rig.runtime.wait_idle(10)
        assert gated.most == 1
        assert rig.worker.counters.verdicts == 2 and rig.worker.counters.dropped == 3
        assert len(rig.verdicts()) == 2
    finally:
        rig.close()


def test_stale_frames_give_no_verdict_and_the_cart_runs_on(photos):
    rig = Rig(max_frame_age_ms=1000, camera_grace_ms=10**9)  # only the scale asks here
    try:
        rig.show(photos["Banana"][0])
        rig.clock.advance(5000)  # the camera stopped delivering frames
        rig.runtime.post(Scan(rig.clock.now_ms(), code_of(rig.store, "oatly-oat-milk"), "]E0"))
        rig.runtime.post(WeightSettled(rig.clock.now_ms(), 1045, 1045, 600, 0.4))
        assert rig.worker.wait_idle(10) and rig.runtime.wait_idle(10)
        assert rig.verdicts() == [] and rig.worker.counters.stale == 1
        assert [ln.name for ln in rig.runtime.view.lines] == ["Oatly oat drink 1 l"]
        status = next(d for d in rig.runtime.view.devices if d.name == "classifier")
        assert status.state == "error" and "no recent camera frame" in status.detail
        assert dict(status.counters)["stale"] == 1
    finally:
        rig.close()


def test_camera_rest_asks_unless_the_scale_takes_over(photos):
    rig = Rig(camera_grace_ms=500)
    try:
        # an item held up to the camera, the scale quiet: a verdict once the grace has passed
        rig.show(photos["Banana"][0])
        deadline = time.monotonic() + 10
        while not rig.worker.counters.verdicts:
            rig.clock.advance(100)
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert rig.worker.wait_idle(10) and rig.runtime.wait_idle(10)
        assert rig.verdicts()[0].top[0][0] == "Banana"
        # the same with the scale moving within the grace: the scale's settle asks instead
        rig.show(photos["Lemon"][0])
        rig.runtime.post(WeightMoving(rig.clock.now_ms(), 10.0))
        assert rig.worker.wait_idle(10)
        assert rig.worker.counters.cancelled == 1 and rig.worker.counters.verdicts == 1
    finally:
        rig.close()


def test_frame_buffer_checks_frames_and_picks_the_stillest(photos):
    import numpy as np

    rests = []
    buf = FrameBuffer(keep=8, on_rest=rests.append)
    frames = frames_of(photos["Banana"][0], n=4, rest=2)
    for i, f in enumerate(frames):
        buf.push(f, i * 33)
    buf.push(np.zeros((4, 4), np.uint8), 999)  # not a colour frame: counted, ignored
    buf.push("garbage", 999)
    assert buf.bad_frames == 2 and buf.frames == 6
    assert rests == [4 * 33]  # came to rest at the first still frame
    best = buf.best(0)
    assert best.motion <= 3.0 and best.t_ms == 5 * 33  # still, and the newest of the still
    assert buf.best(10_000) is None


def test_tapped_reader_feeds_the_buffer_and_still_decodes_barcodes():
    from drivers.camera import CameraConfig, CameraReader

    buf = FrameBuffer()
    reader = TappedReader(CameraReader(CameraConfig(name="basket", source="sim")), buf)
    scans = []
    for i, f in enumerate(CameraSim(None, code="4006381333931").frames(4, rest=2)):
        scans += reader.process(f, i * 33)
    assert [s.code for s in scans] == ["4006381333931"]
    assert buf.frames == 6 and reader.counters.frames == 6


def test_missing_model_degrades_to_no_vision(tmp_path):
    store = load_store()
    clock = ManualClock(1_000)
    worker = load_worker(None, clock=clock, model=tmp_path / "missing.tflite")
    assert worker.classifier is None and "missing.tflite" in worker.problem
    runtime = build_runtime(store, ":memory:", clock=clock, vision=False)
    runtime.start()
    try:
        attach(runtime, worker).start()
        worker.observe(WeightSettled(clock.now_ms(), 1045, 1045, 600, 0.4))  # ignored
        runtime.post(Scan(clock.now_ms(), code_of(store, "oatly-oat-milk"), "]E0"))
        assert runtime.wait_idle(5)
        status = next(d for d in runtime.view.devices if d.name == "classifier")
        assert status.state == "error" and "vision off" in status.detail
        assert [ln.name for ln in runtime.view.lines] == ["Oatly oat drink 1 l"]
    finally:
        runtime.close()
    worker.close()  # idempotent


PROFILE = """
[camera.basket]
source = "{frames}"
loop = true
fps = 30

[classifier]
model = "{model}"
threads = 1
"""


def _profile(tmp_path, frames, model="models/grocery_lite0_int8.tflite"):
    p = tmp_path / "cart.toml"
    p.write_text(PROFILE.format(frames=frames, model=model))
    return p


def test_live_cart_camera_frames_reach_the_classifier_and_fusion(tmp_path, photos):
    """``cart run``: the basket camera driver (folder replay) feeds the worker; a placement on
    the scale gets a verdict of what the camera sees."""
    from cart.app.hardware import build

    folder = tmp_path / "frames"
    CameraSim(photos["Banana"][1], code=None, size=SIZE).write_frames(folder, 3, rest=3)
    runtime = build(_profile(tmp_path, folder), journal_path=":memory:")
    runtime.start()
    try:
        worker = next(s for s in runtime._sources if isinstance(s, VisionWorker))
        assert worker.active and worker.cameras == 1
        deadline = time.monotonic() + 15
        while worker.buffer.frames < 8:
            assert time.monotonic() < deadline, "no frames from the camera driver"
            time.sleep(0.02)
        worker.verdicts_posted.clear()
        runtime.post(WeightSettled(runtime.clock.now_ms(), 640, 640, 600, 0.4))
        assert worker.verdicts_posted.wait(10)
        assert runtime.wait_idle(5)
        alert = next(a for a in runtime.view.alerts if a.kind == "weigh_produce")
        assert "Banana" in [c.label for c in alert.choices]
    finally:
        runtime.close()


def test_live_cart_with_a_missing_model_runs_without_vision(tmp_path):
    from cart.app.hardware import build

    folder = tmp_path / "frames"
    CameraSim(None, code=None, size=SIZE).write_frames(folder, 2)
    runtime = build(
        _profile(tmp_path, folder, model="models/absent.tflite"), journal_path=":memory:"
    )
    runtime.start()
    try:
        runtime.post(WeightSettled(runtime.clock.now_ms(), 640, 640, 600, 0.4))
        deadline = time.monotonic() + 10
        while not any(d.name == "classifier" for d in runtime.view.devices):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        status = next(d for d in runtime.view.devices if d.name == "classifier")
        assert status.state == "error" and "absent.tflite" in status.detail
        assert runtime.wait_idle(5)
        # fusion without vision: unexplained placement asks for a scan, no camera question
        assert [a.kind for a in runtime.view.alerts] == ["scan_added"]
    finally:
        runtime.close()


# ---- the demo ----------------------------------------------------------------------------------


@pytest.mark.slow
async def test_demo_camera_shows_the_placed_items_photo_to_the_classifier(photos):
    from cart.sim.demo import DemoWorld, demo_clock, demo_vision

    store = load_store()
    clock = demo_clock()
    worker, camera = demo_vision(clock, seed=3, photos=photos)
    assert camera is not None
    runtime = build_runtime(store, ":memory:", clock=clock, vision=True)
    seen = []
    handle = runtime.engine.handle_event
    runtime.engine.handle_event = lambda e, t: (seen.append(e), handle(e, t))
    attach(runtime, worker)
    world = DemoWorld(runtime, store, clock, seed=3, profile="clean", camera=camera)
    world.start()
    worker.start()
    app = DemoApp(runtime, world)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: any(d.name == "classifier" for d in app.view.devices))
            item = next(s for s in world.shelf if s.produce and s.label in photos)
            world.take(item.product_id)
            await until(pilot, lambda: world.hand is not None)
            world.place()
            await until(pilot, lambda: any(isinstance(e, VisionVerdict) for e in seen))
            await until(pilot, lambda: app.view.alerts)
            assert camera.shown and camera.shown[-1].split("/")[-2] == item.label
            verdict = next(e for e in seen if isinstance(e, VisionVerdict))
            assert len(verdict.top) == 5 and verdict.source == "camera:basket"
            # the worker posts its status after the verdict: wait for it to reach the screen

            def classifier_status():
                return next(d for d in app.view.devices if d.name == "classifier")

            await until(pilot, lambda: dict(classifier_status().counters).get("verdicts", 0) >= 1)
            assert classifier_status().state == "connected"
    finally:
        runtime.close()


async def test_demo_without_photos_runs_with_vision_off_and_says_so():
    from cart.sim.demo import DemoWorld, demo_clock, demo_vision

    store = load_store()
    clock = demo_clock()
    worker, camera = demo_vision(clock, photos={})
    assert camera is None and worker.classifier is None
    runtime = build_runtime(store, ":memory:", clock=clock, vision=False)
    attach(runtime, worker)
    world = DemoWorld(runtime, store, clock, seed=3, profile="clean", camera=None)
    world.start()
    worker.start()
    app = DemoApp(runtime, world)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: any(d.name == "classifier" for d in app.view.devices))
            await pilot.pause()
            text = screen_text(app)
            assert "classifier error" in text and "vision off" in text, text
    finally:
        runtime.close()


# ---- helpers -----------------------------------------------------------------------------------


async def until(pilot, pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; screen:\n{screen_text(pilot.app)}")
        await pilot.pause(0.05)


async def asyncio_to_thread(fn, *args):
    import asyncio

    return await asyncio.to_thread(fn, *args)
