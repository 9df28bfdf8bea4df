"""The outbound address guard (SSRF): every address of the suite's own network refused, after resolution.

These tests never send anything: names resolve through a fake resolver, literals need none."""
from __future__ import annotations

import pytest

from crm_common import urlguard
from crm_common.urlguard import UnsafeUrl, check

PUBLIC = "93.184.216.34"


def fake_dns(table):
    def resolve(host, port):
        if host not in table:
            raise OSError("no such host")
        return table[host]
    return resolve


NO_DNS = fake_dns({})


@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://10.0.0.1/", "https://10.255.255.255/", "https://172.16.0.1/", "https://172.31.255.254/",
    "https://192.168.1.1/", "https://100.64.0.1/",  # private and shared (CGNAT)
    "https://127.0.0.1/", "https://127.1/", "https://127.0.1/", "https://2130706433/", "https://0x7f000001/",
    "https://0x7f.0.0.1/", "https://0177.0.0.1/", "https://017700000001/",  # loopback in disguise
    "https://0.0.0.0/", "https://0/",  # unspecified
    "https://[::1]/", "https://[::]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/",
    "https://[::ffff:169.254.169.254]/", "https://[::ffff:10.0.0.1]/", "https://[64:ff9b::a9fe:a9fe]/",
    "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "https://[fe80::1]/", "https://[fc00::1]/", "https://[fd12:3456::1]/",
    "https://224.0.0.1/", "https://[ff02::1]/", "https://240.0.0.1/", "https://255.255.255.255/",
    "https://localhost/", "https://localhost./", "https://LOCALHOST/", "https://api.localhost/",
    "https://localhost.:443/",
])
def test_addresses_of_the_suites_own_network_are_refused(url):
    with pytest.raises(UnsafeUrl):
        check(url, allow_hosts=frozenset(), require_https=True, resolve=NO_DNS)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "192.168.1.1", "::1",
                                     "::ffff:127.0.0.1", "fd00::1", "0.0.0.0"])
def test_a_name_that_resolves_to_an_internal_address_is_refused_after_resolution(address):
    resolve = fake_dns({"evil.example": [address]})
    with pytest.raises(UnsafeUrl) as raised:
        check("https://evil.example/hook", allow_hosts=frozenset(), require_https=True, resolve=resolve)
    assert "resolves to" in str(raised.value)


def test_one_internal_address_among_public_ones_refuses_the_name():
    resolve = fake_dns({"mixed.example": [PUBLIC, "10.0.0.7"]})
    with pytest.raises(UnsafeUrl):
        check("https://mixed.example/", allow_hosts=frozenset(), require_https=True, resolve=resolve)


def test_a_public_name_is_pinned_to_the_address_that_was_checked():
    calls = []

    def resolve(host, port):
        calls.append((host, port))
        return [PUBLIC]
    target = check("https://hooks.example.com:8443/in?x=1", allow_hosts=frozenset(), require_https=True,
                   resolve=resolve)
    assert target == urlguard.Target("https", "hooks.example.com", 8443, PUBLIC, "/in?x=1")
    assert calls == [("hooks.example.com", 8443)]  # resolved once: the connection goes to target.address
    conn = urlguard.connect(target, timeout=15)
    assert (conn.host, conn.port, conn._address, conn.timeout) == ("hooks.example.com", 8443, PUBLIC, 15)


@pytest.mark.parametrize("url, why", [
    ("ftp://example.com/", "http or https"), ("file:///etc/passwd", "http or https"),
    ("gopher://example.com/", "http or https"), ("https://user:pw@example.com/", "credentials"),
    ("http://example.com/", "must be https"), ("https:///nohost", "no host"), ("https://example.com:99999/", "valid"),
    ("https://nowhere.invalid/", "does not resolve"),
])
def test_other_refusals_say_why_without_the_url(url, why):
    with pytest.raises(UnsafeUrl) as raised:
        check(url, allow_hosts=frozenset(), require_https=True, resolve=fake_dns({"example.com": [PUBLIC]}))
    assert why in str(raised.value) and "pw" not in str(raised.value)


def test_plain_http_is_allowed_outside_production():
    target = check("http://example.com/", allow_hosts=frozenset(), require_https=False,
                   resolve=fake_dns({"example.com": [PUBLIC]}))
    assert (target.scheme, target.port) == ("http", 80)


def test_an_allowed_host_or_host_and_port_may_be_internal_and_plain_http():
    allow = urlguard.allowed_hosts(" 127.0.0.1:8081 , ESB.internal. ")
    assert allow == frozenset({"127.0.0.1:8081", "esb.internal"})
    assert check("http://127.0.0.1:8081/h", allow_hosts=allow, require_https=True, resolve=NO_DNS).address == "127.0.0.1"
    esb = check("http://esb.internal/h", allow_hosts=allow, require_https=True,
                resolve=fake_dns({"esb.internal": ["10.1.2.3"]}))
    assert esb.address == "10.1.2.3"
    with pytest.raises(UnsafeUrl):  # the same host on another port is not allowed
        check("http://127.0.0.1:8082/h", allow_hosts=allow, require_https=False, resolve=NO_DNS)


def test_the_allow_list_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CRM_WEBHOOK_ALLOW_HOSTS", "127.0.0.1:9000")
    assert check("http://127.0.0.1:9000/", require_https=False).address == "127.0.0.1"
    monkeypatch.delenv("CRM_WEBHOOK_ALLOW_HOSTS")
    with pytest.raises(UnsafeUrl):
        check("http://127.0.0.1:9000/", require_https=False)


@pytest.mark.parametrize("host, expected", [("127.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
                                            ("0x7f.1", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"),
                                            ("10.1", "10.0.0.1"), ("example.com", None), ("127.0.0.1.", None)])
def test_legacy_ipv4_literals_are_read_as_the_address_a_resolver_would_give(host, expected):
    found = urlguard.legacy_ipv4(host)
    assert (str(found) if found else None) == expected


def test_with_name_resolution_off_a_name_is_refused_without_a_query(monkeypatch):
    import socket
    monkeypatch.setenv("CRM_WEBHOOK_DNS", "off")
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("a DNS query was made"))
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        check("https://hooks.example.com/", allow_hosts=frozenset(), require_https=True)
