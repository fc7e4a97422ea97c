"""Console output of the libraries goes to the cart's log, never to the terminal Textual draws
on: a child process opens a camera on /dev/video99 (no such device) the way ``cart run`` sets
itself up, and its stderr must stay empty while the log gets the lines."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys, warnings, logging
    from cart.app import logs
    console = logs.setup(sys.argv[1])
    from drivers.camera import CameraConfig, FrameSource
    try:
        FrameSource(CameraConfig(source="/dev/video99"))
    except OSError as exc:
        logging.getLogger("drivers.camera").warning("camera: %s", exc)
    warnings.warn("a library's warning")
    import os
    os.write(2, b"raw bytes on descriptor 2\\n")
    print("the screen", file=sys.__stderr__)  # what Textual draws goes to the terminal
    sys.__stderr__.flush()
    """
)


def run_child(tmp_path, **env):
    log = tmp_path / "cart.log"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(log)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr, log.read_text()


@pytest.mark.slow
def test_missing_camera_writes_nothing_on_the_terminal(tmp_path):
    stderr, log = run_child(tmp_path)
    assert stderr == "the screen\n"  # only what the screen itself wrote
    assert "camera: /dev/video99: cannot open capture" in log
    assert "a library's warning" in log  # warnings captured
    assert "native: raw bytes on descriptor 2" in log  # C-level stderr routed
    assert "[ WARN" not in log  # OpenCV at its default ERROR level says nothing here


@pytest.mark.slow
def test_opencv_messages_reach_the_log_not_the_terminal(tmp_path):
    """With OpenCV made talkative, its own C++ warnings land in the log."""
    stderr, log = run_child(tmp_path, OPENCV_LOG_LEVEL="WARNING")
    assert stderr == "the screen\n"
    assert "native: [ WARN" in log and "VIDEOIO" in log


def test_opencv_level_names():
    from cart.app.logs import opencv_level

    assert opencv_level({}) == 2
    assert opencv_level({"OPENCV_LOG_LEVEL": "silent"}) == 0
    assert opencv_level({"OPENCV_LOG_LEVEL": "bogus"}) == 2
