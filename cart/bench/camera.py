"""``cart bench camera``: the camera pipeline's frames/s on one core at 640x480."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2

from cart.common.paths import grocery_store_dir
from drivers.camera import CameraConfig, CameraReader


def bench_camera(frames: int = 150, photos: str | None = None) -> dict:
    """Frames per second of :class:`CameraReader` on one core at 640x480 (see ``cart bench
    camera``); zxing-cpp decoding every frame is measured alongside as the peer."""
    from cart.sim.camera import HARD, CameraSim, Conditions, grocery_photos
    from drivers.decode import zxing_decode

    cv2.setNumThreads(1)
    root = Path(photos) if photos else grocery_store_dir()
    listed = grocery_photos(root)
    photo = listed[len(listed) // 2] if listed else None
    still = CameraSim(photo, conditions=Conditions(noise=2.0), seed=1)
    hard = CameraSim(photo, conditions=HARD, seed=2)
    scenarios = {
        # a code lying in view: every frame is decoded (the worst steady case)
        "code_in_view": still.frames(1, rest=frames - 1),
        # the empty basket with sensor noise: gated
        "no_code": still.empty(frames),
        # an item entering under hard conditions, then resting
        "item_entering_hard": (hard.frames(15, rest=15) * (frames // 30 + 1))[:frames],
    }
    result: dict[str, Any] = {
        "bench": "camera",
        "width": 640,
        "height": 480,
        "opencv_threads": cv2.getNumThreads(),
        "frames": frames,
        "photo": str(photo) if photo else None,
    }
    for name, frame_list in scenarios.items():
        reader = CameraReader(CameraConfig(source="bench"))
        scans = zx = 0
        dt = zdt = 0.0
        for i, f in enumerate(frame_list):  # interleaved: both see the same machine load
            t0 = time.perf_counter()
            scans += len(reader.process(f, i * 33))
            t1 = time.perf_counter()
            zx += bool(zxing_decode(f))
            dt += t1 - t0
            zdt += time.perf_counter() - t1
        result[name] = {
            "fps": round(len(frame_list) / dt, 1),
            "decoded_frames": reader.counters.decoded_frames,
            "scans": scans,
            "zxing_every_frame_fps": round(len(frame_list) / zdt, 1),
            "zxing_frames_with_code": zx,
        }
    result["fps_code_in_view"] = result["code_in_view"]["fps"]
    result["fps_no_code"] = result["no_code"]["fps"]
    return result
