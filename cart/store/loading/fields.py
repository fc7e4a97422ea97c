"""What a store file's problems are (``Problem``, ``CatalogError``) and how its tables are
read: TOML parsing and field access that records a problem instead of raising (``_Entry``),
the shared patterns and limits, GTIN validation."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_MAX_MONEY = 10**9  # minor units; no single price on a cart is above this
_MAX_GRAMS = 100_000


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a store file."""

    file: str
    entry: str  # e.g. "product[3] 'banana'", "store", "tax.food"
    field: str  # e.g. "price_per_kg"; "" when the whole entry is wrong
    message: str

    def __str__(self) -> str:
        where = f"{self.entry}: {self.field}" if self.field else self.entry
        return f"{self.file}: {where}: {self.message}"


class CatalogError(ValueError):
    """A store folder, store config or catalogue that does not validate. ``problems`` lists all."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        super().__init__(f"{len(lines)} problem(s):\n" + "\n".join(lines))


def _parse_toml(data: bytes, name: str, problems: list[Problem]) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, "file", "", f"not UTF-8 text at byte {exc.start}"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(name, "file", "", f"not valid TOML: {exc}"))
    except RecursionError:
        problems.append(Problem(name, "file", "", "not readable TOML: nested too deeply"))
    return {}


class _Entry:
    """Field access for one table that records problems instead of raising."""

    def __init__(self, data: Any, file: str, entry: str, problems: list[Problem], allowed):
        self.file, self.entry, self.problems = file, entry, problems
        if not isinstance(data, dict):
            self.fail("", f"must be a table, got {type(data).__name__}")
            data = {}
        self.data = data
        for key in data:
            if key not in allowed:
                self.fail(key, "unknown key")

    def fail(self, fld: str, msg: str) -> None:
        self.problems.append(Problem(self.file, self.entry, fld, msg))

    def get(self, key, kind, default=..., *, check=None, what=""):
        if key not in self.data:
            if default is ...:
                self.fail(key, "missing")
                return None
            return default
        v = self.data[key]
        ok = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
        if not ok:
            name = what or getattr(kind, "__name__", str(kind))
            self.fail(key, f"must be {name}, got {v!r}")
            return None
        if check is not None:
            msg = check(v)
            if msg:
                self.fail(key, msg)
                return None
        return v

    def text(self, key, default=..., *, pattern=None, max_len=120):
        def check(v):
            if not v.strip():
                return "must not be empty"
            if len(v) > max_len:
                return f"longer than {max_len} characters"
            if any(ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in v):
                return "contains control characters"
            if pattern is not None and not pattern.match(v):
                return f"{v!r} does not match {pattern.pattern}"
            return ""

        return self.get(key, str, default, check=check, what="a string")

    def integer(self, key, default=..., *, lo=0, hi=_MAX_MONEY):
        def check(v):
            if v < lo:
                return f"must be >= {lo}, got {v}"
            if v > hi:
                return f"must be <= {hi}, got {v}"
            return ""

        return self.get(key, int, default, check=check, what="an integer")


def _gtin14(code: Any) -> tuple[str | None, str]:
    """Validate a GTIN with biip; (GTIN-14, "") or (None, reason)."""
    from biip import ParseError
    from biip.gtin import Gtin

    if not isinstance(code, str) or not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return None, f"{code!r} is not a GTIN (8, 12, 13 or 14 digits)"
    try:
        return Gtin.parse(code).as_gtin_14(), ""
    except ParseError as exc:
        return None, str(exc)
