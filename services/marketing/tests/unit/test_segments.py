"""Segments as the service keeps them: created with checked rules and counted, changed, deleted, members paged,
recipients at send time (one per address, union of segments), events, and who may do what."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_marketing.domain import segments
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, Segment

GERMANS = {"all": [{"field": "country", "op": "eq", "value": "DE"}]}
LEADS = {"all": [{"field": "kind", "op": "eq", "value": "lead"}]}


@pytest.fixture
def audience(session):
    rows = []
    for n, (kind, country, email) in enumerate([("contact", "DE", "ada@x.example"), ("lead", "DE", "ada@x.example"),
                                                ("lead", "FR", "bo@x.example"), ("lead", "DE", None),
                                                ("contact", "DE", "cy@x.example")]):
        rows.append(AudienceMember(kind=kind, source_id=f"s-{n}", country=country, email=email, tags=[], score=0,
                                   email_hash=email_hash(email) if email else None))
    rows[4].deleted_at = utcnow()  # left the audience
    session.add_all(rows)
    session.flush()
    return rows


def make(ctx, **body) -> Segment:
    return segments.create(ctx, c.SegmentIn().load({"name": "Germans", "rules": GERMANS, **body}))


def test_a_segment_is_created_counted_changed_and_deleted(marketer, events, audience):
    segment = make(marketer, description="DACH push")
    assert (segment.member_count, segment.owner_id) == (3, "mk-1")
    dumped = c.Segment().dump(segment)
    assert dumped["member_count"] == 3 and dumped["rules"] == GERMANS and dumped["version"] == 1
    assert events.of(c.SEGMENT_CREATED) == [{"id": segment.id, "name": "Germans"}]
    changed = segments.update(marketer, segment.id, c.SegmentPatch().load({"rules": LEADS}), expected_version=1)
    assert (changed.member_count, changed.version) == (3, 2)
    assert events.of(c.SEGMENT_UPDATED) == [{"id": segment.id, "name": "Germans", "changed_fields": ["rules"]}]
    with pytest.raises(ServiceError) as stale:
        segments.update(marketer, segment.id, {"name": "x"}, expected_version=1)
    assert stale.value.code == "precondition_failed"
    segments.delete(marketer, segment.id)
    assert events.of(c.SEGMENT_DELETED) == [{"id": segment.id, "name": "Germans"}]
    with pytest.raises(ServiceError) as gone:
        segments.get(marketer, segment.id)
    assert gone.value.code == "not_found"


def test_a_bad_rule_writes_nothing(marketer, events, session):
    with pytest.raises(ServiceError) as bad:
        make(marketer, rules={"all": [{"field": "grade", "op": "gt", "value": "A"}]})
    assert bad.value.code == "validation_failed" and "rules.all.0.op" in bad.value.errors
    segment = make(marketer)
    with pytest.raises(ServiceError):
        segments.update(marketer, segment.id, {"name": "Renamed", "rules": {"any": []}})
    assert session.execute(select(Segment.name)).scalars().all() == ["Germans"] and len(events) == 1


def test_members_are_paged_and_counted(marketer, audience):
    segment = make(marketer)
    first = segments.list_members(marketer, segment.id, {"limit": 2})
    assert first["count"] == 3 and len(first["items"]) == 2 and first["next_cursor"]
    second = segments.list_members(marketer, segment.id, {"limit": 2, "cursor": first["next_cursor"]})
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    seen = {m.id for m in first["items"] + second["items"]}
    assert seen == {audience[0].id, audience[1].id, audience[3].id}
    page = c.MemberPage().dump(first)
    assert page["count"] == 3 and {"kind", "email", "grade"} <= set(page["items"][0])


def test_the_list_counts_only_when_asked(marketer, audience):
    make(marketer)
    plain = [s.member_count for s in segments.page(marketer, {"limit": 50})["items"]]
    counted = [s.member_count for s in segments.page(marketer, {"limit": 50, "counts": True})["items"]]
    assert (plain, counted) == ([None], [3])
    assert segments.page(marketer, {"q": "germ"})["items"] and not segments.page(marketer, {"q": "zzz"})["items"]


def test_recipients_are_one_live_member_per_address_over_the_union_of_segments(marketer, session, audience):
    germans, leads = make(marketer), make(marketer, name="Leads", rules=LEADS)
    rows = session.execute(segments.recipients(session, [germans.id, leads.id])).scalars().all()
    # ada is a contact and a lead: the contact is sent to; the lead without an address and the deleted contact not
    assert sorted((m.email, m.kind) for m in rows) == [("ada@x.example", "contact"), ("bo@x.example", "lead")]
    assert session.execute(segments.recipients(session, [leads.id])).scalars().all() != []
    segments.delete(marketer, leads.id)
    rows = session.execute(segments.recipients(session, [germans.id, leads.id, "no-such"])).scalars().all()
    assert [m.email for m in rows] == ["ada@x.example"]
    assert session.execute(segments.recipients(session, [])).scalars().all() == []


def test_a_role_without_the_permission_is_refused_and_a_reader_reads(ctx_as, marketer, audience):
    segment = make(marketer)
    analyst = ctx_as("analyst", "an-1")
    assert segments.get(analyst, segment.id).member_count == 3
    with pytest.raises(ServiceError) as refused:
        segments.update(analyst, segment.id, {"name": "mine"})
    assert refused.value.code in ("forbidden", "not_found") and segment.name == "Germans"
