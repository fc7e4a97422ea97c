"""``cart run --profile hardware/profiles/NAME.toml``: the cart on its real devices.

The profile is read and every section validated by the module that owns it before anything
starts (unknown sections are errors). Then each driver starts its own reader thread, posting
its events to the runtime; the screen shows the snapshots. A device that is missing or fails
shows in the status bar (reconnecting, error) and the cart runs on the devices it still has.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from cart.common.clock import Clock, SystemClock

SECTIONS = ("store", "scale", "scanner", "camera", "classifier", "keys", "link")


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
    except RecursionError:
        raise ProfileError(f"{path}: not readable TOML: nested too deeply") from None
    unknown = sorted(set(doc) - set(SECTIONS))
    if unknown:
        raise ProfileError(
            f"{path}: unknown section(s) {', '.join(unknown)} (known: {', '.join(SECTIONS)})"
        )
    return doc


def keys_folder(path: str | Path, doc: dict) -> Path:
    """The cart's key folder: ``[keys] dir``, else ``$CART_KEYS``, else ``var/keys``
    (``cart.common.keys``)."""
    from cart.common.keys import keys_dir
    from cart.common.profile import reject_unknown_keys

    section = doc.get("keys", {})
    if not isinstance(section, dict):
        raise ProfileError(f"{path}: [keys] must be a table")
    try:
        reject_unknown_keys("keys", section, ("dir",), ProfileError)
    except ProfileError as exc:
        raise ProfileError(f"{path}: {exc}") from None
    folder = section.get("dir")
    if folder is not None and (not isinstance(folder, str) or not folder):
        raise ProfileError(f"{path}: [keys] dir must be a folder path")
    return keys_dir(folder)


def exit_signer(path: str | Path, doc: dict):
    """The cart's key from the profile's key folder, or None (said loudly) when there is none;
    a key file others may read stops the start."""
    from cart.app.stack import exit_key
    from cart.common.keys import KeyFileError

    try:
        return exit_key(keys_folder(path, doc))
    except KeyFileError as exc:
        raise ProfileError(f"{path}: [keys]: {exc}") from exc


def store_settings(path: str | Path, doc: dict):
    """The validated ``[store]`` section (``cart.store.loading.store_profile``: ``path``,
    ``journal``, ``journal_synchronous``; relative paths from the working directory), or None
    when the profile has none (then the demo store and ``$CART_JOURNAL`` / ``var``)."""
    from cart.store.loading import CatalogError, store_profile

    if "store" not in doc:
        return None
    try:
        return store_profile(doc["store"], str(path))
    except CatalogError as exc:
        raise ProfileError("; ".join(str(p) for p in exc.problems)) from exc


def is_demo(path: str | Path, doc: dict) -> bool:
    """``[store] demo = true``: a demo cart (the demo store and its PIN are allowed)."""
    section = doc.get("store", {})
    demo = section.get("demo", False) if isinstance(section, dict) else False
    if not isinstance(demo, bool):
        raise ProfileError(f"{path}: [store] demo must be true or false, got {demo!r}")
    return demo


def check_production(path: str | Path, doc: dict, store, enabled: bool = True) -> None:
    """A production profile (no ``[store] demo = true``) refuses demo staff secrets."""
    from cart.store.staff import production_problems

    if not enabled or is_demo(path, doc):
        return
    problems = production_problems(store)
    if problems:
        raise ProfileError(
            f"{path}: a production cart (no `demo = true` under [store]) will not start: "
            + "; ".join(problems)
            + " (or add `demo = true` under [store] to run a demo)"
        )


def classifier_settings(path: str | Path, doc: dict):
    """The validated ``[classifier]`` section (defaults when absent), or None where
    ``cart.fusion.vision`` is not installed."""
    try:
        from cart.fusion.vision import ClassifierSettings
    except ImportError:
        return None
    try:
        return ClassifierSettings.from_profile(doc.get("classifier", {}))
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc


def device_configs(path: str | Path, doc: dict):
    """(scale config or None, scanner configs, camera configs), each validated by its driver."""
    from drivers import camera, scanner
    from drivers.scale.config import ConfigError, ScaleConfig

    try:
        scale = ScaleConfig.from_dict(doc["scale"]) if "scale" in doc else None
        scanners = scanner.configs_from_profile(doc)
        cameras = camera.configs_from_profile(doc)
    except (ConfigError, scanner.ScannerConfigError, camera.CameraConfigError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    classifier_settings(path, doc)
    store_settings(path, doc)
    keys_folder(path, doc)
    return scale, scanners, cameras


def link_settings(path: str | Path, doc: dict, key=None):
    """The ``[link]`` section (``cart.app.link.config``), or None: the cart runs alone. The
    link needs the cart's own key (its id names the cart to the store)."""
    if "link" not in doc:
        return None
    if key is None or key.ephemeral:
        raise ProfileError(f"{path}: [link] needs the cart's own key (cart keys init)")
    from cart.app.link.config import LinkConfigError, from_section

    section = doc["link"]
    if not isinstance(section, dict):
        raise ProfileError(f"{path}: [link] must be a table")
    try:
        return from_section(section, Path(path).parent)
    except LinkConfigError as exc:
        raise ProfileError(f"{path}: {exc}") from None


def basket_camera(cameras):
    """The camera whose frames the classifier sees: ``[camera.basket]``, else the first."""
    return next((c for c in cameras if c.name == "basket"), cameras[0] if cameras else None)


def build(
    profile: str | Path,
    *,
    store_path=None,
    journal_path=None,
    clock: Clock | None = None,
    vision: bool = True,
    production_check: bool = False,
):
    """The runtime with the profile's drivers started and attached as its sources, on the
    profile's store and journal (``[store]``; ``store_path`` / ``journal_path`` override them).

    ``production_check`` (``cart run``): unless the profile says ``demo = true`` under
    ``[store]``, it is a production cart, and its store must have staff secrets of its own
    (``cart.store.staff.production_problems``: not the demo store's staff file, no staff PIN
    that is the demo PIN, no legacy ``staff_pin_hash``); otherwise a ProfileError says why.

    With a camera in the profile (and ``vision``), the classifier of the ``[classifier]``
    section is loaded and fed by the basket camera (``cart.app.vision``); fusion then weighs
    its verdicts. A missing model or no camera: the cart runs without vision and the status
    bar says why."""
    from cart.app.stack import build_runtime
    from cart.app.vision import attach, tap_camera
    from cart.basket.journal import JournalError
    from cart.store.loading import DEMO_STORE, CatalogError, load_store
    from drivers.camera import Camera
    from drivers.hid_scanner import HidScanner, HidScannerConfig
    from drivers.scale.driver import ScaleDriver
    from drivers.scanner import Scanner

    doc = load_profile(profile)
    scale_cfg, scanner_cfgs, camera_cfgs = device_configs(profile, doc)
    prof = store_settings(profile, doc)
    store_dir = store_path or (prof.path if prof else None) or DEMO_STORE
    journal_path = journal_path or (prof.journal if prof else None)
    synchronous = prof.journal_synchronous if prof else "FULL"
    try:
        store = load_store(store_dir)
    except CatalogError as exc:
        raise ProfileError(str(exc)) from exc
    check_production(profile, doc, store, production_check)
    key = exit_signer(profile, doc)
    link_cfg = link_settings(profile, doc, key)
    clock = clock or SystemClock()
    worker = None
    cam_cfg = basket_camera(camera_cfgs)
    if vision:
        from cart.app.vision import VisionWorker, load_worker

        if cam_cfg is not None:
            worker = load_worker(
                None, clock=clock, settings=classifier_settings(profile, doc), source=cam_cfg.device
            )
        elif "classifier" in doc:
            worker = VisionWorker(
                None, None, clock=clock, problem="vision off: no camera in the profile"
            )
    try:
        runtime = build_runtime(
            store,
            journal_path,
            clock=clock,
            synchronous=synchronous,
            vision=worker is not None and worker.classifier is not None,
            exit_signer=key,
            outbox=_outbox(link_cfg),
        )
    except JournalError as exc:
        if worker is not None:
            worker.close()
        raise ProfileError(f"journal: {exc}") from exc
    try:
        if worker is not None:
            attach(runtime, worker)
        if scale_cfg is not None:
            drv = ScaleDriver(scale_cfg.port, scale_cfg, clock=clock, on_event=runtime.post)
            runtime.add_source(drv)
            drv.start()
        for cfg in scanner_cfgs:
            if isinstance(cfg, HidScannerConfig):  # kind = "hid": a keyboard-wedge scanner
                runtime.add_source(HidScanner(cfg, on_event=runtime.post, clock=clock))
            else:
                runtime.add_source(Scanner(cfg, on_event=runtime.post, clock=clock))
        for cfg in camera_cfgs:
            cam = Camera(cfg, on_event=runtime.post, clock=clock, start=False)
            if cfg is cam_cfg and worker is not None and worker.active:
                tap_camera(cam, worker.buffer)
                worker.cameras += 1
            runtime.add_source(cam)
            cam.start()
        if worker is not None:
            worker.start()
        _start_link(runtime, link_cfg, key, worker, clock)
    except Exception:
        runtime.close()
        raise
    return runtime


def _start_link(runtime, link_cfg, key, worker, clock) -> None:
    if link_cfg is not None:
        from cart.app.link.attach import attach_link

        attach_link(runtime, link_cfg, key, versions=_versions(worker), clock=clock)


def _outbox(link_cfg):
    if link_cfg is None:
        return None
    from cart.basket.journal.outbox import OutboxLimits

    return OutboxLimits(link_cfg.max_outbox_bytes)


def _versions(worker) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    try:
        software = version("smartcart")
    except PackageNotFoundError:
        software = "unknown"
    model = getattr(getattr(worker, "classifier", None), "name", None) or "none"
    return {"software": software, "model": str(model)}
