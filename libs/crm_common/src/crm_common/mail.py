"""SMTP delivery over the standard library's smtplib (cooperative under nameko's eventlet hub).

`CRM_SMTP_URL` names the account: `smtp://[user:password@]host[:port][?security=starttls|ssl|none&timeout=s]`
(`smtps://` is `security=ssl`; port 25, 465 for ssl). The default is the local mail catcher that `make run`
starts (every message kept as a .eml under var/mail/). The password is never logged nor put in an error:
`SmtpAccount` prints without it.
"""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from crm_common import config

DEFAULT_URL = "smtp://127.0.0.1:8025"
SECURITIES = ("none", "starttls", "ssl")
_DOTS = re.compile(rb"(?m)^\.")  # a line starting with "." is sent as ".." (RFC 5321 4.5.2)
_PLAIN = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")  # an address MAIL/RCPT take as it is


def _path(address: str) -> str:
    """`<address>` for MAIL FROM and RCPT TO, as smtplib's mail() and rcpt() send it: a plain address as it is
    (smtplib.quoteaddr parses every address with the email package, a fifth of a bulk handoff's time), anything
    else (an empty bounce address, a display name) through quoteaddr."""
    return f"<{address}>" if _PLAIN.fullmatch(address) else smtplib.quoteaddr(address)


class Refused(Exception):
    """The server refused the message: `permanent` (5xx, a hard bounce) or not (4xx, try again later)."""

    def __init__(self, code: int, response: str):
        super().__init__(f"{code} {response}")
        self.code = code
        self.response = response[:500]
        self.permanent = 500 <= code < 600


class Unavailable(Exception):
    """No conversation with the server (refused connection, timeout, TLS or authentication failure): nothing
    was handed over; the send stops and resumes later."""


@dataclass(frozen=True)
class SmtpAccount:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "none"
    timeout: float = 30.0

    @property
    def key(self) -> str:
        """What identifies the account for its shared rate limit (no secret)."""
        return f"{self.username or ''}@{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str) -> SmtpAccount:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("CRM_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://...")
        query = parse_qs(parts.query)
        security = query.get("security", ["ssl" if parts.scheme == "smtps" else "none"])[0]
        if security not in SECURITIES:
            raise ValueError(f"CRM_SMTP_URL security must be one of {', '.join(SECURITIES)}")
        port = parts.port or (465 if security == "ssl" else 25)
        return cls(host=parts.hostname, port=port, username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None, security=security,
                   timeout=float(query.get("timeout", ["30"])[0]))


def account() -> SmtpAccount:
    return SmtpAccount.from_url(config.env("CRM_SMTP_URL", DEFAULT_URL))


class Connection:
    """One SMTP session, opened on first use and reused for many messages; `with Connection(acct) as smtp:`."""

    def __init__(self, acct: SmtpAccount | None = None):
        self.account = acct or account()
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _open(self) -> smtplib.SMTP:
        a = self.account
        try:
            if a.security == "ssl":
                smtp = smtplib.SMTP_SSL(a.host, a.port, timeout=a.timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(a.host, a.port, timeout=a.timeout)
                if a.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            # no Nagle delay: send_bytes writes the body and its final "." apart (the mark between them)
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if a.username:
                smtp.login(a.username, a.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise Unavailable(f"SMTP authentication failed for {a.key} ({exc.smtp_code})") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Unavailable(f"no SMTP session with {a.host}:{a.port}: {type(exc).__name__}") from None
        return smtp

    def send(self, message: EmailMessage, sender: str, recipient: str) -> str:
        """Hand one message over; the server's answer. Raises Refused or Unavailable."""
        if self._smtp is None:
            self._smtp = self._open()
        try:
            refused = self._smtp.send_message(message, from_addr=sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, response = next(iter(exc.recipients.values()))
            raise Refused(code, _text(response)) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            self.close()
            raise Refused(exc.smtp_code, _text(exc.smtp_error)) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise Unavailable(f"SMTP session lost: {type(exc).__name__}") from None
        if refused:
            code, response = next(iter(refused.values()))
            raise Refused(code, _text(response))
        return "250 accepted"

    def send_bytes(self, data: bytes, sender: str, recipient: str, before_end=None) -> str:
        """Hand over one message already formatted (CRLF lines); `before_end()` runs after the whole body has been
        written and before the final "." that makes the server accept it (the send log marks the handoff
        there, see send_job). Raises Refused or Unavailable like `send`."""
        if self._smtp is None:
            self._smtp = self._open()
        smtp = self._smtp
        try:
            smtp.ehlo_or_helo_if_needed()
            if smtp.does_esmtp and "pipelining" in smtp.esmtp_features:
                _envelope_pipelined(smtp, sender, recipient)
            else:
                _envelope(smtp, sender, recipient)
            body = _DOTS.sub(b"..", data)
            smtp.send(body if body.endswith(b"\r\n") else body + b"\r\n")
            if before_end is not None:
                try:
                    before_end()
                except BaseException:
                    self._drop()  # mid-DATA: the server discards a message whose "." never came
                    raise
            smtp.send(b".\r\n")
            code, response = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise Unavailable(f"SMTP session lost: {type(exc).__name__}") from None
        if code != 250:
            raise Refused(code, _text(response))
        return f"{code} {_text(response)}"[:500]

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()  # the session is gone either way


def _envelope(smtp, sender: str, recipient: str) -> None:
    """MAIL FROM, RCPT TO and DATA, each answered before the next; Refused (after a RSET) by the first refusal."""
    smtp.putcmd("mail", "FROM:" + _path(sender))  # smtp.mail(sender), the address quoted cheaper
    code, response = smtp.getreply()
    if code != 250:
        smtp.rset()
        raise Refused(code, _text(response))
    smtp.putcmd("rcpt", "TO:" + _path(recipient))
    code, response = smtp.getreply()
    if code not in (250, 251):
        smtp.rset()
        raise Refused(code, _text(response))
    smtp.putcmd("data")
    code, response = smtp.getreply()
    if code != 354:
        smtp.rset()
        raise Refused(code, _text(response))


def _envelope_pipelined(smtp, sender: str, recipient: str) -> None:
    """The same three commands in one write to a server that offers PIPELINING (RFC 2920), their answers read
    after: one round trip instead of three. A refusal is the first command's that failed; if the server
    still opened the DATA (354) it is closed empty (no recipient took it) before the RSET."""
    smtp.send(f"MAIL FROM:{_path(sender)}\r\nRCPT TO:{_path(recipient)}\r\nDATA\r\n")
    replies = [smtp.getreply() for _ in range(3)]
    wanted = ((250,), (250, 251), (354,))
    refusal = next(((code, response) for (code, response), ok in zip(replies, wanted) if code not in ok), None)
    if refusal is None:
        return
    if replies[2][0] == 354:
        smtp.send(b".\r\n")
        smtp.getreply()
    smtp.rset()
    raise Refused(refusal[0], _text(refusal[1]))


def _text(response) -> str:
    return response.decode("utf-8", "replace") if isinstance(response, bytes) else str(response)
