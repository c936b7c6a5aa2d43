"""Certificates for a broker whose clients are not on loopback: ``hub broker certs``.

Makes a small private CA and a server certificate for the broker's host names, with the
``cryptography`` package. The broker reads a PKCS#12 keystore (its key and the chain);
clients trust ``ca.pem`` (``HUB_KAFKA_SSL_CA_LOCATION``). A city with its own PKI uses its
certificates instead: any PKCS#12 keystore and PEM CA file will do.
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
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.broker.security import TlsFiles
from hub.credentials import new_password, write_private

CA_DAYS = 3650
SERVER_DAYS = 825  # the longest validity clients still accept for a server certificate


@dataclass(frozen=True)
class CertificateFiles:
    ca: Path  # clients trust this
    keystore: Path  # the broker's key and chain, PKCS#12, password-protected
    key_password_file: Path

    def tls(self) -> TlsFiles:
        return TlsFiles(self.keystore, self.key_password_file.read_text().strip(), self.ca)


def files_in(directory: Path) -> CertificateFiles:
    d = Path(directory).absolute()
    return CertificateFiles(d / "ca.pem", d / "broker.p12", d / "broker.password")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Stadt Hamm, Datendrehscheibe"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def make_certificates(
    directory: Path, hosts: list[str], *, now: dt.datetime | None = None
) -> CertificateFiles:
    """A CA and a server certificate for ``hosts``; the keys never leave ``directory`` (0600)."""
    now = now or dt.datetime.now(dt.UTC)
    files = files_in(directory)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Datendrehscheibe CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    password = new_password()
    # A PKCS#12 keystore (PBES2/AES, as Java 17 writes them itself); Java cannot read a PEM
    # key encrypted with PBES2, and an unencrypted one would be the key in the clear.
    keystore = pkcs12.serialize_key_and_certificates(
        b"broker", key, cert, [ca], serialization.BestAvailableEncryption(password.encode())
    )
    files.keystore.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(files.keystore.parent, 0o700)
    fd = os.open(files.keystore, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(keystore)
    write_private(files.key_password_file, password + "\n")
    ca_key_pem = ca_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(files.ca.with_name("ca.key"), ca_key_pem.decode())
    files.ca.write_text(ca.public_bytes(serialization.Encoding.PEM).decode())
    return files
