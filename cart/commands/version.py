"""``cart version``."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("version", help="print the software version")
    p.set_defaults(func=_run)


def _run(args) -> int:
    import cart

    print(cart.__version__)
    return 0
