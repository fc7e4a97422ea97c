"""hardware/install.sh into a directory tree (``--root``): what it makes, with which owners and
modes, that a second run changes nothing (a manifest of every path before and after), that
``--uninstall`` keeps the basket journal and ``--purge`` does not, and its refusals. The
shipped profile names only the device names that the udev rules make."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hardware/install.sh"

needs_tools = pytest.mark.skipif(
    not (shutil.which("systemctl") and shutil.which("systemd-sysusers")),
    reason="systemctl and systemd-sysusers (package systemd) are needed to install",
)
# systemd-sysusers writes etc/gshadow (mode 0000) into the tree, which only root can reopen.
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="systemd-sysusers --root needs root")


def install(*args, env=None, check=True):
    proc = subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def manifest(root: Path) -> dict[str, tuple]:
    """Every path under root: type, mode, owner, size, content hash or link target, mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                body = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                body = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                body = ""
            mtime = st.st_mtime_ns if stat.S_ISREG(st.st_mode) else 0
            out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, body, mtime)
    return out


def ids(root: Path, file: str) -> dict[str, int]:
    return {
        line.split(":")[0]: int(line.split(":")[2])
        for line in (root / "etc" / file).read_text().splitlines()
    }


@needs_tools
@needs_root
@pytest.mark.slow
def test_install_into_a_tree_twice_then_uninstall(tmp_path):
    tree = tmp_path / "root"
    tree.mkdir()
    install("--root", str(tree))
    first = manifest(tree)

    users, groups = ids(tree, "passwd"), ids(tree, "group")
    assert "cart" in users
    members = {
        line.split(":")[0]: line.split(":")[3].split(",")
        for line in (tree / "etc/group").read_text().splitlines()
    }
    for group in ("dialout", "video", "input"):
        assert "cart" in members[group]
    unit = tree / "etc/systemd/system/multi-user.target.wants/cart.service"
    assert unit.is_symlink() and os.readlink(unit) == "/etc/systemd/system/cart.service"
    assert (tree / "etc/udev/rules.d/99-cart.rules").read_bytes() == (
        ROOT / "hardware/udev/99-cart.rules"
    ).read_bytes()
    assert (tree / "opt/cart/src/cart/app/watchdog.py").is_file()
    assert os.access(tree / "opt/cart/bin/cart-kiosk", os.X_OK)
    profile = (tree / "etc/cart/profile.toml").read_text()
    assert 'path = "/etc/cart/store"' in profile
    assert 'journal = "/var/lib/cart/journal.sqlite"' in profile

    def mode(path):
        return stat.S_IMODE((tree / path).stat().st_mode)

    assert mode("etc/cart") == 0o750 and mode("etc/cart/profile.toml") == 0o640
    assert mode("etc/cart/store/store.toml") == 0o600  # the staff PIN hash
    assert mode("var/lib/cart") == 0o750 and mode("var/lib/cart/keys") == 0o700
    cart = users["cart"]
    assert (tree / "etc/cart/store/store.toml").stat().st_uid == cart
    assert (tree / "var/lib/cart/keys").stat().st_uid == cart
    assert (tree / "etc/cart").stat().st_gid == groups["cart"]
    assert (tree / "etc/cart").stat().st_uid == 0

    out = install("--root", str(tree)).stdout
    assert "(0 file(s) changed)" in out
    assert manifest(tree) == first  # idempotent: not one path, mode, owner, byte or mtime

    # An edited configuration file is kept; a basket journal is kept by --uninstall.
    (tree / "etc/cart/profile.toml").write_text(profile + "# edited on the cart\n")
    (tree / "var/lib/cart/journal.sqlite").write_bytes(b"basket")
    assert "kept /etc/cart/profile.toml" in install("--root", str(tree)).stdout
    install("--root", str(tree), "--uninstall")
    assert not (tree / "opt/cart").exists()
    assert not (tree / "etc/systemd/system/cart.service").exists()
    assert not unit.is_symlink()
    assert (tree / "var/lib/cart/journal.sqlite").read_bytes() == b"basket"
    assert (tree / "etc/cart/profile.toml").read_text().endswith("# edited on the cart\n")

    install("--root", str(tree), "--uninstall", "--purge")
    assert not (tree / "var/lib/cart").exists() and not (tree / "etc/cart").exists()
    assert "cart" not in ids(tree, "passwd")


@needs_tools
def test_refuses_without_systemd(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("realpath", "dirname", "sed", "id"):
        (bare / tool).symlink_to(shutil.which(tool))
    proc = install("--root", str(tmp_path), env={"PATH": str(bare)}, check=False)
    assert proc.returncode == 1
    assert "systemd is not installed" in proc.stderr
    if not Path("/run/systemd/system").exists():  # a container or chroot without systemd
        proc = install(check=False)
        assert proc.returncode == 1
        assert "systemd is not running here" in proc.stderr and "--root DIR" in proc.stderr


def test_profile_devices_have_udev_names():
    """Every /dev/cart-* the shipped profile reads is a SYMLINK the udev rules make."""
    profile = (ROOT / "hardware/profiles/cart-v1.toml").read_text()
    rules = (ROOT / "hardware/udev/99-cart.rules").read_text()
    used = set(re.findall(r'"/dev/(cart-[a-z-]+)"', profile))
    made = set(re.findall(r'SYMLINK\+="(cart-[a-z-]+)"', rules))
    assert {"cart-scale", "cart-scanner", "cart-camera", "cart-scanner-hid"} <= used
    assert used <= made
