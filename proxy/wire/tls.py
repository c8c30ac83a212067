"""Server TLS: an operator's certificate, or a self-signed one generated for the demo."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from proxy.settings import Settings


def generate_self_signed(cert_file: Path, key_file: Path, common_name: str = "localhost") -> None:
    """Write a one-year self-signed certificate for localhost/127.0.0.1 (demo use only)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)

    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """The SSLContext SSLRequest upgrades to, or None when TLS is off (answer 'N')."""
    tls = settings.tls
    if tls.mode == "off":
        return None
    if tls.mode == "files":
        if tls.cert_file is None or tls.key_file is None:
            raise ValueError("tls.mode 'files' needs tls.cert_file and tls.key_file")
        cert_file, key_file = tls.cert_file, tls.key_file
    else:
        cert_file = settings.state_dir / "tls" / "server.crt"
        key_file = settings.state_dir / "tls" / "server.key"
        if not (cert_file.exists() and key_file.exists()):
            generate_self_signed(cert_file, key_file)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context
