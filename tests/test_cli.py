import subprocess
import sys

import pytest

from cart.cli import build_parser, main


def test_version_subcommand(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __import__("cart").__version__


def test_no_subcommand_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage: cart" in capsys.readouterr().err


def test_python_dash_m_cart():
    out = subprocess.run([sys.executable, "-m", "cart", "version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip()


def test_demo_takes_the_start_language():
    args = build_parser().parse_args(["demo", "--lang", "sv", "--no-sound"])
    assert args.lang == "sv" and args.no_sound
    assert build_parser().parse_args(["demo"]).lang is None  # the store's
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--lang", "de"])
