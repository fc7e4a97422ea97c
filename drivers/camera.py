"""Basket camera barcode reader.

Frames come from OpenCV capture (a V4L2 index such as ``0`` or a path such as ``/dev/video0``),
a video file, or a folder of images replayed in name order. Layers:

* :class:`CameraReader` - thread-free: ``process(frame, t_ms) -> [Scan]``. Cheap motion gating
  (a 80x60 grey thumbnail compared with the previous one) decides whether a frame is worth
  decoding; while nothing moves and no code is in view only every ``idle_decode_every``-th frame
  is decoded, so an idle basket costs little. A code is reported once and again only after it
  has been out of sight for ``duplicate_window_ms`` (duplicate suppression across frames), and
  only once it has been read in ``confirm_frames`` frames within ``confirm_window_ms``: a
  misread (a wrong code that still passes its check digit) seldom repeats in the next frame.
* :class:`FrameSource` - opens a capture, file or folder; ``read()`` gives a BGR frame or
  ``None`` at the end.
* :class:`Camera` - the device: a thread reading a source, reopening it with backoff when it
  fails, ``Scan`` and ``DeviceStatus`` events out, idempotent ``close()``, context manager.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cart.common.clock import Clock, MonotonicClock, SystemClock
from cart.common.events import DeviceStatus, Scan
from cart.common.profile import named_tables, reject_unknown_keys
from drivers.base import EndOfStream, ReconnectingDevice
from drivers.decode import RETAIL, Decoder

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".pgm", ".ppm"}


class CameraConfigError(ValueError):
    """A ``[camera.*]`` profile section is invalid."""


@dataclass(frozen=True)
class CameraConfig:
    """Settings of one camera (``[camera.NAME]`` in a hardware profile)."""

    name: str = "basket"
    source: str = "/dev/video0"  # V4L2 index ("0") or path, a video file, or an image folder
    width: int = 640
    height: int = 480
    fps: int = 30
    motion_threshold: float = 3.0  # mean absolute grey change of the thumbnail that is motion
    idle_decode_every: int = 15  # with no motion and no code in view, decode one frame in N
    duplicate_window_ms: int = 2000  # a code out of sight this long may be reported again
    confirm_frames: int = 2  # a code must be read in this many frames before it is reported
    confirm_window_ms: int = 700  # ... all within this window (a misread seldom repeats)
    extra_passes: tuple[str, ...] = ("clahe",)  # decode passes after the first (drivers.decode)
    loop: bool = False  # replay a file or folder forever (simulation)
    reconnect_min_ms: int = 200
    reconnect_max_ms: int = 2000

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.name or ""):
            raise CameraConfigError(f"camera name {self.name!r}: use letters, digits, _ or -")
        if not isinstance(self.source, str) or not self.source:
            raise CameraConfigError(f"camera {self.name}: source must be a non-empty string")
        for key in (
            "width",
            "height",
            "fps",
            "idle_decode_every",
            "reconnect_min_ms",
            "reconnect_max_ms",
            "confirm_frames",
            "confirm_window_ms",
        ):
            v = getattr(self, key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise CameraConfigError(f"camera {self.name}: {key} must be an integer >= 1")
        if not isinstance(self.duplicate_window_ms, int) or self.duplicate_window_ms < 0:
            raise CameraConfigError(f"camera {self.name}: duplicate_window_ms must be >= 0")
        if not isinstance(self.motion_threshold, int | float) or self.motion_threshold < 0:
            raise CameraConfigError(f"camera {self.name}: motion_threshold must be >= 0")
        if self.reconnect_min_ms > self.reconnect_max_ms:
            raise CameraConfigError(f"camera {self.name}: reconnect_min_ms > reconnect_max_ms")
        object.__setattr__(self, "extra_passes", tuple(self.extra_passes))
        try:
            Decoder(passes=self.extra_passes)
        except ValueError as exc:
            raise CameraConfigError(f"camera {self.name}: {exc}") from None

    @classmethod
    def from_profile(cls, name: str, section: Mapping[str, Any]) -> CameraConfig:
        known = {f for f in cls.__dataclass_fields__ if f != "name"}
        reject_unknown_keys(f"camera.{name}", section, known, CameraConfigError)
        return cls(name=name, **dict(section))

    @property
    def device(self) -> str:
        return f"camera:{self.name}"


def configs_from_profile(profile: Mapping[str, Any]) -> list[CameraConfig]:
    return [
        CameraConfig.from_profile(name, body)
        for name, body in named_tables(profile, "camera", CameraConfigError)
    ]


@dataclass
class CameraCounters:
    frames: int = 0
    decoded_frames: int = 0  # frames that went to the decoder
    gated_frames: int = 0  # frames skipped by motion gating
    scans: int = 0
    duplicates: int = 0  # reads of a code already reported and still in view
    unconfirmed: int = 0  # reads waiting for confirmation in another frame
    bad_frames: int = 0  # frames of the wrong type or shape

    def as_tuple(self) -> tuple[tuple[str, int], ...]:
        return tuple(vars(self).items())


@dataclass
class _Sighting:
    last: int = 0  # t_ms of the latest frame with this code
    hits: list[int] = field(default_factory=list)  # recent frames with it (confirmation)
    reported: bool = False


class CameraReader:
    """Frames in, Scans out. Pure apart from its own state; no threads, no clock."""

    THUMB = (80, 60)

    def __init__(self, config: CameraConfig | None = None, decoder: Decoder | None = None) -> None:
        self.config = config or CameraConfig()
        self.decoder = decoder or Decoder(formats=RETAIL, passes=self.config.extra_passes)
        self.counters = CameraCounters()
        self._prev: np.ndarray | None = None
        self._since_decode = 0
        self._in_view_until = -1  # frame index until which a code counts as still in view
        self._seen: dict[str, _Sighting] = {}

    def motion(self, frame: np.ndarray) -> float:
        """Mean absolute change of the grey thumbnail since the previous frame (0..255)."""
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        thumb = cv2.resize(gray, self.THUMB, interpolation=cv2.INTER_AREA)
        prev, self._prev = self._prev, thumb
        if prev is None:
            return float("inf")
        return float(cv2.norm(thumb, prev, cv2.NORM_L1)) / thumb.size

    def process(self, frame: np.ndarray, t_ms: int) -> list[Scan]:
        c = self.counters
        c.frames += 1
        if (
            not isinstance(frame, np.ndarray)
            or frame.dtype != np.uint8
            or frame.ndim not in (2, 3)
            or frame.size == 0
        ):
            c.bad_frames += 1
            log.warning("%s: dropped a frame that is not a uint8 image", self.config.device)
            return []
        moving = self.motion(frame) > self.config.motion_threshold
        in_view = c.frames <= self._in_view_until
        self._since_decode += 1
        if not (moving or in_view or self._since_decode >= self.config.idle_decode_every):
            c.gated_frames += 1
            return []
        self._since_decode = 0
        c.decoded_frames += 1
        found = self.decoder.decode(frame)
        out = []
        cfg = self.config
        for d in {d.text: d for d in found}.values():  # one sighting per code per frame
            self._in_view_until = c.frames + 3  # keep looking while the code is in view
            seen = self._seen.get(d.text)
            if seen is None or not 0 <= t_ms - seen.last < cfg.duplicate_window_ms:
                seen = self._seen[d.text] = _Sighting()  # new, or back after leaving the view
            seen.last = t_ms
            seen.hits = [t for t in seen.hits if t_ms - t < cfg.confirm_window_ms] + [t_ms]
            if seen.reported:
                c.duplicates += 1
            elif len(seen.hits) >= cfg.confirm_frames:
                seen.reported = True
                c.scans += 1
                out.append(
                    Scan(
                        t_ms=t_ms, code=d.text, symbology=d.symbology_identifier, source=cfg.device
                    )
                )
            else:
                c.unconfirmed += 1
        if len(self._seen) > 64:  # forget codes long out of sight
            horizon = t_ms - cfg.duplicate_window_ms
            self._seen = {k: v for k, v in self._seen.items() if v.last >= horizon}
        return out


class FrameSource:
    """A V4L2 camera, a video file or a folder of images. ``read()`` -> frame or None at end."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self._cap = None
        self._files: list[Path] = []
        self._index = 0
        self.unreadable = 0
        src = config.source
        path = Path(src)
        if path.is_dir():
            self._files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise OSError(f"{src}: no images in folder")
            self.kind = "folder"
        elif src.isdigit() or src.startswith("/dev/"):  # /dev/video0, /dev/cart-camera
            index = int(src) if src.isdigit() else src
            self._cap = cv2.VideoCapture(index, cv2.CAP_V4L2)
            self.kind = "v4l2"
        elif path.is_file():
            self._cap = cv2.VideoCapture(str(path))
            self.kind = "file"
        else:
            raise OSError(f"{src}: no such camera, video file or folder")
        if self._cap is not None:
            if not self._cap.isOpened():
                raise OSError(f"{src}: cannot open capture")
            if self.kind == "v4l2":
                self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, config.width)
                self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height)
                self._cap.set(cv2.CAP_PROP_FPS, config.fps)

    def read(self) -> np.ndarray | None:
        if self._cap is not None:
            ok, frame = self._cap.read()
            if not ok and self.kind == "file" and self.config.loop:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self._cap.read()
            if not ok:
                if self.kind == "v4l2":
                    raise OSError(f"{self.config.source}: capture failed (unplugged?)")
                return None
            return frame
        for _ in range(len(self._files) + 1):
            if self._index >= len(self._files):
                if not self.config.loop:
                    return None
                self._index = 0
            path = self._files[self._index]
            self._index += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                return image
            self.unreadable += 1  # a bad file is skipped, like a dropped frame
            log.warning("%s: %s is not a readable image; skipped", self.config.device, path)
        raise OSError(f"{self.config.source}: no readable image in folder")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class Camera(ReconnectingDevice):
    """A basket camera: capture thread, reconnect with backoff, Scan/DeviceStatus events.

    Replays (file or folder) are paced at ``fps`` and end with ``DeviceStatus(state=
    "disconnected", detail="end of replay")`` unless ``loop`` is set. Events go to
    ``on_event`` (called on the capture thread) or to a queue read with :meth:`get`.
    The thread, the reconnect loop and ``close()`` come from ``drivers.base``.
    """

    open_errors = (OSError,)

    def __init__(
        self,
        config: CameraConfig,
        on_event: Callable | None = None,
        clock: Clock | None = None,
        pace: bool = True,
        start: bool = True,
    ) -> None:
        super().__init__(config.device, config.reconnect_min_ms, config.reconnect_max_ms)
        self.config = config
        self.clock = clock or SystemClock()
        self.reader = CameraReader(config)
        self._on_event = on_event
        self._queue: queue.Queue = queue.Queue()
        self._pace = pace
        self.state = "disconnected"
        self.finished = threading.Event()
        self.errors = 0
        if start:
            self.start()

    def _close(self) -> None:
        self.worker.stop()
        self._status("disconnected", self._closed_detail())

    def get(self, timeout: float | None = None):
        if self._on_event is not None:
            raise RuntimeError("events go to on_event; there is no queue to read")
        return self._queue.get(timeout=timeout)

    def _emit(self, event) -> None:
        if self._on_event is None:
            self._queue.put(event)
            return
        try:
            self._on_event(event)
        except Exception:  # a broken consumer must not stop the camera
            log.exception("%s: event handler failed", self.config.device)

    def _status(self, state: str, detail: str = "") -> None:
        if state == self.state:
            return
        self.state = state
        counters = (*self.reader.counters.as_tuple(), ("errors", self.errors))
        self._emit(
            DeviceStatus(
                t_ms=self.clock.now_ms(),
                device=self.config.device,
                state=state,
                detail=detail,
                counters=counters,
            )
        )

    # -- the steps of the reconnect loop (drivers.base.ReconnectingDevice) ----------------------

    def _run(self) -> None:
        try:
            super()._run()
        finally:
            self.finished.set()

    def _crashed(self, exc: Exception) -> None:
        self.errors += 1
        self._status("error", f"{type(exc).__name__}: {exc}")

    def _open_link(self) -> FrameSource:
        return FrameSource(self.config)

    def _open_failed(self, exc: BaseException) -> None:
        self.errors += 1
        self._status("reconnecting", str(exc))

    def _session(self, source: FrameSource) -> bool:
        """Read and decode until stopped or the source fails; EndOfStream when a replay ends."""
        period = 1.0 / self.config.fps
        tick = MonotonicClock()
        self._status("connected", f"{source.kind} {self.config.source}")
        try:
            while not self.stopping:
                started = tick.now_ms()
                frame = source.read()
                if frame is None:
                    self._status("disconnected", "end of replay")
                    raise EndOfStream
                for scan in self.reader.process(frame, self.clock.now_ms()):
                    self._emit(scan)
                if self._pace and source.kind != "v4l2":
                    rest = period - (tick.now_ms() - started) / 1000
                    if rest > 0:
                        self.worker.wait(rest)
        except (OSError, ValueError, cv2.error) as exc:
            self.errors += 1
            log.warning("%s: %s; reopening", self.config.device, exc)
            self._status("reconnecting", str(exc))
        return True
