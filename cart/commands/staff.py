"""``cart staff add ID`` (give a staff member a PIN: the argon2id hash goes to the store's
``staff.toml``, mode 0600) and ``cart staff list``. The store folder: ``--store``, else the
profile's ``[store] path`` (``--profile``). The PIN is read twice without echo (getpass), or once
from standard input with ``--pin-stdin`` (scripts); it is never printed, logged or journaled."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("staff", help="staff PINs of a store (add, list)")
    ss = p.add_subparsers(dest="staff_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])
    for name, helptext in (
        ("add", "add a staff member, or give one a new PIN (staff.toml, mode 0600)"),
        ("list", "the staff ids and names of a store (never their hashes)"),
    ):
        q = ss.add_parser(name, help=helptext)
        q.add_argument("--store", default=None, help="store folder")
        q.add_argument("--profile", default=None, help="hardware profile whose [store] path to use")
        if name == "add":
            q.add_argument("id", help="staff id ([a-z0-9][a-z0-9_.-]*)")
            q.add_argument("--name", default="", help="the staff member's name")
            q.add_argument(
                "--pin-stdin", action="store_true", help="read the PIN from standard input"
            )
            q.set_defaults(func=_add)
        else:
            q.set_defaults(func=_list)


def _folder(args):
    from pathlib import Path

    if args.store:
        return Path(args.store)
    if args.profile:
        from cart.app.hardware import ProfileError, load_profile

        try:
            doc = load_profile(args.profile)
        except ProfileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
        path = doc.get("store", {}).get("path") if isinstance(doc.get("store"), dict) else None
        if isinstance(path, str) and path:
            return Path(path)
        print(f"error: {args.profile}: no [store] path", file=sys.stderr)
        return None
    print("error: which store? give --store FOLDER or --profile PROFILE", file=sys.stderr)
    return None


def _read_pin(args) -> str | None:
    if args.pin_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    else:
        import getpass

        try:
            pin = getpass.getpass("New staff PIN (4 to 12 digits): ")
            again = getpass.getpass("The same PIN again: ")
        except EOFError:
            print("error: no PIN given", file=sys.stderr)
            return None
        if pin != again:
            print("error: the two PINs differ; nothing written", file=sys.stderr)
            return None
    return pin


def _add(args) -> int:
    from cart.store.secrets import DEMO_PIN, check_pin_text
    from cart.store.staff import add_staff

    folder = _folder(args)
    if folder is None:
        return 2
    if not folder.is_dir():
        print(f"error: {folder}: not a store folder", file=sys.stderr)
        return 2
    pin = _read_pin(args)
    if pin is None:
        return 1
    try:
        check_pin_text(pin)
    except ValueError as exc:
        print(f"error: {exc}; nothing written", file=sys.stderr)
        return 1
    if pin == DEMO_PIN:
        print(
            f"error: {DEMO_PIN} is the documented demo PIN (a production cart refuses it); "
            "choose another; nothing written",
            file=sys.stderr,
        )
        return 1
    try:
        path, new = add_staff(folder, args.id, pin, args.name)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}; nothing written", file=sys.stderr)
        return 1
    print(f"staff {args.id}: {'added to' if new else 'new PIN in'} {path} (mode 0600)")
    return 0


def _list(args) -> int:
    from cart.store.staff import read_staff

    folder = _folder(args)
    if folder is None:
        return 2
    try:
        members = read_staff(folder)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for m in members:
        print(f"{m.id}\t{m.name}")
    if not members:
        print(f"{folder}: no staff.toml, or no staff in it", file=sys.stderr)
    return 0
