"""Digests over SMTP with aiosmtplib: one connection per e-mail, bounded by a timeout."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib


class SmtpMailer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool,
        username: str,
        password: str,
        timeout_s: float,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._starttls = starttls
        self._username = username or None
        self._password = password or None
        self._timeout = timeout_s

    async def send(self, to: str, subject: str, body: str) -> None:
        """Send one plain-text e-mail. Raises aiosmtplib.SMTPException or OSError on failure,
        TimeoutError when the server is slower than the timeout."""
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            start_tls=self._starttls,
            username=self._username,
            password=self._password,
            timeout=self._timeout,
        )
