"""Outbound URLs a user may name (webhooks): never an address of the suite's own network (SSRF).

`check(url, allow_hosts=..., require_https=...)` parses the URL, resolves its host ONCE and refuses it when
any address it resolves to is loopback, private, link-local (cloud metadata: 169.254.169.254), unspecified,
multicast, reserved or shared (CGNAT), including loopback in disguise: `127.1`, `2130706433`, `0x7f.1`,
`localhost.`, IPv4-mapped or NAT64 IPv6 (`::ffff:127.0.0.1`). It answers a `Target` whose `address` is the
checked one: `connect(target)` opens the connection to exactly that address (a second DNS answer cannot
swap in another; TLS still checks the certificate of the URL's host). Nothing here follows redirects.

A host an administrator lists in `CRM_WEBHOOK_ALLOW_HOSTS` (comma-separated `host` or `host:port`: an ESB on
the internal network; the tests' loopback receivers) skips the address check and may use plain http.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from crm_common import config

NAT64 = ipaddress.ip_network("64:ff9b::/96")
BLOCKED_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why, without the URL's secrets."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the checked address the connection goes to
    path: str  # path and query, as sent in the request line


def allowed_hosts(text: str | None = None) -> frozenset[str]:
    """`CRM_WEBHOOK_ALLOW_HOSTS` (or `text`): lower-cased `host` and `host:port` items."""
    raw = config.env("CRM_WEBHOOK_ALLOW_HOSTS", "") if text is None else text
    return frozenset(item.strip().lower().rstrip(".") for item in (raw or "").split(",") if item.strip())


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address of an IPv4 literal in any form inet_aton takes (`127.1`, `2130706433`, `0x7f.0.0.1`,
    `0177.0.0.1`), or None for a name."""
    if not host or not all(ch in "0123456789abcdefx." for ch in host) or host.endswith("."):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def unsafe_reason(address: str) -> str | None:
    """Why an address may not be called (None: a public address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None)
        if ip.teredo:
            embedded = ip.teredo[1]
        if embedded is not None:
            return unsafe_reason(str(embedded)) or None
    for flag, why in (("is_loopback", "a loopback address"), ("is_link_local", "a link-local or metadata address"),
                      ("is_unspecified", "an unspecified address"), ("is_multicast", "a multicast address"),
                      ("is_private", "a private address"), ("is_reserved", "a reserved address")):
        if getattr(ip, flag):
            return why
    if not ip.is_global:
        return "not a public address"
    return None


def _resolve(host: str, port: int) -> list[str]:
    if config.env("CRM_WEBHOOK_DNS", "on") == "off":  # tests: no query leaves the machine; a name is refused
        raise OSError("name resolution is off (CRM_WEBHOOK_DNS=off)")
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def check(url: str, allow_hosts: frozenset[str] | None = None, require_https: bool | None = None,
          resolve=None) -> Target:
    """The target of a URL that may be called, or UnsafeUrl. `resolve(host, port)` -> addresses (DNS)."""
    allow = allowed_hosts() if allow_hosts is None else allow_hosts
    resolve = resolve or _resolve
    https_only = (config.env("CRM_ENV", "") == "production") if require_https is None else require_https
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("not a valid URL")
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("the URL must be http or https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL may not carry credentials")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UnsafeUrl("the URL has no host")
    port = port or (443 if scheme == "https" else 80)
    allowed = host in allow or f"{host}:{port}" in allow
    if scheme != "https" and https_only and not allowed:
        raise UnsafeUrl("the URL must be https")
    path = parts.path or "/"
    path += f"?{parts.query}" if parts.query else ""
    literal = legacy_ipv4(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if not allowed and (host in BLOCKED_NAMES or host.endswith(".localhost")):
                raise UnsafeUrl("the host is this machine")
            try:
                addresses = resolve(host, port)
            except (OSError, UnicodeError):
                raise UnsafeUrl("the host does not resolve")
    if not addresses:
        raise UnsafeUrl("the host does not resolve")
    if not allowed:
        for address in addresses:
            why = unsafe_reason(address)
            if why:
                raise UnsafeUrl(f"the host resolves to {why}; an administrator may allow it in CRM_WEBHOOK_ALLOW_HOSTS")
    return Target(scheme, host, port, addresses[0], path)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the checked address, with SNI and the certificate checked for the URL's host."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext | None = None):
        super().__init__(target.host, target.port, timeout=timeout, context=context or ssl.create_default_context())
        self._address = target.address

    def connect(self):
        sock = _open(self._address, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = _open(self._address, self.port, self.timeout)


def _open(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the checked address, without Nagle's delay (as http.client's own connect does):
    a kept-alive connection sends its headers and body in two writes, which Nagle would hold ~40 ms."""
    sock = socket.create_connection((address, port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def connect(target: Target, timeout: float) -> http.client.HTTPConnection:
    """A connection to the target's checked address (the Host header is the URL's host); redirects are
    answers like any other: nothing follows them."""
    return _PinnedHTTPS(target, timeout) if target.scheme == "https" else _PinnedHTTP(target, timeout)
