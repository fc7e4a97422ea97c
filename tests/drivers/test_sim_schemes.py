"""Simulators stay out of production: the cart's hardware code imports none, each simulator
registers its pyserial URL scheme itself when imported, and ``cart run`` imports the ones a
profile names (each check in a fresh interpreter, where nothing was imported before)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_py(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_building_from_a_profile_imports_no_simulator(tmp_path):
    profile = tmp_path / "real.toml"
    profile.write_text('[scanner.hand]\nurl = "/dev/null-scanner"\n')
    out = run_py(
        "import sys\n"
        "from cart.app.hardware import build\n"
        f"rt = build({str(profile)!r}, journal_path=':memory:', vision=False)\n"
        "rt.close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('cart.sim')))\n"
    )
    assert out == "[]"


def test_each_simulator_registers_its_scheme_when_imported():
    out = run_py(
        "import serial\n"
        "import cart.sim.scale\n"
        "port = serial.serial_for_url('scalesim://?seed=1&profile=clean', timeout=0.05)\n"
        "print(type(port).__module__)\n"
        "port.close()\n"
        "from cart.sim.scanner import ScannerSim\n"
        "sim = ScannerSim('scheme-test')\n"
        "port = serial.serial_for_url('simscanner://scheme-test', timeout=0.05)\n"
        "print(type(port).__name__)\n"
        "port.close()\n"
    )
    assert out.splitlines() == ["cart.sim.protocol_scalesim", "SimScannerSerial"]


def test_cart_run_imports_the_simulators_its_profile_names(tmp_path):
    sim = tmp_path / "sim.toml"
    sim.write_text(
        '[scale]\nport = "scalesim://?seed=2"\n\n[scanner.hand]\nurl = "simscanner://x"\n'
    )
    real = tmp_path / "real.toml"
    real.write_text('[scanner.hand]\nurl = "/dev/ttyACM0"\n')
    out = run_py(
        "import sys\n"
        "from cart.commands.ui import register_simulators\n"
        f"print(register_simulators({str(real)!r}))\n"
        "print(sorted(m for m in sys.modules if m.startswith('cart.sim')))\n"
        f"print(register_simulators({str(sim)!r}))\n"
        f"print(register_simulators({str(tmp_path / 'missing.toml')!r}))\n"
    )
    assert out.splitlines() == [
        "[]",
        "[]",
        "['cart.sim.scale', 'cart.sim.scanner']",
        "[]",
    ]
