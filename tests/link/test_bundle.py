"""Signed catalogue bundles: verified before use, the last good one kept, applied between trips."""

from __future__ import annotations

import base64
import copy
import json
import shutil

import pytest

from cart.app.link.catalog import BUNDLE_FILE, CatalogueKeeper
from cart.common import wire
from cart.common.keys import generate
from cart.store.bundle import BundleRefused, make_bundle, open_bundle
from cart.store.loading import DEMO_STORE, load_store

T = 1_767_225_600_000


@pytest.fixture
def store_key():
    return generate("store-key-1")


@pytest.fixture
def folder(tmp_path):
    dst = tmp_path / "store"
    shutil.copytree(DEMO_STORE, dst)
    return dst


def cheaper_banana(folder) -> None:
    """Change one price in the catalogue file (the text, so the rest stays as it is)."""
    p = folder / "catalog.toml"
    text = p.read_text()
    old = 'id = "banana"\nname = "Banana"\nplu = "4011"\nsold_by = "weight"\nprice_per_kg = '
    assert old in text
    p.write_text(text.replace(old + "2495", old + "1995", 1))


def keeper(tmp_path, store_key, applied):
    return CatalogueKeeper(
        tmp_path / "catalog",
        store_id=load_store().config.id,
        keys={store_key.cart_id: store_key.public_bytes},
        apply=lambda s, v: applied.append((s, v)),
    )


def test_a_signed_newer_bundle_is_taken_and_kept(tmp_path, folder, store_key):
    applied = []
    k = keeper(tmp_path, store_key, applied)
    cheaper_banana(folder)
    assert k.offer(make_bundle(folder, 1, T, store_key))
    assert k.version == 1 and applied[0][1] == 1
    assert applied[0][0].digest != load_store().digest
    # after a restart the kept bundle is verified again and used
    again = keeper(tmp_path, store_key, [])
    store = again.saved()
    assert store is not None and store.digest == applied[0][0].digest and again.version == 1


def tampered(doc):
    bad = copy.deepcopy(doc)
    raw = base64.b64decode(bad["body"]["files"]["catalog.toml"]).replace(
        b"price = ", b"price = 1", 1
    )
    bad["body"]["files"]["catalog.toml"] = base64.b64encode(raw).decode()
    return bad


@pytest.mark.parametrize(
    "spoil, why",
    [
        (tampered, "signature does not verify"),
        (lambda d: {**d, "sig": ""}, "not signed"),
        (lambda d: {k: v for k, v in d.items() if k != "sig"}, "not signed"),
        (lambda d: {**d, "signer": "someone-else"}, "not a key of this store"),
        (lambda d: {**d, "kind": "command"}, "not a 'catalog'"),
    ],
)
def test_a_tampered_or_unsigned_bundle_is_refused_and_the_last_good_kept(
    tmp_path, folder, store_key, spoil, why
):
    applied = []
    k = keeper(tmp_path, store_key, applied)
    assert k.offer(make_bundle(folder, 1, T, store_key))
    good = (tmp_path / "catalog" / BUNDLE_FILE).read_bytes()
    cheaper_banana(folder)
    assert not k.offer(spoil(make_bundle(folder, 2, T, store_key)))
    assert why in k.last_refusal and k.refused == 1
    assert k.version == 1 and len(applied) == 1
    assert (tmp_path / "catalog" / BUNDLE_FILE).read_bytes() == good


def test_a_bundle_signed_by_another_key_an_old_version_or_another_store_is_refused(
    tmp_path, folder, store_key
):
    k = keeper(tmp_path, store_key, [])
    assert not k.offer(make_bundle(folder, 1, T, generate("store-key-1")))  # same id, other key
    assert "does not verify" in k.last_refusal
    assert k.offer(make_bundle(folder, 3, T, store_key))
    assert not k.offer(make_bundle(folder, 2, T, store_key))  # older: quietly not taken
    assert k.version == 3
    doc = make_bundle(folder, 4, T, store_key)
    with pytest.raises(BundleRefused, match="for store"):
        open_bundle(
            doc,
            store_id="other-store",
            keys={store_key.cart_id: store_key.public_bytes},
            current_version=0,
        )


def test_a_signed_bundle_that_does_not_validate_is_refused(tmp_path, folder, store_key):
    k = keeper(tmp_path, store_key, [])
    doc = make_bundle(folder, 1, T, store_key)
    body = dict(doc["body"])
    bad_cat = b"[[product]]\nid = 7\n"
    body["files"] = {**body["files"], "catalog.toml": base64.b64encode(bad_cat).decode()}
    from cart.store.bundle import digest_of

    store_toml = base64.b64decode(body["files"]["store.toml"])
    body["digest"] = digest_of(store_toml, bad_cat)
    assert not k.offer(wire.sign_envelope("catalog", body, store_key))
    assert "does not validate" in k.last_refusal and k.version == 0


def test_a_kept_bundle_changed_on_disk_is_refused_at_start(tmp_path, folder, store_key):
    k = keeper(tmp_path, store_key, [])
    assert k.offer(make_bundle(folder, 1, T, store_key))
    path = tmp_path / "catalog" / BUNDLE_FILE
    path.write_text(json.dumps(tampered(json.loads(path.read_text()))))
    again = keeper(tmp_path, store_key, [])
    assert again.saved() is None and again.refused == 1 and again.version == 0
