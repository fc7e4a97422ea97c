"""Files only the cart's user may read: the basket journal (and its SQLite -wal and -shm files),
logs. Created mode 0600 whatever the umask; one found readable by others is narrowed to 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY = 0o600


def private_file(path: str | Path) -> Path:
    """Make sure ``path`` exists and is owner-only (0600): created so (``O_CREAT`` with mode
    0600: the file is never readable by others, not even for a moment), or, when it is already
    there and others may read or write it, narrowed with ``chmod``. Returns the path."""
    p = Path(path)
    fd = os.open(
        p, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0), OWNER_ONLY
    )
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, OWNER_ONLY)
    finally:
        os.close(fd)
    return p


def narrow(path: str | Path) -> None:
    """Narrow an existing file to owner-only (0600); a missing one is fine."""
    try:
        mode = stat.S_IMODE(os.stat(path, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, OWNER_ONLY, follow_symlinks=False)
