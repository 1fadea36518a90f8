"""Outgoing e-mail (invitations) over SMTP, when ``REELFORGE_SMTP_HOST`` is set.

The standard library's :mod:`smtplib` speaks to the relay: plain SMTP, STARTTLS
(``REELFORGE_SMTP_STARTTLS``, on by default) or implicit TLS (``REELFORGE_SMTP_SSL``), with a
login when a user name is set. Headers are built by :mod:`email`, which refuses line breaks in
them, so an address cannot add headers.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from reelforge.settings import Settings

from .errors import Unavailable

__all__ = ["mail_configured", "send_invitation"]


def mail_configured(settings: Settings) -> bool:
    return settings.smtp_host is not None


def _message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message.set_content(body)
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand ``message`` to the relay; :class:`Unavailable` (503) when it cannot be delivered."""
    assert settings.smtp_host is not None
    context = ssl.create_default_context()
    if settings.smtp_ca_file is not None:
        context.load_verify_locations(cafile=str(settings.smtp_ca_file))
    try:
        smtp: smtplib.SMTP
        if settings.smtp_ssl:
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        with smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls(context=context)
            if settings.smtp_username is not None:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_username, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise Unavailable(f"the e-mail could not be sent: {exc.__class__.__name__}: {exc}") from exc


def send_invitation(
    settings: Settings, to: str, workspace_name: str, role: str, link: str, expires: str
) -> None:
    """The invitation e-mail: who invites to what, and the one-time link."""
    body = (
        f"You are invited to join the Reelforge workspace {workspace_name!r} as {role}.\n\n"
        f"Open this link to choose a password and join (it works once, until {expires}):\n\n"
        f"{link}\n\n"
        "If you did not expect this invitation, ignore this e-mail.\n"
    )
    send(settings, _message(settings, to, f"You are invited to {workspace_name} on Reelforge", body))
