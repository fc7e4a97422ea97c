"""The cart's key files: born 0600, never overwritten by accident, refused when too open; the
store's carts file validated."""

from __future__ import annotations

import os
import stat

import pytest

from cart.cli import main
from cart.common import keys


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_init_makes_an_owner_only_private_key_even_with_an_open_umask(tmp_path):
    old = os.umask(0)
    try:
        key = keys.init_keys(tmp_path / "k", "cart-7")
    finally:
        os.umask(old)
    assert mode(tmp_path / "k" / keys.PRIVATE_FILE) == 0o600
    assert mode(tmp_path / "k") == 0o700
    loaded = keys.load_key(tmp_path / "k")
    assert loaded.cart_id == "cart-7" and loaded.public_hex == key.public_hex
    msg = b"anything"
    assert loaded.sign(msg) == key.sign(msg)  # the same key, and Ed25519 is deterministic
    assert keys._private_hex(loaded) not in repr(loaded)  # never printed
    assert (tmp_path / "k" / keys.PRIVATE_FILE).read_text().strip() == keys._private_hex(key)


def test_init_refuses_to_overwrite_without_force(tmp_path):
    first = keys.init_keys(tmp_path)
    with pytest.raises(keys.KeyFileError, match="already there"):
        keys.init_keys(tmp_path)
    assert keys.load_key(tmp_path).public_hex == first.public_hex
    second = keys.init_keys(tmp_path, force=True)
    assert second.public_hex != first.public_hex
    assert keys.load_key(tmp_path).public_hex == second.public_hex
    assert mode(tmp_path / keys.PRIVATE_FILE) == 0o600


def test_a_private_key_others_can_read_is_refused(tmp_path):
    keys.init_keys(tmp_path)
    os.chmod(tmp_path / keys.PRIVATE_FILE, 0o644)
    with pytest.raises(keys.KeyFileError, match="0644"):
        keys.load_key(tmp_path)


def test_missing_keys_and_a_mismatched_public_file(tmp_path):
    with pytest.raises(keys.KeysMissing):
        keys.load_key(tmp_path / "none")
    keys.init_keys(tmp_path / "a")
    other = keys.init_keys(tmp_path / "b")
    (tmp_path / "a" / keys.PUBLIC_FILE).write_text(keys.public_text(other))
    with pytest.raises(keys.KeyFileError, match="does not belong"):
        keys.load_key(tmp_path / "a")


def test_keys_dir_order(monkeypatch):
    monkeypatch.delenv("CART_KEYS", raising=False)
    assert str(keys.keys_dir()) == "var/keys"
    monkeypatch.setenv("CART_KEYS", "/etc/cart/keys")
    assert str(keys.keys_dir()) == "/etc/cart/keys"
    assert str(keys.keys_dir("/srv/k")) == "/srv/k"


def test_carts_file_is_validated(tmp_path):
    k = keys.generate("cart-1")
    f = tmp_path / "carts.toml"
    f.write_text(f"[carts]\n{keys.carts_line(k)}\n")
    assert keys.load_carts(f) == {"cart-1": k.public_bytes}
    for bad, why in (
        ('[carts]\n"cart-1" = "abc"\n', "64 hex"),
        ('[carts]\n"bad id!" = "' + "0" * 64 + '"\n', "cart id"),
        ("[cart]\n", "unknown"),
        ("[carts\n", "TOML"),
    ):
        f.write_text(bad)
        with pytest.raises(keys.KeyFileError, match=why):
            keys.load_carts(f)
    with pytest.raises(keys.KeyFileError, match="cannot read"):
        keys.load_carts(tmp_path / "absent.toml")


def test_keys_commands(tmp_path, capsys):
    d = str(tmp_path / "k")
    assert main(["keys", "init", "--dir", d, "--cart", "cart-42"]) == 0
    out = capsys.readouterr().out
    assert "cart cart-42" in out and mode(tmp_path / "k" / "cart.key") == 0o600
    line = out.strip().splitlines()[-1]
    assert main(["keys", "init", "--dir", d]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["keys", "show", "--dir", d]) == 0
    assert capsys.readouterr().out.strip() == line
    assert line.startswith('"cart-42" = "') and len(line) == len('"cart-42" = ""') + 64
    assert main(["keys", "show", "--dir", str(tmp_path / "none")]) == 1
    assert "cart keys init" in capsys.readouterr().err


def test_keys_dir_from_a_profile(tmp_path, capsys):
    profile = tmp_path / "p.toml"
    profile.write_text(f'[keys]\ndir = "{tmp_path / "pk"}"\n')
    assert main(["keys", "init", "--profile", str(profile)]) == 0
    assert (tmp_path / "pk" / "cart.key").is_file()
    profile.write_text('[keys]\ndirectory = "x"\n')
    assert main(["keys", "show", "--profile", str(profile)]) == 2
    assert "unknown key" in capsys.readouterr().err
