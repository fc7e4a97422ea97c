"""The store's staff credentials: ``staff.toml`` in the store folder.

::

    [[staff]]
    id = "s1"                      # what the staff member types (or the screen sends) to log in
    name = "Anna Berg"             # shown in audits and `cart staff list`; optional
    hash = "$argon2id$v=19$m=19456,t=2,p=1$...$..."   # `cart staff add s1` writes it

One ``[[staff]]`` per person: an id (``[a-z0-9][a-z0-9_.-]*``, at most 64 characters) and the
argon2id hash of their 4 to 12 digit PIN (``cart.store.secrets``). The id ``"*"`` is a PIN shared
by every staff member (the demo store's: any id logs in with it; one lock-out for all); it must be
the only entry. A hash below the documented floor is a load error (``secrets.weakness``).

The file is read with the store (``cart.store.loading.load_store``) but it is NOT one of the
store files the basket journal keeps a copy of (``Store.sources`` holds only ``store.toml`` and
``catalog.toml``): no staff hash ever reaches a journal. ``write_staff`` writes it atomically,
mode 0600. ``production_problems`` is what ``cart run`` checks before a production start.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cart.store.secrets import DEMO_PIN, hash_pin, verify_pin, weakness

STAFF_FILE = "staff.toml"
SHARED = "*"  # the id of a PIN shared by all staff
STAFF_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_KEYS = {"id", "name", "hash"}


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    name: str
    hash: str  # argon2id (or legacy PBKDF2) hash string; never the PIN


def parse_staff(data: bytes) -> tuple[tuple[StaffMember, ...], list[tuple[str, str, str]]]:
    """(members, problems) from the bytes of a staff file; each problem is (entry, field,
    message). Members are returned only when there is no problem."""
    problems: list[tuple[str, str, str]] = []
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return (), [("file", "", f"not UTF-8 text at byte {exc.start}")]
    except tomllib.TOMLDecodeError as exc:
        return (), [("file", "", f"not valid TOML: {exc}")]
    for key in doc:
        if key != "staff":
            problems.append(("file", key, "unknown key (only [[staff]] entries)"))
    raw = doc.get("staff", [])
    if not isinstance(raw, list):
        return (), [*problems, ("staff", "", "must be an array of tables ([[staff]])")]
    members: list[StaffMember] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        sid = entry.get("id") if isinstance(entry, dict) else None
        where = f"staff[{i}] {sid!r}"
        if not isinstance(entry, dict):
            problems.append((where, "", "must be a table"))
            continue
        problems += [(where, k, "unknown key") for k in entry if k not in _KEYS]
        name, h = entry.get("name", ""), entry.get("hash")
        if not isinstance(sid, str) or not (sid == SHARED or STAFF_ID_RE.match(sid)):
            problems.append((where, "id", f"must match {STAFF_ID_RE.pattern} (or be {SHARED!r})"))
        elif sid in seen:
            problems.append((where, "id", "listed twice"))
        if not isinstance(name, str) or len(name) > 80 or not name.isprintable():
            problems.append((where, "name", "must be printable text of at most 80 characters"))
        why = weakness(h) if isinstance(h, str) else "missing"
        if why:
            problems.append((where, "hash", why))
        if isinstance(sid, str):
            seen.add(sid)
        if isinstance(sid, str) and isinstance(name, str) and isinstance(h, str) and not why:
            members.append(StaffMember(sid, name, h))
    if SHARED in seen and len(raw) > 1:
        problems.append(("staff", "id", f"{SHARED!r} (a PIN shared by all) must be the only entry"))
    return (tuple(members) if not problems else ()), problems


def read_staff(folder: str | Path) -> tuple[StaffMember, ...]:
    """The members of ``folder``'s staff file (none when there is no file). ValueError with
    every problem when it does not validate."""
    path = Path(folder) / STAFF_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ()
    members, problems = parse_staff(data)
    if problems:
        raise ValueError(
            "; ".join(f"{path}: {e}{': ' + f if f else ''}: {m}" for e, f, m in problems)
        )
    return members


def render_staff(members: tuple[StaffMember, ...] | list[StaffMember]) -> str:
    import tomli_w

    head = (
        "# Staff credentials (cart.store.staff): one [[staff]] per person, the argon2id hash of\n"
        "# their PIN. Written by `cart staff add ID`; owner-only (0600). Never journaled.\n\n"
    )
    body = tomli_w.dumps({"staff": [{"id": m.id, "name": m.name, "hash": m.hash} for m in members]})
    return head + body


def write_staff(folder: str | Path, members) -> Path:
    """Write ``folder/staff.toml`` atomically (temp file, fsync, rename), mode 0600."""
    folder = Path(folder)
    path = folder / STAFF_FILE
    text = render_staff(list(members))
    fd, tmp = tempfile.mkstemp(prefix=".staff.", suffix=".toml", dir=folder)  # born 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def add_staff(folder: str | Path, staff_id: str, pin: str, name: str = "") -> tuple[Path, bool]:
    """Add ``staff_id`` (or give them a new PIN); returns (the file, whether they were new)."""
    if staff_id != SHARED and not STAFF_ID_RE.match(staff_id):
        raise ValueError(f"a staff id must match {STAFF_ID_RE.pattern}")
    members = list(read_staff(folder))
    new = StaffMember(staff_id, name, hash_pin(pin))
    if staff_id == SHARED and any(m.id != SHARED for m in members):
        raise ValueError(f"{SHARED!r} (a PIN shared by all) must be the only entry")
    if staff_id != SHARED and any(m.id == SHARED for m in members):
        raise ValueError(f"the file has a shared PIN ({SHARED!r}); remove it to add named staff")
    for i, m in enumerate(members):
        if m.id == staff_id:
            members[i] = StaffMember(staff_id, name or m.name, new.hash)
            return write_staff(folder, members), False
    members.append(new)
    return write_staff(folder, members), True


def production_problems(store) -> list[str]:
    """Why ``store`` must not run as a production cart (empty when it may): the demo store's
    staff file, a staff secret that is the documented demo PIN, a legacy ``staff_pin_hash`` in
    ``store.toml`` (that file is copied into every basket journal), or no staff at all."""
    from cart.store.loading import DEMO_STORE

    out: list[str] = []
    folder = Path(store.path)
    try:
        same = folder.resolve() == DEMO_STORE.resolve()
    except OSError:
        same = False
    demo_hashes: set[str] = set()
    with contextlib.suppress(OSError, ValueError):
        demo_hashes = {m.hash for m in read_staff(DEMO_STORE)}
    if same or any(m.hash in demo_hashes for m in store.staff):
        out.append(
            f"{folder / STAFF_FILE} is the demo store's staff file: give each staff member "
            "their own PIN with `cart staff add ID --store FOLDER`"
        )
    for m in store.staff:
        if m.hash not in demo_hashes and verify_pin(m.hash, DEMO_PIN):
            out.append(
                f"staff {m.id!r} has the demo PIN {DEMO_PIN}: give them another with "
                f"`cart staff add {m.id} --store FOLDER`"
            )
    if store.config.staff_pin_hash:
        out.append(
            "store.toml has staff_pin_hash, and store.toml is copied into every basket journal: "
            f"move staff PINs to {STAFF_FILE} with `cart staff add ID` and delete that line"
        )
    elif not store.staff:
        out.append(f"{folder / STAFF_FILE} lists no staff: add them with `cart staff add ID`")
    return out
