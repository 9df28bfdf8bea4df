"""Routing rules and assignment; SLA policies, due times, pauses, breaches, escalation, compliance."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from crm_common.errors import ServiceError
from crm_service_desk.domain import agents, configuration, conversation, sla, tickets
from crm_service_desk.models import AccountCopy, Comment, Notification, SlaBreach

UTC = timezone.utc


def make(desk, what, **data):
    return desk.run(desk.manager, configuration.KINDS[what].create, data)


def open_ticket(desk, **fields):
    body = {"subject": "Cannot log in", "description": "password reset fails", "channel": "email",
            "type": "incident", "priority": "normal", "requester_email": "ada@example.com", **fields}
    return desk.run(desk.manager, tickets.create_ticket, body)


def test_rules_route_by_channel_keywords_and_grade(desk):
    billing = make(desk, "group", name="Billing", member_ids=[], assignment="none")
    vip = make(desk, "group", name="VIP", member_ids=[], assignment="none")
    phones = make(desk, "group", name="Phones", member_ids=[], assignment="none")
    make(desk, "routing_rule", name="grade A", position=1, account_grade="A", group_id=vip.id, keywords=[])
    make(desk, "routing_rule", name="invoices", position=2, keywords=["Invoice", "refund"], group_id=billing.id)
    make(desk, "routing_rule", name="phone", position=3, channel="phone", group_id=phones.id, keywords=[])
    desk.add(AccountCopy(id="acc-a", name="Big", grade="A"))
    assert open_ticket(desk, subject="Wrong invoice").group_id == billing.id
    assert open_ticket(desk, subject="Wrong invoice", account_id="acc-a").group_id == vip.id
    assert open_ticket(desk, channel="phone").group_id == phones.id
    assert open_ticket(desk).group_id is None


def test_round_robin_skips_unavailable_and_deactivated_agents(desk):
    a, b, c = desk.agent(), desk.agent(), desk.agent()
    group = make(desk, "group", name="L1", member_ids=[a.user_id, b.user_id, c.user_id], assignment="round_robin")
    make(desk, "routing_rule", name="all", group_id=group.id, keywords=[])
    assigned = [open_ticket(desk).assignee_id for _ in range(4)]
    assert assigned == [a.user_id, b.user_id, c.user_id, a.user_id]
    desk.run(b, agents.set_available, b.user_id, {"available": False})
    assert [open_ticket(desk).assignee_id for _ in range(2)] == [c.user_id, a.user_id]
    ticket = open_ticket(desk)
    assert ticket.status == "open"  # an assigned new ticket is open
    assert desk.events("ticket_assigned")[-1]["data"]["assignee_id"] == ticket.assignee_id


def test_least_loaded_picks_the_agent_with_fewest_open_tickets(desk):
    a, b = desk.agent(), desk.agent()
    group = make(desk, "group", name="L2", member_ids=[a.user_id, b.user_id], assignment="least_loaded")
    first = open_ticket(desk, group_id=group.id)
    second = open_ticket(desk, group_id=group.id)
    assert {first.assignee_id, second.assignee_id} == {a.user_id, b.user_id}
    desk.run(desk.manager, tickets.update_ticket, first.id, {"status": "solved"}, None)
    assert open_ticket(desk, group_id=group.id).assignee_id == first.assignee_id


def test_deactivated_agent_hands_open_tickets_back_to_the_group(desk):
    a, b = desk.agent(), desk.agent()
    group = make(desk, "group", name="L3", member_ids=[a.user_id, b.user_id], assignment="round_robin")
    ticket = open_ticket(desk, group_id=group.id, assignee_id=a.user_id)
    desk.run(None, agents.deactivate, {"id": a.user_id})
    assert desk.run(desk.manager, tickets.get_ticket, ticket.id).assignee_id == b.user_id
    assert open_ticket(desk, group_id=group.id).assignee_id == b.user_id  # no new tickets for a


def test_manual_reassignment_needs_the_assign_permission(desk):
    a = desk.agent()
    ticket = open_ticket(desk)
    rep = desk.actor("sales_manager")
    updated = desk.run(desk.manager, tickets.update_ticket, ticket.id, {"assignee_id": a.user_id}, None)
    assert updated.assignee_id == a.user_id and updated.status == "open"
    assert rep.scope("ticket", "assign") == "none"


def test_policy_by_priority_and_grade_with_business_hours(desk):
    hours = make(desk, "business_hours", name="Office", utc_offset_minutes=0, holidays=[],
                 intervals=[{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)])
    make(desk, "sla_policy", name="Normal", priority="normal", account_grade=None, first_response_minutes=60,
         resolution_minutes=480, business_hours_id=hours.id, active=True)
    gold = make(desk, "sla_policy", name="Normal A", priority="normal", account_grade="A",
                first_response_minutes=30, resolution_minutes=120, business_hours_id=None, active=True)
    desk.add(AccountCopy(id="acc-a", name="Big", grade="A"))
    with time_machine.travel("2026-11-27 16:30:00+00:00", tick=False):  # a Friday
        plain = open_ticket(desk)
        graded = open_ticket(desk, account_id="acc-a")
    assert plain.first_response_due_at == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert plain.resolution_due_at == datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert graded.sla_policy_id == gold.id
    assert graded.first_response_due_at == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)


def test_a_desk_in_a_time_zone_keeps_its_hours_across_daylight_saving(desk):
    berlin = make(desk, "business_hours", name="Berlin office", time_zone="Europe/Berlin", holidays=[],
                  intervals=[{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)])
    make(desk, "sla_policy", name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=120,
         business_hours_id=berlin.id, active=True)
    with time_machine.travel("2026-03-27 15:30:00+00:00", tick=False):  # Friday 16:30 CET
        ticket = open_ticket(desk)
    # 30 minutes on Friday, the rest from Monday 09:00 CEST (07:00 UTC, no longer 08:00)
    assert ticket.first_response_due_at == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)
    assert ticket.resolution_due_at == datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
    for bad, field in (({"time_zone": "Mars/Olympus"}, "time_zone"),
                       ({"time_zone": "Europe/Berlin", "utc_offset_minutes": 60}, "utc_offset_minutes")):
        with pytest.raises(ServiceError) as refused:
            make(desk, "business_hours", name="Bad", holidays=[], **bad,
                 intervals=[{"weekday": 0, "start": "09:00", "end": "17:00"}])
        assert refused.value.code == "validation_failed" and field in refused.value.errors
    moved = desk.run(desk.manager, configuration.BUSINESS_HOURS.update, berlin.id,
                     {"time_zone": "America/New_York"}, None)
    assert moved.time_zone == "America/New_York"


def test_contract_policy_wins(desk):
    make(desk, "sla_policy", name="Normal", priority="normal", first_response_minutes=60,
         resolution_minutes=480, active=True)
    premium = make(desk, "sla_policy", name="Premium", priority="urgent", first_response_minutes=15,
                   resolution_minutes=60, active=True)
    from datetime import date
    make(desk, "service_contract", name="Gold", kind="support", account_id="acc-1", product_id=None,
         starts_on=date(2026, 1, 1), ends_on=date(2027, 12, 31), included_hours=None, sla_policy_id=premium.id)
    ticket = open_ticket(desk, account_id="acc-1")
    assert ticket.entitled and ticket.sla_policy_id == premium.id


def test_pending_pauses_the_clock(desk):
    make(desk, "sla_policy", name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=240,
         active=True)
    with time_machine.travel("2026-11-23 10:00:00+00:00", tick=False):
        ticket = open_ticket(desk)
    assert ticket.resolution_due_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    with time_machine.travel("2026-11-23 11:00:00+00:00", tick=False):
        desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "pending"}, None)
    with time_machine.travel("2026-11-23 15:00:00+00:00", tick=False):  # past the old due time, but paused
        assert desk.run(None, sla.scan_breaches, datetime(2026, 11, 23, 15, tzinfo=UTC)) == 0
        desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "open"}, None)
    resumed = desk.run(desk.manager, tickets.get_ticket, ticket.id)
    assert resumed.resolution_due_at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 4 h paused pushes it back


def test_breach_scan_escalates_once_and_notifies_the_manager(desk):
    make(desk, "sla_policy", name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=240,
         active=True)
    group = make(desk, "group", name="L1", member_ids=[], manager_id="boss-1", assignment="none")
    with time_machine.travel("2026-11-23 10:00:00+00:00", tick=False):
        ticket = open_ticket(desk, group_id=group.id)
        late = open_ticket(desk, group_id=group.id)
        desk.run(desk.manager, conversation.add_comment, ticket.id, {"body": "on it", "public": True})
    at = datetime(2026, 11, 23, 11, 0, 5, tzinfo=UTC)
    assert desk.run(None, sla.scan_breaches, at) == 1  # only the unanswered one
    assert desk.run(None, sla.scan_breaches, at) == 0  # never twice
    late = desk.run(desk.manager, tickets.get_ticket, late.id)
    assert late.sla_breached and late.priority == "high" and late.escalation_level == 1
    [event] = desk.events("sla_breached")
    assert event["data"] == {"id": late.id, "number": late.number, "kind": "first_response",
                             "due_at": "2026-11-23T11:00:00.000000Z", "breached_at": "2026-11-23T11:00:05.000000Z",
                             "policy_id": late.sla_policy_id}
    assert desk.events("ticket_escalated")[0]["data"]["manager_id"] == "boss-1"
    notes = desk.query(lambda s: s.query(Notification).all())
    assert [(n.user_id, n.ticket_id) for n in notes] == [("boss-1", late.id)]
    internal = desk.query(lambda s: s.query(Comment).filter_by(ticket_id=late.id).all())
    assert internal[0].public is False and "SLA breached" in internal[0].body
    # resolution of both later
    assert desk.run(None, sla.scan_breaches, datetime(2026, 11, 23, 14, 0, 1, tzinfo=UTC)) == 2
    assert desk.query(lambda s: s.query(SlaBreach).count()) == 3


def test_compliance_per_policy(desk):
    policy = make(desk, "sla_policy", name="Normal", priority="normal", first_response_minutes=60,
                  resolution_minutes=240, active=True)
    with time_machine.travel("2026-11-23 10:00:00+00:00", tick=False):
        met = open_ticket(desk)
        open_ticket(desk)
        desk.run(desk.manager, conversation.add_comment, met.id, {"body": "hi", "public": True, "status": "solved"})
    desk.run(None, sla.scan_breaches, datetime(2026, 11, 23, 12, tzinfo=UTC))
    [row] = desk.query(lambda s: sla.compliance(s))
    assert row["policy_id"] == policy.id and row["tickets"] == 2
    assert row["first_response"] == {"met": 1, "breached": 1, "open": 0, "compliance_percent": 50.0}
    assert row["resolution"] == {"met": 1, "breached": 0, "open": 1, "compliance_percent": 100.0}


def test_reopened_ticket_gets_a_fresh_resolution_target(desk):
    make(desk, "sla_policy", name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=240,
         active=True)
    with time_machine.travel("2026-11-23 10:00:00+00:00", tick=False):
        ticket = open_ticket(desk)
        desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "solved"}, None)
    with time_machine.travel("2026-11-24 10:00:00+00:00", tick=False):
        reopened = desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "reopened"}, None)
    assert reopened.resolution_due_at == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    assert reopened.resolution_due_at - timedelta(hours=4) == datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_a_policy_the_calendar_cannot_fit_is_refused_and_an_old_one_leaves_no_due_time(desk):
    tiny = make(desk, "business_hours", name="One minute a week", utc_offset_minutes=0, holidays=[],
                intervals=[{"weekday": 0, "start": "09:00", "end": "09:01"}])
    with pytest.raises(ServiceError) as refused:
        make(desk, "sla_policy", name="Impossible", priority="normal", first_response_minutes=60,
             resolution_minutes=525600, business_hours_id=tiny.id, active=True)
    assert "resolution_minutes" in refused.value.errors
    fits = make(desk, "sla_policy", name="Slow", priority="normal", first_response_minutes=1,
                resolution_minutes=2, business_hours_id=tiny.id, active=True)
    ticket = open_ticket(desk)
    assert ticket.sla_policy_id == fits.id and ticket.resolution_due_at.weekday() == 0
