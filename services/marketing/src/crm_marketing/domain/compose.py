"""One campaign message as it goes over SMTP: tracked links, the open pixel, the unsubscribe headers.

`compose(...)` takes a rendered message (rendering.render) and gives the bytes handed to SMTP (CRLF lines),
the original links (a click token's link index is the position in that list) and the Message-ID. The MIME
is written here rather than by the `email` package: a campaign of 100,000 recipients formats 100,000
messages, and the package's generator costs more than everything else per message (rendering included).
The result is ordinary MIME (multipart/alternative, UTF-8 quoted-printable parts, RFC 2047 headers), which
the unit tests read back with the `email` package.

- http and https links of the HTML (`<a href>`) become `{CRM_PUBLIC_URL}/t/c/<token>`; mailto:, tel:,
  anchors and the message's own unsubscribe link stay as they are.
- the open pixel `{CRM_PUBLIC_URL}/t/o/<token>` goes before `</body>` (or at the end).
- `List-Unsubscribe: <{CRM_PUBLIC_URL}/u/<token>>` (and `<mailto:...>` when CRM_MARKETING_UNSUBSCRIBE_MAILTO is
  set) with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
"""
from __future__ import annotations

import binascii
import html as htmllib
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from email.header import Header
from email.utils import formataddr, formatdate

from crm_common import config
from crm_marketing.domain import tokens

HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
TAGS = re.compile(r"<[^>]+>")
BLANKS = re.compile(r"\n\s*\n\s*\n+")
TRACKED = ("http://", "https://")


def public_url() -> str:
    return config.env("CRM_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")


@dataclass(frozen=True)
class Sender:
    """Who a campaign's messages come from."""

    email: str
    name: str | None = None
    reply_to: str | None = None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2] or "localhost"


@dataclass(frozen=True)
class Composed:
    data: bytes
    links: list
    message_id: str


def unsubscribe_url(message_id: str, public: str | None = None, minter: tokens.Minter | None = None) -> str:
    return f"{public or public_url()}/u/{(minter or tokens.Minter(message_id)).make('unsubscribe')}"


def track_links(html: str, message_id: str, public: str, minter: tokens.Minter | None = None) -> tuple[str, list]:
    """The HTML with its http(s) links pointing at the click route, and the original links in order."""
    minter = minter or tokens.Minter(message_id)
    links: list[str] = []
    keep = f"{public}/u/"

    def swap(match: re.Match) -> str:
        url = htmllib.unescape(match.group(3)).strip()
        if not url.lower().startswith(TRACKED) or url.startswith(keep):
            return match.group(0)
        links.append(url)
        token = minter.make("click", len(links) - 1)
        return f"{match.group(1)}{match.group(2)}{public}/t/c/{token}{match.group(2)}"

    return HREF.sub(swap, html), links


def pixel(public: str, minter: tokens.Minter) -> str:
    """The open pixel's tag."""
    return (f'<img src="{public}/t/o/{minter.make("open")}" width="1" height="1" alt="" '
            'style="display:block;border:0;width:1px;height:1px">')


def add_pixel(html: str, message_id: str, public: str, minter: tokens.Minter | None = None) -> str:
    pixel_tag = pixel(public, minter or tokens.Minter(message_id))
    found = None
    for found in BODY_END.finditer(html):
        pass
    if found is None:
        return html + pixel_tag
    return html[:found.start()] + pixel_tag + html[found.start():]


def text_of(html: str) -> str:
    """A plain-text part for a template without one: the HTML's text."""
    text = TAGS.sub("", re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>|</h\d\s*>|</li\s*>|</tr\s*>", "\n", html))
    return BLANKS.sub("\n\n", htmllib.unescape(text)).strip()


def _header(value: str) -> str:
    value = " ".join(value.split())  # no line breaks in a header (no header injection)
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


@lru_cache(maxsize=64)  # a campaign's every message has the same From
def _address(name: str | None, email: str) -> str:
    return formataddr((" ".join(name.split()), email)) if name else email


_DATE = [0, ""]


def _date() -> str:
    """The Date header's value, formatted once a second."""
    now = int(time.time())
    if _DATE[0] != now:
        _DATE[:] = [now, formatdate(now, localtime=False, usegmt=True)]
    return _DATE[1]


def _qp(text: str) -> bytes:
    raw = text.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(raw, istext=True).replace(b"\n", b"\r\n")


def compose(rendered, *, message_id: str, to: str, sender: Sender, test: bool = False,
            public: str | None = None, unsubscribe_mailto: str | None = None, unsubscribe: str | None = None,
            minter: tokens.Minter | None = None) -> Composed:
    """The message to `to` for the send log row `message_id` (its id signs the tokens; `minter`, that id's
    token maker, when the caller made one already)."""
    public = public or public_url()
    minter = minter or tokens.Minter(message_id)
    html, links = track_links(rendered.html or "", message_id, public, minter)
    html = add_pixel(html, message_id, public, minter)
    unsubscribe = unsubscribe or unsubscribe_url(message_id, public, minter)
    text = rendered.text if rendered.text and rendered.text.strip() else text_of(rendered.html or "")
    subject = f"[Test] {rendered.subject}" if test else rendered.subject
    return mime(html, text, subject, links, message_id=message_id, to=to, sender=sender, unsubscribe=unsubscribe,
                unsubscribe_mailto=unsubscribe_mailto)


def mime(html: str, text: str, subject: str, links: list, *, message_id: str, to: str, sender: Sender,
         unsubscribe: str, unsubscribe_mailto: str | None) -> Composed:
    """The message's bytes from its tracked HTML, its text (the unsubscribe link added unless it has it) and
    subject."""
    if unsubscribe not in text:
        text = f"{text}\n\n--\nUnsubscribe: {unsubscribe}\n"
    mid = f"<{message_id}@{sender.domain}>"
    mailto = unsubscribe_mailto if unsubscribe_mailto is not None else config.env("CRM_MARKETING_UNSUBSCRIBE_MAILTO")
    list_unsubscribe = f"<{unsubscribe}>" + (f", <mailto:{mailto}?subject=unsubscribe>" if mailto else "")
    boundary = f"=_{message_id.replace('-', '')}"  # the row id is random already: unique per message
    headers = [
        f"From: {_address(sender.name, sender.email)}",
        f"To: {to}",
        f"Subject: {_header(subject)}",
        f"Date: {_date()}",
        f"Message-ID: {mid}",
        *([f"Reply-To: {_header(sender.reply_to)}"] if sender.reply_to else []),
        f"List-Unsubscribe: {list_unsubscribe}",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    part = "Content-Type: text/{kind}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    data = b"".join([
        "\r\n".join(headers).encode("utf-8"), b"\r\n\r\n",
        f"--{boundary}\r\n".encode(), part.format(kind="plain").encode(), _qp(text), b"\r\n",
        f"--{boundary}\r\n".encode(), part.format(kind="html").encode(), _qp(html), b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ])
    return Composed(data, links, mid)
