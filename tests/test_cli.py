import subprocess
import sys

from cart.cli import main


def test_version_subcommand(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __import__("cart").__version__


def test_no_subcommand_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage: cart" in capsys.readouterr().err


def test_python_dash_m_cart():
    out = subprocess.run([sys.executable, "-m", "cart", "version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip()
