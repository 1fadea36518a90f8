"""Invitations e-mailed over SMTP (``REELFORGE_SMTP_*``) to a real SMTP server on loopback
(aiosmtpd, started here): plain, and STARTTLS with a certificate made for the test."""

from __future__ import annotations

import datetime
import email
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from reelforge.db.accounts import Invitation
from service import require_database, running_service

PASSWORD = "correct horse battery staple"


class Inbox:
    """An aiosmtpd handler keeping every message and whether its session was encrypted."""

    def __init__(self) -> None:
        self.messages: list[tuple[Message, list[str], bool]] = []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.messages.append(
            (email.message_from_bytes(raw), list(envelope.rcpt_tos), session.ssl is not None)
        )
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "smtp.crt", tmp / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@contextmanager
def smtp_server(tls: tuple[Path, Path] | None = None) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    options: dict[str, Any] = {}
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        options = {"tls_context": context, "require_starttls": True}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=60, **options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def wait_for_message(inbox: Inbox) -> tuple[Message, list[str], bool]:
    deadline = time.monotonic() + 30  # generous: the server's thread may be slow to schedule
    while not inbox.messages:
        assert time.monotonic() < deadline, "no e-mail arrived"
        time.sleep(0.05)
    return inbox.messages[0]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_invitation_is_emailed_with_its_one_time_link(kind: str, tmp_path: Path) -> None:
    require_database(kind)
    with (
        smtp_server() as (inbox, port),
        running_service(
            tmp_path,
            kind,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_starttls=False,
            smtp_from="rf@example.com",
        ) as svc,
    ):
        r = svc.post("/v1/invitations", json={"email": "Reviewer@Example.com", "role": "reviewer"})
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["delivery"] == "email" and "link" not in body  # the link is only in the e-mail
        message, recipients, encrypted = wait_for_message(inbox)
        assert recipients == ["reviewer@example.com"] and not encrypted
        assert message["To"] == "reviewer@example.com" and message["From"] == "rf@example.com"
        text = message.get_payload(decode=True).decode()
        links = [w for w in text.split() if w.startswith(f"{svc.services.issuer}/auth/invitations/")]
        assert len(links) == 1 and "reviewer" in text
        path = links[0].removeprefix(svc.services.issuer)
        token = path.rsplit("/", 1)[1]
        assert svc.client.get(path).status_code == 200
        joined = svc.client.post(
            "/auth/invitations/accept", data={"token": token, "password": PASSWORD}, follow_redirects=False
        )
        assert joined.status_code == 303
        assert svc.client.get("/auth/session").json()["user"]["email"] == "reviewer@example.com"


def test_starttls_is_used_and_the_relay_certificate_checked(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with smtp_server((cert, key)) as (inbox, port):
        with running_service(tmp_path / "a", smtp_host="127.0.0.1", smtp_port=port, smtp_ca_file=cert) as svc:
            r = svc.post("/v1/invitations", json={"email": "editor@example.com", "role": "editor"})
            assert r.status_code == 201, r.text
            _, recipients, encrypted = wait_for_message(inbox)
            assert recipients == ["editor@example.com"] and encrypted
        # a relay whose certificate is not trusted is refused: 503 and no invitation
        with running_service(tmp_path / "b", smtp_host="127.0.0.1", smtp_port=port) as svc:
            r = svc.post("/v1/invitations", json={"email": "other@example.com", "role": "editor"})
            assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
            assert "SSL" in r.json()["detail"] or "certificate" in r.json()["detail"]
            with svc.services.sessions() as db:
                assert db.scalar(select(func.count()).select_from(Invitation)) == 0
    assert len(inbox.messages) == 1


def test_an_unreachable_relay_makes_no_invitation(tmp_path: Path) -> None:
    with running_service(tmp_path, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=5) as svc:
        r = svc.post("/v1/invitations", json={"email": "x@example.com", "role": "viewer"})
        assert r.status_code == 503 and "could not be sent" in r.json()["detail"], r.text
        with svc.services.sessions() as db:
            assert db.scalar(select(func.count()).select_from(Invitation)) == 0


def test_without_smtp_the_link_is_in_the_answer(tmp_path: Path) -> None:
    with running_service(tmp_path) as svc:
        body = svc.post("/v1/invitations", json={"email": "v@example.com", "role": "viewer"}).json()
        assert body["delivery"] == "link" and body["link"].startswith(
            f"{svc.services.issuer}/auth/invitations/"
        )
