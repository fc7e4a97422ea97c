"""The ``cart`` console command.

Subcommands live in ``cart/commands/*.py``. Each module defines ``register(subparsers)`` that
adds its subcommands (each with ``set_defaults(func=...)``), and may define
``register_bench(subparsers)`` that adds ``cart bench NAME``. A handler takes the parsed arguments
and returns an exit code.
Command modules import heavy libraries (OpenCV, Textual, LiteRT) inside their handlers, never at
module level, so ``cart --help`` and light commands stay fast on a Pi.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import cart.commands


def _command_modules():
    for info in sorted(pkgutil.iter_modules(cart.commands.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"cart.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cart", description="Smart shopping cart.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    bench = sub.add_parser("bench", help="benchmarks (each prints a JSON line last)")
    bench_sub = bench.add_subparsers(dest="bench", metavar="NAME")
    bench.set_defaults(func=lambda args: _usage(bench))
    for module in _command_modules():
        if hasattr(module, "register"):
            module.register(sub)
        if hasattr(module, "register_bench"):
            module.register_bench(bench_sub)
    parser.set_defaults(func=lambda args: _usage(parser))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
