"""The journal's errors, and storage errors as sentences naming the file."""

from __future__ import annotations


class JournalError(RuntimeError):
    """The journal cannot do what was asked (closed, unknown session, bad row, disk error)."""


class JournalDamaged(JournalError):
    """What the journal holds is not what it acknowledged (the message says what and where)."""


def storage_error(path: str, exc: BaseException) -> str:
    """An SQLite or OS error as a sentence naming the file."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "malformed" in low or "corrupt" in low or isinstance(exc, UnicodeDecodeError):
        why = f"the file is damaged (SQLite: {text})"
    elif "not a database" in low:
        why = f"it is not a journal: the file is not an SQLite database (SQLite: {text})"
    elif "disk is full" in low or "disk full" in low or getattr(exc, "errno", None) == 28:
        why = f"the disk is full (SQLite: {text})"
    elif "readonly" in low or "read-only" in low:
        why = f"the file cannot be written (SQLite: {text})"
    elif "unable to open" in low:
        why = f"the file cannot be opened (SQLite: {text})"
    elif "disk i/o" in low or isinstance(exc, OSError):
        why = f"the storage failed (I/O error: {text})"
    else:
        why = f"SQLite: {text}"
    return f"{path}: {why}"
