"""The store's small PKI for its broker: a CA, the broker's server certificate, one client
certificate per cart (CN = the cart id, which Mosquitto takes as the user name with
``use_identity_as_username``), and the broker's ACL file (docs/LINK.md).

ECDSA P-256 with SHA-256 (``cryptography``); private keys are written 0600. A store with a PKI
of its own can issue the same certificates there: all the broker needs is the CN.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cart.common import wire

DAYS = 825


@dataclass(frozen=True, slots=True)
class Issued:
    cert: Path
    key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(path: Path, key) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class StoreCA:
    """A CA in ``folder`` (``ca.crt``, ``ca.key``): made on first use, then loaded."""

    def __init__(self, folder: str | Path, name: str = "smartcart store CA") -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cert_path, key_path = self.folder / "ca.crt", self.folder / "ca.key"
        if self.cert_path.exists() and key_path.exists():
            self.key = serialization.load_pem_private_key(key_path.read_bytes(), None)
            self.cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())
            return
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        _write_key(key_path, self.key)
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, cn: str, *, server: bool = False, folder: Path | None = None) -> Issued:
        """A certificate for ``cn`` (a cart id, the store service's id, or the broker's host)."""
        folder = Path(folder or self.folder)
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        b = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if server:
            b = b.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(cn), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = b.sign(self.key, hashes.SHA256())
        out = Issued(folder / f"{cn}.crt", folder / f"{cn}.key")
        out.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(out.key, key)
        return out


def acl_text(store: str, service_ids: list[str] | tuple[str, ...] = ("store-service",)) -> str:
    """Mosquitto's ACL for one store: each cart (user = its certificate's CN, ``%u``) writes
    only under its own id and reads its own ack and commands and the store's topics; the
    store service reads and writes the store's whole tree."""
    base = f"{wire.ROOT}/{wire.VERSION}/{store}"
    lines = ["# smartcart link v1 ACL (cart.office.pki.acl_text)"]
    for sid in service_ids:
        lines += [f"user {sid}", f"topic readwrite {base}/#", ""]
    lines += [
        f"pattern write {base}/cart/%u/presence",
        f"pattern write {base}/cart/%u/health",
        f"pattern write {base}/cart/%u/record",
        f"pattern read {base}/cart/%u/ack",
        f"pattern read {base}/cart/%u/command",
        f"pattern read {base}/catalog",
        f"pattern read {base}/command",
    ]
    return "\n".join(lines) + "\n"
