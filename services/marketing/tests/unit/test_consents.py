"""Consents: one record per address and channel, every change an event (the history), who may be mailed with
and without CRM_MARKETING_REQUIRE_OPT_IN, racing writers, and the privacy part."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.errors import ServiceError
from crm_marketing.domain import consents, segments, suppressions
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, Consent

ADDRESS = "ada@consent.example"


def post(ctx, **body) -> Consent:
    return consents.create(ctx, c.ConsentIn().load({"email": ADDRESS, "channel": "email", **body}))


def test_one_record_per_address_and_channel_each_change_announced(marketer, events):
    given = post(marketer, status="opted_in", source="form:f-1", ip="192.0.2.7", text_version="v3",
                 contact_id="c-1", captured_at="2026-11-02T10:00:00Z")
    dumped = c.Consent().dump(given)
    assert (dumped["email"], dumped["status"], dumped["ip"], dumped["text_version"], dumped["captured_at"],
            dumped["created_by"]) == (ADDRESS, "opted_in", "192.0.2.7", "v3", "2026-11-02T10:00:00.000000Z", "mk-1")
    again = post(marketer, email=" ADA@consent.example", status="opted_out", source="phone call")
    assert again.id == given.id and again.status == "opted_out" and again.version == 2
    sms = post(marketer, channel="sms", status="opted_in")
    assert sms.id != given.id
    first, second, third = events.of(c.CONSENT_CHANGED)
    assert (first["status"], first["previous_status"], first["source"], first["contact_id"]) == (
        "opted_in", None, "form:f-1", "c-1")
    assert (second["status"], second["previous_status"], second["source"]) == ("opted_out", "opted_in", "phone call")
    assert "status" in second["changed_fields"] and "ip" in second["changed_fields"]
    assert third["channel"] == "sms"
    assert all(ADDRESS not in str(data) and "192.0.2.7" not in str(data) for _, data in events)
    events.clear()
    post(marketer, email=ADDRESS, status="opted_out", source="phone call", captured_at=again.captured_at.isoformat())
    assert events.of(c.CONSENT_CHANGED) == []  # nothing changed, nothing announced


def test_update_list_and_filters(marketer, events):
    given = post(marketer, status="pending", source="form:f-2")
    given.confirm_token_hash = "h" * 64
    changed = consents.update(marketer, given.id, c.ConsentPatch().load({"status": "opted_out"}), expected_version=1)
    assert (changed.status, changed.confirm_token_hash, changed.version) == ("opted_out", None, 2)
    assert changed.captured_at is not None
    with pytest.raises(ServiceError) as stale:
        consents.update(marketer, given.id, {"status": "opted_in"}, expected_version=1)
    assert stale.value.code == "precondition_failed"
    post(marketer, email="bo@consent.example", status="opted_in", contact_id="c-2")
    page = lambda **q: [x.email for x in consents.page(marketer, c.ConsentQuery().load(q))["items"]]  # noqa: E731
    assert page(status="opted_in") == ["bo@consent.example"]
    assert page(email=ADDRESS.upper()) == [ADDRESS]
    assert page(contact_id="c-2") == ["bo@consent.example"] and page(channel="sms") == []
    with pytest.raises(ServiceError):
        consents.get(marketer, "no-such-id")


def test_bad_input_is_refused_field_by_field():
    errors = c.ConsentIn().validate({"email": "nope", "channel": "fax", "status": "maybe", "ip": "1.2.3",
                                     "contact_id": "x" * 40})
    assert set(errors) == {"email", "channel", "status", "ip", "contact_id"}


@pytest.mark.parametrize("required, expected", [
    (False, {"none", "in"}),  # opted_out, pending and suppressed addresses are never mailed
    (True, {"in"}),           # only an opt-in is mailed
])
def test_who_may_be_mailed(marketer, session, monkeypatch, required, expected):
    monkeypatch.setenv("CRM_MARKETING_REQUIRE_OPT_IN", "true" if required else "false")
    address = {name: f"{name}@mailable.example" for name in ("none", "in", "out", "pending", "in_suppressed")}
    for name, status in (("in", "opted_in"), ("out", "opted_out"), ("pending", "pending"),
                         ("in_suppressed", "opted_in")):
        consents.record(marketer, address[name], "email", status, "api")
    consents.record(marketer, address["out"], "sms", "opted_in", "api")  # another channel says nothing of email
    suppressions.create(marketer, c.SuppressionIn().load({"email": address["in_suppressed"], "reason": "complaint"}))
    hashes = {email_hash(a): name for name, a in address.items()}
    assert {hashes[h] for h in consents.mailable(session, hashes)} == expected
    for name, a in address.items():
        session.add(AudienceMember(kind="lead", source_id=name, email=a, email_hash=email_hash(a), tags=[], score=0))
    session.flush()
    query = segments.members(session, {"all": [{"field": "kind", "op": "eq", "value": "lead"}]})
    query = query.where(consents.mailable_condition(AudienceMember.email_hash))
    assert {m.source_id for m in session.execute(query).scalars()} == expected
    assert consents.mailable(session, []) == set()


def test_record_is_what_forms_and_unsubscribes_call(make_ctx, events):
    anonymous = make_ctx()
    consent = consents.record(anonymous, ADDRESS, "email", "pending", "form:f-9", ip="2001:db8::1", text_version="v1")
    assert (consent.status, consent.ip, consent.source, consent.captured_at is not None) == (
        "pending", "2001:db8::1", "form:f-9", True)
    consents.record(anonymous, ADDRESS, "email", "opted_out", "unsubscribe")
    assert [e["status"] for e in events.of(c.CONSENT_CHANGED)] == ["pending", "opted_out"]


def test_privacy_export_and_erasure(marketer, make_ctx, session):
    post(marketer, status="opted_out", ip="192.0.2.9")
    data, counts = consents.export(marketer, ADDRESS.upper())
    assert counts == {"consents": 1} and data["consents"][0]["email"] == ADDRESS
    assert consents.erase(make_ctx(), ADDRESS) == {"consents": 1}
    kept = session.execute(select(Consent)).scalar_one()
    assert (kept.email, kept.ip, kept.status, kept.email_hash) == (None, None, "opted_out", email_hash(ADDRESS))
    assert consents.mailable(session, [email_hash(ADDRESS)]) == set()
    assert consents.export(marketer, "someone@else.example") == ({}, {})
