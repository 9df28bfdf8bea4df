"""The audience kept from other services' events (dispatched as the service's event stream does): leads,
contacts and their accounts, conversion and merges, deletions, orders, tickets and surveys; idempotent rows."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from crm_common.entrypoint import dispatch
from crm_common.envelope import make_envelope
from crm_marketing import handlers
from crm_marketing.domain import audience
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceActivity, AudienceMember


@pytest.fixture
def send(make_ctx):
    ctx = make_ctx()

    def send(type_: str, data: dict) -> dict:
        envelope = make_envelope(type_, data, type_.split(".")[0], None, "req-1")
        assert dispatch(ctx, envelope, handlers.HANDLERS), type_
        ctx.session.flush()
        return envelope
    return send


def member(session, kind: str, source_id: str) -> AudienceMember:
    return session.execute(select(AudienceMember).where(AudienceMember.kind == kind,
                                                        AudienceMember.source_id == source_id)).scalar_one()


def activities(session, **where) -> list[AudienceActivity]:
    query = select(AudienceActivity).filter_by(**where).order_by(AudienceActivity.occurred_at)
    return list(session.execute(query).scalars())


LEAD = {"id": "lead-1", "first_name": "Ada", "last_name": "Lovelace", "company": "Engines Ltd",
        "email": " Ada@Engines.EXAMPLE ", "phone": None, "country": "gb", "industry": "software", "source": "web",
        "status": "new", "owner_id": "u-1", "territory_id": None, "campaign_id": "camp-1", "duplicate_of_id": None,
        "title": "CTO", "score": 12, "something_new": "ignored"}


def test_a_lead_is_copied_and_only_the_fields_an_event_carries_change(session, send):
    send("sales.lead_created.v1", LEAD)
    lead = member(session, "lead", "lead-1")
    assert (lead.email, lead.email_hash, lead.first_name, lead.company, lead.country, lead.lead_status, lead.score,
            lead.campaign_id, lead.title) == ("ada@engines.example", email_hash("ada@engines.example"), "Ada",
                                              "Engines Ltd", "GB", "new", 12, "camp-1", "CTO")
    send("sales.lead_updated.v1", {"id": "lead-1", "status": "qualified", "changed_fields": ["status"]})
    send("sales.lead_assigned.v1", {"id": "lead-1", "owner_id": "u-2", "previous_owner_id": "u-1", "rule": "manual"})
    assert (lead.lead_status, lead.owner_id, lead.email, lead.company) == ("qualified", "u-2", "ada@engines.example",
                                                                           "Engines Ltd")
    send("sales.leads_imported.v1", {"job_id": "j-1", "ids": ["lead-2"], "leads": [
        {"id": "lead-2", "email": "bo@imports.example", "company": "Imported", "status": "new", "team_id": "t"}]})
    assert member(session, "lead", "lead-2").email == "bo@imports.example"


def test_sales_tags_reach_the_audience_and_a_segment_rule_on_a_tag(session, send):
    from crm_marketing.domain import segment_rules
    send("sales.lead_created.v1", {**LEAD, "tags": ["vip", "expo-2026", "vip"]})
    send("sales.contact_created.v1", {"id": "c-9", "email": "t@tags.example", "tags": ["expo-2026"]})
    lead, contact = member(session, "lead", "lead-1"), member(session, "contact", "c-9")
    assert (lead.tags, contact.tags) == (["expo-2026", "vip"], ["expo-2026"])

    def tagged(tag):
        where = segment_rules.condition({"all": [{"field": "tags", "op": "contains", "value": tag}]})
        return sorted(m.source_id for m in session.execute(select(AudienceMember).where(where)).scalars())
    assert (tagged("vip"), tagged("expo-2026")) == (["lead-1"], ["c-9", "lead-1"])
    send("sales.lead_updated.v1", {"id": "lead-1", "tags": [], "changed_fields": ["tags"]})
    send("sales.contact_updated.v1", {"id": "c-9", "first_name": "Tia", "changed_fields": ["first_name"]})
    assert (lead.tags, contact.tags, tagged("vip")) == ([], ["expo-2026"], [])  # an event without tags keeps them


def test_a_contact_takes_its_account_whichever_arrives_first_and_follows_it(session, send):
    send("sales.contact_created.v1", {"id": "c-1", "account_id": "a-1", "first_name": "Grace", "last_name": "Hopper",
                                      "email": "grace@navy.example", "title": "Admiral", "owner_id": "u-1"})
    contact = member(session, "contact", "c-1")
    assert (contact.company, contact.grade) == (None, None)
    send("sales.account_created.v1", {"id": "a-1", "name": "Navy", "country": "us", "industry": "defence",
                                      "grade": "B", "lifecycle_stage": "prospect", "owner_id": "u-1"})
    assert (contact.company, contact.country, contact.industry, contact.grade, contact.lifecycle_stage) == (
        "Navy", "US", "defence", "B", "prospect")
    send("sales.account_updated.v1", {"id": "a-1", "name": "Navy", "country": "US", "industry": "defence",
                                      "grade": "A", "lifecycle_stage": "customer", "changed_fields": ["grade"]})
    send("sales.contact_created.v1", {"id": "c-2", "account_id": "a-1", "email": "late@navy.example"})
    assert (contact.grade, contact.lifecycle_stage) == ("A", "customer")
    assert member(session, "contact", "c-2").grade == "A"


def test_a_converted_lead_leaves_and_its_contact_joins_with_its_behaviour(session, send):
    send("sales.lead_created.v1", LEAD)
    lead = member(session, "lead", "lead-1")
    send("service_desk.ticket_opened.v1",
         {"id": "t-1", "number": "T-1", "status": "new", "requester_email": "ADA@engines.example"})
    assert [a.member_id for a in activities(session, kind="ticket_opened")] == [lead.id]
    send("sales.account_created.v1", {"id": "a-9", "name": "Engines Ltd", "country": "GB", "grade": "C"})
    send("sales.lead_converted.v1", {"id": "lead-1", "account_id": "a-9", "contact_id": "c-9", "opportunity_id": None})
    contact = member(session, "contact", "c-9")
    assert lead.deleted_at is not None and contact.deleted_at is None
    assert (contact.email, contact.campaign_id, contact.grade, contact.score) == ("ada@engines.example", "camp-1",
                                                                                  "C", 12)
    assert [a.member_id for a in activities(session, kind="ticket_opened")] == [contact.id]
    send("sales.contact_created.v1", {"id": "c-9", "account_id": "a-9", "first_name": "Ada",
                                      "email": "ada@engines.example"})
    assert member(session, "contact", "c-9").id == contact.id
    send("sales.lead_updated.v1", {**LEAD, "changed_fields": ["status"]})
    assert lead.deleted_at is not None  # an update never brings a member back


def test_merges_and_deletions(session, send):
    for n in (1, 2):
        send("sales.account_created.v1", {"id": f"a-{n}", "name": f"Acme {n}", "grade": "AB"[n - 1]})
        send("sales.contact_created.v1", {"id": f"c-{n}", "account_id": f"a-{n}", "email": f"p{n}@acme.example"})
    send("sales.order_placed.v1", {"id": "o-1", "account_id": "a-2", "status": "placed", "total": "10.00",
                                   "currency": "EUR", "product_ids": ["p-1"]})
    c1, c2 = member(session, "contact", "c-1"), member(session, "contact", "c-2")
    send("service_desk.ticket_opened.v1", {"id": "t-1", "number": "T-1", "contact_id": "c-2"})
    send("sales.account_merged.v1", {"id": "a-1", "name": "Acme", "grade": "A", "merged_ids": ["a-2"]})
    assert (c2.account_id, c2.company, c2.grade) == ("a-1", "Acme", "A")
    assert [a.account_id for a in activities(session, kind="order_placed")] == ["a-1"]
    send("sales.contact_merged.v1", {"id": "c-1", "account_id": "a-1", "email": "p1@acme.example",
                                     "merged_ids": ["c-2"]})
    assert c2.deleted_at is not None and [a.member_id for a in activities(session, kind="ticket_opened")] == [c1.id]
    send("sales.record_changed.v1", {"entity": "contact", "id": "c-1", "action": "delete", "changed_fields": []})
    send("sales.record_changed.v1", {"entity": "opportunity", "id": "c-1", "action": "delete", "changed_fields": []})
    assert c1.deleted_at is not None


def test_behaviour_from_orders_tickets_and_surveys_is_recorded_once_per_event(session, send, make_ctx):
    send("sales.contact_created.v1", {"id": "c-1", "account_id": "a-1", "email": "buyer@shop.example"})
    contact = member(session, "contact", "c-1")
    order = send("sales.order_placed.v1", {"id": "o-1", "account_id": "a-1", "status": "placed", "total": "99.00",
                                           "currency": "EUR", "product_ids": ["p-2", "p-1", "p-1"]})
    bought = activities(session, kind="order_placed")
    assert sorted(a.ref_id for a in bought) == ["p-1", "p-2"]
    assert {a.account_id for a in bought} == {"a-1"} and bought[0].detail["order_id"] == "o-1"
    assert {a.occurred_at for a in bought} == {audience.occurred(order)}
    send("sales.order_placed.v1", {"id": "o-2", "account_id": "a-1", "status": "placed", "total": "1.00",
                                   "currency": "EUR"})  # an order without products: one row
    assert len(activities(session, kind="order_placed")) == 3
    for type_, status in (("opened", "new"), ("solved", "solved"), ("reopened", "open"), ("closed", "closed")):
        send(f"service_desk.ticket_{type_}.v1", {"id": "t-1", "number": "T-1", "status": status, "contact_id": "c-1",
                                                 "account_id": "a-1"})
    rows = activities(session, ref_id="t-1")
    assert [(a.kind, a.detail["status"], a.member_id) for a in rows] == [
        ("ticket_opened", "new", contact.id), ("ticket_solved", "solved", contact.id),
        ("ticket_opened", "open", contact.id), ("ticket_solved", "closed", contact.id)]
    send("service_desk.survey_answered.v1", {"id": "s-1", "ticket_id": "t-1", "score": 2, "contact_id": "c-1",
                                             "kind": "csat"})
    survey, = activities(session, kind="survey_answered")
    assert (survey.member_id, survey.detail["score"], survey.ref_id) == (contact.id, 2, "t-1")
    # the same event twice (the inbox stops it first; the row's source_event_id would too)
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            audience.order_placed(session, {"id": "o-2", "account_id": "a-1"}, {"event_id": bought[0].source_event_id})


def test_an_address_is_linked_to_the_member_who_arrives_later(session, send):
    send("service_desk.ticket_opened.v1", {"id": "t-5", "number": "T-5", "requester_email": "new@later.example"})
    row, = activities(session, kind="ticket_opened")
    assert row.member_id is None and row.email_hash == email_hash("new@later.example")
    send("sales.lead_created.v1", {"id": "lead-5", "email": "New@Later.example"})
    assert row.member_id == member(session, "lead", "lead-5").id


def test_a_missing_required_field_fails_the_event(make_ctx):
    envelope = make_envelope("sales.lead_converted.v1", {"id": "lead-1"}, "sales", None, "req-1")
    with pytest.raises(ValidationError):
        dispatch(make_ctx(), envelope, handlers.HANDLERS)


def test_privacy_export_and_erasure_of_the_audience(session, send, make_ctx):
    send("sales.lead_created.v1", LEAD)
    send("service_desk.ticket_opened.v1", {"id": "t-1", "number": "T-1", "requester_email": "ada@engines.example"})
    data, counts = audience.export(make_ctx(), "ADA@engines.example")
    assert counts == {"audience_members": 1, "audience_activity": 1}
    assert data["audience_members"][0]["last_name"] == "Lovelace" and data["audience_activity"][0]["ref_id"] == "t-1"
    assert audience.erase(make_ctx(), "ada@engines.example") == {"audience_members": 1, "audience_activity": 1}
    lead = member(session, "lead", "lead-1")
    assert (lead.email, lead.email_hash, lead.last_name, lead.deleted_at is not None) == (None, None, None, True)
    assert activities(session) == [] and audience.export(make_ctx(), "ada@engines.example") == ({}, {})
