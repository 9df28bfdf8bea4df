"""A caller signed for one call verifies for that call only, within its time, and never as the system."""
from __future__ import annotations

import os

import pytest

from crm_common import callers
from crm_common.context import Actor
from crm_common.errors import ServiceError

KEY = os.urandom(32)
REP = Actor(user_id="u-1", roles=("sales_rep",), perms={"lead": {"read": "own"}}, team_id="t-1")
NOW = 1_800_000_000.0


def refused(data, target="sales.create_lead", now=NOW, key=KEY):
    with pytest.raises(ServiceError) as raised:
        callers.verify(key, target, data, now=now)
    assert raised.value.code == "unauthenticated"
    return raised.value.detail


def test_a_signed_caller_verifies_for_its_call():
    data = callers.sign(KEY, "sales.create_lead", REP, "rid-12345678", now=NOW)
    assert callers.verify(KEY, "sales.create_lead", data, now=NOW + 1) == REP
    assert data["request_id"] == "rid-12345678"


def test_no_caller_is_refused():
    assert "no signed caller" in refused({})
    assert "no signed caller" in refused({"request_id": "rid-12345678"})
    assert "no signed caller" in refused(None)


def test_an_unsigned_or_forged_caller_is_refused():
    assert "no signed caller" in refused({"crm_actor": '{"kind":"system"}', "request_id": "r"})
    data = callers.sign(KEY, "sales.create_lead", REP, now=NOW)
    assert "does not verify" in refused({**data, "crm_actor": Actor(user_id="u-1", roles=("admin",)).encode()})
    assert "does not verify" in refused({**data, "request_id": "another-request"})
    assert "does not verify" in refused({**data, "crm_signed_at": str(int(NOW * 1000) + 1)})


def test_a_signature_under_another_key_is_refused():
    data = callers.sign(os.urandom(32), "sales.create_lead", REP, now=NOW)
    assert "does not verify" in refused(data)


def test_a_signature_replayed_to_another_method_is_refused():
    data = callers.sign(KEY, "sales.list_leads", REP, now=NOW)
    assert "does not verify" in refused(data, target="sales.create_lead")
    assert "does not verify" in refused(data, target="identity.list_leads")


def test_an_expired_signature_is_refused_and_a_little_clock_skew_is_tolerated(monkeypatch):
    monkeypatch.setenv("CRM_BUS_SIGNATURE_TTL", "30")
    data = callers.sign(KEY, "sales.create_lead", REP, now=NOW)
    assert callers.verify(KEY, "sales.create_lead", data, now=NOW + 29.9) == REP
    assert "expired" in refused(data, now=NOW + 30.1)
    assert callers.verify(KEY, "sales.create_lead", data, now=NOW - 4) == REP  # the signer's clock is ahead
    assert "expired" in refused(data, now=NOW - 6)


def test_nobody_signs_in_as_the_system():
    data = callers.sign(KEY, "identity.update_user", Actor(kind="system", roles=("system",)), now=NOW)
    assert "system" in refused(data, target="identity.update_user")


def test_no_actor_signs_as_anonymous_with_no_grants():
    actor = callers.verify(KEY, "sales.health", callers.sign(KEY, "sales.health", None, now=NOW), now=NOW)
    assert actor.kind == "anonymous" and actor.scope("lead", "read") == "none" and not actor.is_admin


def test_the_key_file_is_made_once_and_kept(tmp_path):
    path = tmp_path / "keys" / "bus.key"
    callers.generate_key_file(path)
    first = callers.load_key(path)
    callers.generate_key_file(path)
    assert callers.load_key(path) == first and len(first) == 32
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(callers.BusKeyError):
        callers.load_key(tmp_path / "missing.key")
