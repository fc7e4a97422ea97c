"""The cart's camera witness at run time: basket-camera frames in, ``VisionVerdict`` events out.

::

    camera thread ── TappedReader.process(frame) ──► FrameBuffer (last few frames, motion)
                                                           │ best still frame
    runtime.post(WeightSettled / WeightMoving) ──► VisionWorker ── worker thread ──► classifier
                                                           │
                          runtime.post(VisionVerdict(t_ms=clock now, top-k)) ◄─┘

- :class:`FrameBuffer` keeps the last few frames of the basket camera (BGR, as OpenCV gives
  them) with their capture time and how much the picture moved since the frame before (a grey
  80x60 thumbnail compared with the previous one, as the barcode reader's motion gate does).
  A frame with motion followed by a still one is "something came to rest in view".
- :class:`TappedReader` wraps the barcode camera's ``drivers.camera.CameraReader``: every frame
  the camera thread reads goes to the buffer and then on to the barcode reader unchanged. So one
  capture serves both the barcode reader and the classifier.
- :class:`VisionWorker` owns the classifier (``models.runtime.Classifier``, LiteRT, threads from
  the profile's ``[classifier]`` section) and one thread. A placement (a settled weight increase)
  asks for a verdict at once; the camera seeing something come to rest with the scale quiet (an
  item held up to the camera: "show it again") asks after ``camera_grace_ms`` unless the scale
  moves meanwhile (then the scale's settle asks instead). At most one inference runs and at most
  one request waits: a newer request replaces the waiting one (counted as ``dropped``). The
  stillest frame captured since shortly before the request is classified; none that recent
  means no verdict (``stale``). The verdict carries the injected clock's time when it is posted.
- Nothing here blocks the runtime's worker or the screen: ``observe`` (called by
  ``Runtime.post`` for every device event) only sets a request under a lock.
- A missing or broken model, or no camera, leaves the cart running without vision; the status
  bar shows ``classifier`` as ``error`` or ``disconnected`` with the reason and the counters.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np

from cart.common.clock import Clock, SystemClock
from cart.common.events import DeviceStatus, VisionVerdict, WeightMoving, WeightSettled
from cart.common.paths import grocery_store_dir
from drivers.base import Device

log = logging.getLogger(__name__)

DEVICE = "classifier"


@dataclass(frozen=True, slots=True)
class Frame:
    t_ms: int
    motion: float  # mean absolute grey change of the thumbnail since the previous frame
    image: np.ndarray  # BGR uint8


class FrameBuffer:
    """The last ``keep`` frames of one camera. Thread-safe; ``push`` costs a thumbnail."""

    THUMB = (80, 60)

    def __init__(
        self,
        keep: int = 6,
        motion_threshold: float = 3.0,
        on_rest: Callable[[int], None] | None = None,
    ) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.motion_threshold = motion_threshold
        self.on_rest = on_rest
        self._frames: deque[Frame] = deque(maxlen=keep)
        self._prev: np.ndarray | None = None
        self._moving = False
        self._lock = threading.Lock()
        self.frames = 0
        self.bad_frames = 0

    def push(self, image: np.ndarray, t_ms: int) -> None:
        import cv2

        if (
            not isinstance(image, np.ndarray)
            or image.dtype != np.uint8
            or image.ndim != 3
            or image.shape[2] != 3
            or image.size == 0
        ):
            self.bad_frames += 1
            return
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(gray, self.THUMB, interpolation=cv2.INTER_AREA)
        rest = False
        with self._lock:
            prev, self._prev = self._prev, thumb
            motion = (
                255.0 if prev is None else float(cv2.norm(thumb, prev, cv2.NORM_L1)) / thumb.size
            )
            moving = motion > self.motion_threshold
            if self._moving and not moving:
                rest = True
            self._moving = moving
            self._frames.append(Frame(int(t_ms), motion, image))
            self.frames += 1
        if rest and self.on_rest is not None:
            self.on_rest(int(t_ms))

    def best(self, since_ms: int) -> Frame | None:
        """The stillest frame captured at or after ``since_ms`` (the newest of equals)."""
        with self._lock:
            recent = [f for f in self._frames if f.t_ms >= since_ms]
        if not recent:
            return None
        return min(reversed(recent), key=lambda f: f.motion)

    def latest_ms(self) -> int | None:
        with self._lock:
            return self._frames[-1].t_ms if self._frames else None


class TappedReader:
    """A ``drivers.camera.CameraReader`` whose frames are also kept in a :class:`FrameBuffer`."""

    def __init__(self, reader, buffer: FrameBuffer) -> None:
        self.reader = reader
        self.buffer = buffer

    def process(self, frame, t_ms: int):
        try:
            self.buffer.push(frame, t_ms)
        except Exception:  # the barcode reader must not lose a frame to the classifier's buffer
            log.exception("frame buffer failed")
        return self.reader.process(frame, t_ms)

    def __getattr__(self, name):
        return getattr(self.reader, name)


def tap_camera(camera, buffer: FrameBuffer) -> None:
    """Route a not yet started ``drivers.camera.Camera``'s frames through ``buffer`` too."""
    camera.reader = TappedReader(camera.reader, buffer)


@dataclass(frozen=True, slots=True)
class _Request:
    t_ms: int  # clock time the request was made
    due_ms: int  # not before (camera-only requests wait for the scale)
    reason: str  # "placement" | "camera"


@dataclass
class VisionCounters:
    requests: int = 0
    verdicts: int = 0
    dropped: int = 0  # requests replaced by a newer one of the same kind while waiting
    stale: int = 0  # no frame recent enough for a request
    cancelled: int = 0  # camera-only requests the scale took over (or that it already had)
    errors: int = 0
    last_ms: float = 0.0  # the last inference's duration (milliseconds, perf_counter)

    def as_tuple(self) -> tuple[tuple[str, int], ...]:
        return tuple((k, int(v)) for k, v in vars(self).items() if k != "last_ms")


class VisionWorker(Device):
    """One classifier, one thread; requests from scale and camera, verdicts to ``post``.

    ``classifier``: a loaded ``models.runtime.Classifier``, or ``None`` when it could not be
    loaded (then ``problem`` says why, and the worker only reports it). ``close()`` is
    idempotent (``drivers.base.Device``) and closes the classifier."""

    def __init__(
        self,
        classifier,
        post: Callable[[object], object],
        *,
        clock: Clock | None = None,
        buffer: FrameBuffer | None = None,
        top_k: int = 5,
        source: str = "camera:basket",
        min_delta_g: float = 6.0,
        max_frame_age_ms: int = 1500,
        camera_grace_ms: int = 1000,
        problem: str = "",
    ) -> None:
        super().__init__()
        self.classifier = classifier
        self.post = post
        self.clock = clock or SystemClock()
        self.buffer = buffer or FrameBuffer()
        if self.buffer.on_rest is None:
            self.buffer.on_rest = self.camera_rest
        self.top_k = top_k
        self.source = source
        self.min_delta_g = min_delta_g
        self.max_frame_age_ms = max_frame_age_ms
        self.camera_grace_ms = camera_grace_ms
        self.problem = problem
        self.counters = VisionCounters()
        self.cameras = 0  # cameras feeding the buffer
        self._pending: _Request | None = None
        self._busy = False
        self._cond = threading.Condition()
        self._thread = self._worker(self._run, "cart-vision", wake=self._wake)
        self._state: tuple = ()
        self.verdicts_posted = threading.Event()  # set after every posted verdict (tests)

    @property
    def active(self) -> bool:
        return self.classifier is not None and not self._closed

    # ---- life ------------------------------------------------------------------------------
    def start(self) -> Self:
        if self.classifier is None:
            self._status("error", self.problem or "no classifier")
            return self
        if not self._thread.started and not self.closed:
            self._status("connected", self._describe())
            self._thread.start()
        return self

    def _describe(self) -> str:
        c = self.classifier
        kind = "int8" if getattr(c, "quantized", False) else "float"
        name = Path(getattr(c, "model_path", "model")).name
        threads = getattr(c, "threads", 1)
        cams = "" if self.cameras else "; no camera"
        return f"{name} ({kind}, {threads} thread{'s' if threads != 1 else ''}){cams}"

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _close(self) -> None:
        self._thread.stop()  # the thread sees ``closed`` once woken
        if self.classifier is not None:
            try:
                self.classifier.close()
            except Exception:
                log.exception("closing the classifier failed")

    # ---- requests (any thread; never block) -------------------------------------------------
    def observe(self, event) -> None:
        """Every device event posted to the runtime passes here (``Runtime.add_tap``)."""
        if not self.active:
            return
        if isinstance(event, WeightSettled):
            if event.delta_g >= self.min_delta_g:
                self.request("placement")
            else:
                self._cancel_camera()
        elif isinstance(event, WeightMoving):
            self._cancel_camera()

    def camera_rest(self, t_ms: int) -> None:
        """The camera saw something come to rest: a verdict unless the scale takes over."""
        if self.active:
            self.request("camera", delay_ms=self.camera_grace_ms)

    def request(self, reason: str, delay_ms: int = 0) -> None:
        now = self.clock.now_ms()
        with self._cond:
            if self._closed:
                return
            self.counters.requests += 1
            waiting = self._pending
            if waiting is not None:
                if waiting.reason == "placement" and reason == "camera":
                    self.counters.cancelled += 1
                    return  # a placement is worth more than a view of the same moment
                if waiting.reason == "camera" and reason == "placement":
                    self.counters.cancelled += 1  # the scale took over the camera's request
                else:
                    self.counters.dropped += 1
            self._pending = _Request(now, now + delay_ms, reason)
            self._cond.notify_all()

    def _cancel_camera(self) -> None:
        with self._cond:
            if self._pending is not None and self._pending.reason == "camera":
                self._pending = None
                self.counters.cancelled += 1

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """True once no request waits and none is running (tests)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    # ---- the worker thread -------------------------------------------------------------------
    def _take(self) -> _Request | None:
        with self._cond:
            while not self._closed:
                req = self._pending
                if req is None:
                    self._cond.wait()
                    continue
                wait_ms = req.due_ms - self.clock.now_ms()
                if wait_ms > 0:
                    # the injected clock may be simulated: poll it, never sleep past a cancel
                    self._cond.wait(min(wait_ms, 100) / 1000)
                    continue
                self._pending = None
                self._busy = True
                return req
        return None

    def _run(self) -> None:
        while True:
            req = self._take()
            if req is None:
                return
            try:
                self._serve(req)
            except Exception as exc:  # a bad frame or a model error: counted, shown, go on
                self.counters.errors += 1
                log.exception("classifier failed")
                self._status("error", f"{type(exc).__name__}: {exc}")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _serve(self, req: _Request) -> None:
        import time

        import cv2

        frame = self.buffer.best(req.t_ms - self.max_frame_age_ms)
        if frame is None:
            self.counters.stale += 1
            self._status("error", "no recent camera frame")
            return
        rgb = cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
        t0 = time.perf_counter()
        top = self.classifier.classify(rgb, self.top_k)
        self.counters.last_ms = (time.perf_counter() - t0) * 1000
        verdict = VisionVerdict(
            t_ms=self.clock.now_ms(),
            top=tuple((str(label), round(float(p), 4)) for label, p in top),
            source=self.source,
        )
        self.counters.verdicts += 1
        self.post(verdict)
        self._status("connected", self._describe())
        self.verdicts_posted.set()

    def _status(self, state: str, detail: str) -> None:
        key = (state, detail, self.counters.as_tuple())
        if key == self._state:
            return
        self._state = key
        try:
            self.post(
                DeviceStatus(self.clock.now_ms(), DEVICE, state, detail, self.counters.as_tuple())
            )
        except Exception:
            log.exception("posting the classifier's status failed")


def load_worker(
    post,
    *,
    clock: Clock | None = None,
    settings=None,
    source="camera:basket",
    buffer: FrameBuffer | None = None,
    model: str | Path | None = None,
) -> VisionWorker:
    """A worker with the shipped (or ``settings``') classifier, or a worker that reports why
    there is none. Never raises for a missing or broken model."""
    classifier, problem = None, ""
    top_k = 5
    try:
        from models.runtime import Classifier, ClassifierError
    except ImportError as exc:
        problem = f"classifier unavailable: {exc}"
    else:
        kwargs = {}
        if settings is not None:
            kwargs = {
                "model": settings.model,
                "labels": settings.labels,
                "threads": settings.threads,
            }
            top_k = settings.top_k
        if model is not None:
            kwargs["model"] = model
        try:
            classifier = Classifier(**kwargs)
        except (ClassifierError, OSError, ValueError) as exc:
            problem = f"vision off: {exc}"
            log.warning("classifier not loaded: %s", exc)
    return VisionWorker(
        classifier, post, clock=clock, buffer=buffer, top_k=top_k, source=source, problem=problem
    )


# ---- photos of the classes (the demo's simulated camera, tests) -----------------------------


def class_photos(root: Path | None = None, splits=("val", "train")) -> dict[str, list[Path]]:
    """Photos of the Grocery Store dataset per fine class name (the folder a photo is in), from
    the first of ``splits`` that has the class. Empty when the data is absent."""
    root = Path(root) if root is not None else grocery_store_dir()
    out: dict[str, list[Path]] = {}
    for split in splits:
        listing = root / f"{split}.txt"
        if not listing.is_file():
            continue
        found: dict[str, list[Path]] = {}
        for line in listing.read_text(encoding="utf-8").splitlines():
            rel = line.split(",", 1)[0].strip()
            if rel:
                found.setdefault(Path(rel).parent.name, []).append(root / rel)
        for label, paths in found.items():
            out.setdefault(label, paths)
    return out


def attach(runtime, worker: VisionWorker) -> VisionWorker:
    """Wire a worker to a runtime: verdicts and status are posted to it, every device event it
    sees is observed, and it is closed with the runtime. Call ``worker.start()`` after."""
    worker.post = runtime.post
    runtime.add_source(worker)
    if worker.active:
        runtime.add_tap(worker.observe)
    return worker
