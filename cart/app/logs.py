"""The cart's log: every library's console output goes there, never over the shopper's screen.

Textual draws the screen on the process's standard error (``sys.__stderr__``, file descriptor
2), and so does every native library that prints: OpenCV's ``[ WARN:0@0.015] ... can't open
camera`` lines when the camera is missing (every reconnect, every 2 s), LiteRT's delegate
messages, a C library's assertion text. :func:`route_console` therefore

- moves the terminal to a new descriptor and makes ``sys.__stderr__``/``sys.stderr`` write there
  (Textual, which reads ``sys.__stderr__`` when the app is built, draws on it as before), and
- points descriptor 2 at a pipe whose lines a reader thread logs under the ``native`` logger,
  so whatever a library writes to ``stderr`` in C or Python lands in the cart's log.

:func:`setup` adds the rest: Python logging to a file (``--log FILE``) or to the system journal
(``journal``: the ``/dev/log`` socket that journald reads, tagged ``cart``), ``warnings``
captured into logging, and OpenCV's own level (``OPENCV_LOG_LEVEL``, default ERROR, then
``cv2.setLogLevel``). Device problems reach the shopper only as ``DeviceStatus`` events, which
the status bar shows. Standard library only.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import logging.handlers
import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

JOURNAL = "journal"
SYSLOG_SOCKET = "/dev/log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OPENCV_LEVELS = {"SILENT": 0, "FATAL": 1, "ERROR": 2, "WARNING": 3, "INFO": 4, "DEBUG": 5}

native_log = logging.getLogger("native")


@dataclass
class Console:
    """The terminal's descriptor after :func:`route_console`, and the pipe's reader thread."""

    terminal_fd: int
    reader: threading.Thread
    lines: int = 0  # lines read from descriptor 2 and logged

    def drain(self, timeout: float = 2.0) -> None:
        """At exit: point descriptor 2 back at the terminal and log what the pipe still holds."""
        with contextlib.suppress(OSError):
            os.dup2(self.terminal_fd, 2)  # the pipe's last writer closes: the reader sees its end
        self.reader.join(timeout)


def log_handler(target: str | os.PathLike) -> logging.Handler:
    """A handler for ``journal`` (journald's syslog socket) or a file (its folder is made)."""
    if str(target) == JOURNAL:
        handler: logging.Handler = logging.handlers.SysLogHandler(
            address=SYSLOG_SOCKET, facility=logging.handlers.SysLogHandler.LOG_DAEMON
        )
        handler.ident = "cart: "
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        return handler
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler


def route_console() -> Console | None:
    """Descriptor 2 into the log, the terminal kept for Textual (see the module docstring).
    Once per process; None when already done."""
    if getattr(route_console, "done", None) is not None:
        return None
    sys.stderr.flush()
    terminal_fd = os.dup(2)
    os.set_inheritable(terminal_fd, False)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)  # descriptor 2 stays inheritable: child processes log here too
    os.close(write_fd)
    terminal = io.TextIOWrapper(
        io.FileIO(terminal_fd, "w", closefd=False), encoding="utf-8", line_buffering=True
    )
    sys.__stderr__ = sys.stderr = terminal
    reader = threading.Thread(target=_pump, args=(read_fd,), name="cart-stderr", daemon=True)
    console = Console(terminal_fd, reader)
    route_console.done = console  # type: ignore[attr-defined]
    reader.start()
    atexit.register(console.drain)
    return console


def _pump(read_fd: int) -> None:
    """Log each line written to descriptor 2 (never blocks the writers for long: it only logs)."""
    console = getattr(route_console, "done", None)
    with open(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(4096):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    native_log.warning("%s", text)
                    if console is not None:
                        console.lines += 1


def opencv_level(env: dict[str, str] | os._Environ[str] | None = None) -> int:
    """``OPENCV_LOG_LEVEL`` (a name, default ERROR) as a cv2 log level number."""
    env = os.environ if env is None else env
    name = env.get("OPENCV_LOG_LEVEL", "ERROR").upper()
    return OPENCV_LEVELS.get(name, OPENCV_LEVELS["ERROR"])


def quiet_opencv() -> None:
    """OpenCV logs at ``OPENCV_LOG_LEVEL`` (default ERROR): set before cv2 is imported, and on
    cv2 itself when it already is."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setLogLevel(opencv_level())


def setup(target: str | os.PathLike, *, level: int = logging.INFO, console: bool = True):
    """The cart's logging: Python logging, warnings and (with ``console``) descriptor 2 all to
    ``target`` (a file or ``journal``). Returns the :class:`Console` or None."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    try:
        root.addHandler(log_handler(target))
    except OSError as exc:  # no journal socket, an unwritable folder: a file in the temp folder
        fallback = Path(tempfile.gettempdir()) / "cart.log"  # never the terminal: the screen
        try:
            root.addHandler(log_handler(fallback))
        except OSError:
            root.addHandler(logging.NullHandler())
        root.warning("cannot log to %s (%s); logging to %s", target, exc, fallback)
    root.setLevel(level)
    logging.captureWarnings(True)
    quiet_opencv()
    return route_console() if console else None
