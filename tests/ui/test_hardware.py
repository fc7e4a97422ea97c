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


def test_the_screen_section_takes_the_language_and_the_modes_together(tmp_path):
    from cart.app.hardware import screen_language, screen_modes

    p = tmp_path / "cart.toml"
    p.write_text(
        PROFILE + '\n[screen]\nlanguage = "sv"\nhigh_contrast = true\n\n[sound]\nenabled = false\n'
    )
    doc = load_profile(p)
    assert screen_language(p, doc) == "sv"
    assert screen_modes(p, doc) == {"high_contrast": True, "large_text": False}
    runtime = build(p, journal_path=":memory:")
    runtime.close()


def test_the_screen_language_and_sound_sections(tmp_path):
    from cart.app.hardware import screen_language, sound_settings
    from cart.app.sound import SoundSettings
    from cart.common import i18n

    p = tmp_path / "cart.toml"
    doc = {"screen": {"language": "sv_SE"}, "sound": {"volume": 0.3}}
    assert screen_language(p, doc) == "sv" and screen_language(p, {}) is None
    assert sound_settings(p, doc) == SoundSettings(volume=0.3)
    assert sound_settings(p, {}) == SoundSettings()
    for bad, words in (
        ({"screen": {"language": "de"}}, r"\[screen\].*not one the cart speaks"),
        ({"screen": {"lang": "sv"}}, "unknown key"),
        ({"sound": {"volume": "loud"}}, "volume must be a number"),
    ):
        with pytest.raises(ProfileError, match=words):
            screen_language(p, bad)
            sound_settings(p, bad)
    # a cart whose profile says Swedish starts its trips in Swedish (sound off: no device here)
    p.write_text(PROFILE + '\n[screen]\nlanguage = "sv"\n\n[sound]\nenabled = false\n')
    runtime = build(p, journal_path=":memory:")
    try:
        assert i18n.current_language() == "sv" and runtime.start_language == "sv"
    finally:
        runtime.close()
