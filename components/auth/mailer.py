"""Send MagAuth's emails (sign-up confirmation, email change) over SMTP.

`SmtpMailer` uses the standard library's smtplib with `[auth] smtp_*`; without an
`smtp_host`, `LogMailer` only records that a mail could not be sent (never its link,
which is a credential). Tests pass a `MemoryMailer` instead.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from .settings import AuthSettings

LOGGER = logging.getLogger(__name__)
SMTP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class SmtpMailer:
    """Deliver mail through the configured SMTP server."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings

    def send(self, mail: Mail) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        smtp_class = smtplib.SMTP_SSL if s.smtp_ssl else smtplib.SMTP
        with smtp_class(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
            smtp.send_message(message)
        LOGGER.info("auth mail %r sent", mail.subject)


class LogMailer:
    """No SMTP configured: say so in the log (without the mail's link)."""

    def send(self, mail: Mail) -> None:
        LOGGER.warning("auth mail %r not sent: no [auth] smtp_host is configured", mail.subject)


@dataclass
class MemoryMailer:
    """Keep mails in a list (for tests)."""

    sent: list[Mail] = field(default_factory=list)

    def send(self, mail: Mail) -> None:
        self.sent.append(mail)


def mailer_for(settings: AuthSettings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()


def confirmation_mail(to: str, link: str) -> Mail:
    return Mail(
        to,
        "Confirm Your Signup",
        f"Follow this link to confirm your email address:\n\n{link}\n\n"
        "If you did not sign up, you can ignore this message.\n",
    )


def email_change_mail(to: str, link: str) -> Mail:
    return Mail(
        to,
        "Confirm Email Change",
        f"Follow this link to confirm the change of your email address to {to}:\n\n{link}\n",
    )
