"""`reelforge serve --tls-cert/--tls-key`, HSTS, and proxy headers believed only from the
configured proxies: the server as a user starts it, over real sockets on loopback."""

from __future__ import annotations

import ipaddress
import os
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service import ServeProcess


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "REELFORGE_DATA_DIR": str(tmp_path / "data"), "REELFORGE_WORKERS": "0", **extra}


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_serves_https_with_hsts(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    args = ("--port", "0", "--tls-cert", str(cert), "--tls-key", str(key))
    with ServeProcess(tmp_path, _env(tmp_path), *args) as server:
        base = server.wait_for(r"Listening on (https://\S+)")[1]
        assert base.startswith("https://127.0.0.1:"), base
        trust = ssl.create_default_context(cafile=str(cert))
        r = httpx.get(f"{base}/healthz", verify=trust, timeout=60)
        assert r.status_code == 200
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
        # The session cookie is Secure over TLS.
        signed = httpx.post(
            f"{base}/auth/sign-in",
            data={"email": "x@example.com", "password": "y" * 12},
            verify=trust,
            timeout=60,
        )
        assert signed.status_code == 401
        server.stop()


def test_serve_needs_both_tls_files(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    with ServeProcess(tmp_path, _env(tmp_path), "--port", "0", "--tls-cert", str(cert)) as server:
        assert server.proc.wait(timeout=120) == 2
        assert "--tls-key" in server.output


def test_forwarded_headers_only_from_trusted_proxies(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    with ServeProcess(tmp_path / "a", _env(tmp_path / "a"), "--port", "0") as server:
        base = server.wait_listening()
        r = httpx.get(f"{base}/healthz", headers=forwarded, timeout=60)
        assert r.status_code == 200 and "strict-transport-security" not in r.headers
        server.stop()
    env = _env(tmp_path / "b", REELFORGE_TRUSTED_PROXIES='["127.0.0.1"]')
    with ServeProcess(tmp_path / "b", env, "--port", "0") as server:
        base = server.wait_listening()
        r = httpx.get(f"{base}/healthz", headers=forwarded, timeout=60)
        assert r.status_code == 200 and "strict-transport-security" in r.headers
        assert "strict-transport-security" not in httpx.get(f"{base}/healthz", timeout=60).headers
        server.stop()
