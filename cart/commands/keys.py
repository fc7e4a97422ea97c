"""``cart keys init`` (make this cart's Ed25519 key pair) and ``cart keys show`` (print the
line the store adds to its ``carts.toml``). Key folder: ``--dir``, else the profile's
``[keys] dir``, else ``$CART_KEYS``, else ``var/keys`` (``cart.common.keys``)."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("keys", help="this cart's signing key for exit codes (init, show)")
    ks = p.add_subparsers(dest="keys_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])
    for name, helptext in (
        ("init", "make the cart's key pair (private key mode 0600)"),
        ("show", "print the cart's public key as a carts.toml line"),
    ):
        q = ks.add_parser(name, help=helptext)
        q.add_argument(
            "--dir",
            default=None,
            help="key folder (default: the profile's [keys] dir, $CART_KEYS, or var/keys)",
        )
        q.add_argument("--profile", default=None, help="hardware profile whose [keys] dir to use")
        if name == "init":
            q.add_argument(
                "--cart",
                default=None,
                help="the cart's id (default: cart- and 8 hex digits of its key)",
            )
            q.add_argument(
                "--force",
                action="store_true",
                help="replace an existing key pair (the store must then register "
                "the new public key and remove the old one)",
            )
            q.set_defaults(func=_init)
        else:
            q.set_defaults(func=_show)


def _folder(args):
    from cart.common.keys import keys_dir

    if args.dir:
        return keys_dir(args.dir)
    if args.profile:
        from cart.app.hardware import ProfileError, keys_folder, load_profile

        try:
            return keys_folder(args.profile, load_profile(args.profile))
        except ProfileError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return None
    return keys_dir()


def _init(args) -> int:
    from cart.common.keys import KeyFileError, carts_line, init_keys

    folder = _folder(args)
    if folder is None:
        return 2
    try:
        key = init_keys(folder, args.cart, force=args.force)
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"cart {key.cart_id}: key pair in {folder} (cart.key, mode 0600; cart.pub)")
    print("add this line under [carts] in the store's carts.toml:")
    print(carts_line(key))
    return 0


def _show(args) -> int:
    from cart.common.keys import KeyFileError, carts_line, load_key

    folder = _folder(args)
    if folder is None:
        return 2
    try:
        key = load_key(folder)
    except KeyFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(carts_line(key))
    return 0
