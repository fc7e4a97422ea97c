"""``cart run --profile hardware/profiles/NAME.toml``: the cart on its real devices.

The profile is read and every section validated by the module that owns it before anything
starts (unknown sections are errors). Then each driver starts its own reader thread, posting
its events to the runtime; the screen shows the snapshots. A device that is missing or fails
shows in the status bar (reconnecting, error) and the cart runs on the devices it still has.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from cart.clock import Clock, SystemClock

SECTIONS = ("store", "scale", "scanner", "camera", "classifier")


class ProfileError(ValueError):
    """A hardware profile that cannot be used, with the file and section named."""


def load_profile(path: str | Path) -> dict:
    path = Path(path)
    try:
        with path.open("rb") as f:
            doc = tomllib.load(f)
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        raise ProfileError(
            f"{path}: unknown section(s) {', '.join(unknown)} (known: {', '.join(SECTIONS)})"
        )
    return doc


def device_configs(path: str | Path, doc: dict):
    """(scale config or None, scanner configs, camera configs), each validated by its driver."""
    from drivers import camera, scanner
    from drivers.scale import ConfigError, ScaleConfig

    try:
        scale = ScaleConfig.from_dict(doc["scale"]) if "scale" in doc else None
        scanners = scanner.configs_from_profile(doc)
        cameras = camera.configs_from_profile(doc)
    except (ConfigError, scanner.ScannerConfigError, camera.CameraConfigError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    if "classifier" in doc:
        try:
            from cart.vision import ClassifierSettings

            ClassifierSettings.from_profile(doc["classifier"])
        except ImportError:
            pass
        except (TypeError, ValueError) as exc:
            raise ProfileError(f"{path}: {exc}") from exc
    return scale, scanners, cameras


def build(
    profile: str | Path,
    *,
    store_path=None,
    journal_path=None,
    fusion: bool = True,
    clock: Clock | None = None,
):
    """The runtime with the profile's drivers started and attached as its sources."""
    from cart.catalog import DEMO_STORE, CatalogError, load_store
    from cart.journal import JournalError
    from cart.ui.stack import build_runtime
    from drivers.camera import Camera
    from drivers.scale import ScaleDriver
    from drivers.scanner import Scanner

    for module in ("cart.sim.scanner", "cart.sim.scale"):
        try:
            __import__(module)  # registers simscanner:// and scalesim:// (tests, bench rigs)
        except ImportError:
            pass
    doc = load_profile(profile)
    scale_cfg, scanner_cfgs, camera_cfgs = device_configs(profile, doc)
    store_dir = store_path or doc.get("store", {}).get("path") or DEMO_STORE
    try:
        store = load_store(store_dir)
    except CatalogError as exc:
        raise ProfileError(str(exc)) from exc
    clock = clock or SystemClock()
    try:
        runtime = build_runtime(store, journal_path, clock=clock, fusion=fusion)
    except JournalError as exc:
        raise ProfileError(f"journal: {exc}") from exc
    try:
        if scale_cfg is not None:
            drv = ScaleDriver(scale_cfg.port, scale_cfg, clock=clock, on_event=runtime.post)
            runtime.add_source(drv)
            drv.start()
        for cfg in scanner_cfgs:
            runtime.add_source(Scanner(cfg, on_event=runtime.post, clock=clock))
        for cfg in camera_cfgs:
            runtime.add_source(Camera(cfg, on_event=runtime.post, clock=clock))
    except Exception:
        runtime.close()
        raise
    return runtime


def run_profile(
    profile, *, store_path=None, journal_path=None, high_contrast=False, fusion=True
) -> int:
    from cart.ui.app import CartApp

    runtime = build(profile, store_path=store_path, journal_path=journal_path, fusion=fusion)
    try:
        CartApp(runtime, high_contrast=high_contrast).run()
    finally:
        runtime.close()
    return 0
