"""``cart run --profile``: profiles validated before anything starts; the real drivers on
simulated devices feed the screen."""

from __future__ import annotations

import time

import pytest

from cart.app.hardware import ProfileError, build, load_profile
from cart.ui.app import CartApp

from .screen_text import screen_text

PROFILE = """
[scale]
port = "scalesim://?seed=2&profile=clean"

[scanner.hand]
url = "simscanner://profile-test"
terminator = "CR"
"""


def test_unknown_sections_and_bad_keys_are_errors(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('[printer]\nurl = "x"\n')
    with pytest.raises(ProfileError, match="unknown section.*printer"):
        load_profile(p)
    p.write_text('[scanner.hand]\nurl = "simscanner://x"\nterminator = "TAB"\n')
    with pytest.raises(ProfileError, match="terminator"):
        build(p, journal_path=":memory:")
    p.write_text("[classifier]\nthreads = 99\n")
    with pytest.raises(ProfileError, match="threads"):
        build(p, journal_path=":memory:")
    p.write_text("[scale\n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(p)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.toml")


def test_shipped_profile_validates():
    from pathlib import Path

    from cart.app.hardware import device_configs

    path = Path(__file__).resolve().parents[2] / "hardware/profiles/cart-v1.toml"
    scale, scanners, cameras = device_configs(path, load_profile(path))
    assert scale is not None and scale.channels == 4
    assert scanners[0].name == "handheld" and cameras[0].name == "basket"


async def test_profile_devices_feed_the_screen(tmp_path):
    from cart.sim.scanner import ScannerSim

    sim = ScannerSim("profile-test")
    p = tmp_path / "sim.toml"
    p.write_text(PROFILE)
    runtime = build(p, journal_path=":memory:")
    app = CartApp(runtime)
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 15
        while not {"scale", "scanner:hand"} <= {d.name for d in app.view.devices}:
            assert time.monotonic() < deadline, screen_text(app)
            await pilot.pause(0.05)
        sim.scan("7310000100147", "]E0")
        while not app.view.lines:
            assert time.monotonic() < deadline, screen_text(app)
            await pilot.pause(0.05)
        assert "scanner:hand" in screen_text(app)
        # the uncalibrated simulated bridge says so in the status bar, and the cart runs on
        scale = next(d for d in app.view.devices if d.name == "scale")
        assert scale.state == "error" and "not calibrated" in scale.detail
        await pilot.pause()
        assert "scale error: not calibrated" in screen_text(app)
    runtime.close()


def test_screen_modes_from_the_profile(tmp_path):
    from cart.app.hardware import screen_modes

    p = tmp_path / "cart.toml"
    p.write_text("[screen]\nhigh_contrast = true\nlarge_text = true\n")
    assert screen_modes(p, load_profile(p)) == {"high_contrast": True, "large_text": True}
    p.write_text("")
    assert screen_modes(p, load_profile(p)) == {"high_contrast": False, "large_text": False}
    p.write_text('[screen]\nlarge_text = "yes"\n')
    with pytest.raises(ProfileError, match="large_text must be true or false"):
        screen_modes(p, load_profile(p))
    p.write_text("[screen]\nlarge_txt = true\n")
    with pytest.raises(ProfileError, match="unknown key.*large_txt"):
        build(p, journal_path=":memory:")


async def test_the_profiles_screen_modes_start_the_screen_in_them():
    from .conftest import RecordingBackend, sample_view

    app = CartApp(RecordingBackend(sample_view()), high_contrast=True, large_text=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "cart-high-contrast" and app.has_class("-large-text")
