"""Approvals: a chain (the requester's manager, then a role) over a threshold, decisions with comments, delegation,
reminders and escalation (time-machine), everything in the history and announced."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_automation import clock
from crm_automation.domain import approvals, notifications
from crm_automation.models import Notification
from crm_automation_contracts import approvals as c

QUOTE = {"id": "quote-1", "owner_id": "rep", "max_discount_percent": "35.00", "limit_percent": "15.00",
         "total": "900.00", "currency": "EUR"}


@pytest.fixture
def people(store):
    def setup(ctx):
        for user_id, roles, team in (("rep", ["sales_rep"], "t1"), ("boss", ["sales_manager"], "t1"),
                                     ("root", ["admin"], None), ("deputy", ["sales_manager"], "t1")):
            notifications.apply_user(ctx, {"id": user_id, "email": f"{user_id}@crm.test", "roles": roles,
                                           "team_id": team, "is_active": True})
        approvals.apply_team(ctx, {"id": "t1", "manager_id": "boss"})
    store.tx(setup)
    return {name: Actor(user_id=name, roles=roles) for name, roles in
            (("rep", ("sales_rep",)), ("boss", ("sales_manager",)), ("root", ("admin",)),
             ("deputy", ("sales_manager",)))}


def as_(store, actor):
    return lambda fn, *args: store.tx(fn, *args, caller=actor)


def inbox(store, user_id):
    return store.tx(lambda ctx: [n.title for n in ctx.session.scalars(
        select(Notification).where(Notification.user_id == user_id).order_by(Notification.created_at))])


def test_a_big_discount_goes_to_the_manager_then_the_role(store, people, events):
    approval = store.tx(approvals.quote_requested, QUOTE)
    assert [(s["approver_id"], s["role"]) for s in approval.steps] == [("boss", None), (None, "admin")]
    assert approval.approver_ids == ["boss"] and inbox(store, "boss") == ["Approval needed: Quote discount 35.00%"]
    assert store.tx(approvals.quote_requested, QUOTE).id == approval.id  # asking again joins the pending one

    with pytest.raises(ServiceError) as denied:
        as_(store, people["rep"])(approvals.approve, approval.id, {"comment": "me!"})
    assert denied.value.code == "forbidden"
    mine = as_(store, people["boss"])(approvals.page, {"status": "pending", "sort": "-created_at", "limit": 10})
    assert [a.id for a in mine["items"]] == [approval.id]

    step_one = as_(store, people["boss"])(approvals.approve, approval.id, {"comment": "fine by me"})
    assert step_one.status == "pending" and step_one.current_step == 1 and step_one.approver_ids == ["root"]
    assert not events.of(c.APPROVAL_DECIDED)
    done = as_(store, people["root"])(approvals.approve, approval.id, {"comment": "ok"})
    assert done.status == "approved"
    assert [(s["decided_by"], s["decision"], s["comment"]) for s in done.steps] == [
        ("boss", "approved", "fine by me"), ("root", "approved", "ok")]
    assert [h["event"] for h in done.history] == ["requested", "approved", "next step", "approved"]
    assert events.of(c.APPROVAL_DECIDED) == [{"id": approval.id, "resource": "quote", "record_id": "quote-1",
                                              "status": "approved", "decided_by": "root", "comment": "ok"}]
    assert inbox(store, "rep") == ["Quote discount 35.00%: approved"]
    with pytest.raises(ServiceError) as again:
        as_(store, people["root"])(approvals.reject, approval.id, {})
    assert again.value.code == "conflict"


def test_a_small_discount_needs_the_manager_only_and_a_rejection_ends_it(store, people, events):
    approval = store.tx(approvals.quote_requested, {**QUOTE, "max_discount_percent": "20.00"})
    assert len(approval.steps) == 1
    done = as_(store, people["boss"])(approvals.reject, approval.id, {"comment": "too generous"})
    assert done.status == "rejected" and events.of(c.APPROVAL_DECIDED)[-1]["status"] == "rejected"


def test_a_delegate_decides_while_the_approver_is_away(store, people):
    approval = store.tx(approvals.quote_requested, {**QUOTE, "max_discount_percent": "20.00"})
    with pytest.raises(ServiceError):
        as_(store, people["boss"])(approvals.set_delegation, {"delegate_id": "boss", "until": None})
    as_(store, people["boss"])(approvals.set_delegation,
                               {"delegate_id": "deputy", "until": clock.now() + timedelta(days=7)})
    assert "Approval needed (delegated): Quote discount 20.00%" in inbox(store, "deputy")
    done = as_(store, people["deputy"])(approvals.approve, approval.id, {"comment": "for boss"})
    assert done.status == "approved" and done.history[-1]["on_behalf_of"] == "boss"


def test_a_step_pending_too_long_is_reminded_then_escalated(store, people):
    approval = store.tx(approvals.quote_requested, {**QUOTE, "max_discount_percent": "20.00"})
    with time_machine.travel(clock.now(), tick=False) as traveller:
        traveller.shift(timedelta(hours=25))
        assert store.tx(approvals.remind_and_escalate) == 1
        assert store.tx(approvals.remind_and_escalate) == 0  # reminded once
        traveller.shift(timedelta(hours=48))
        assert store.tx(approvals.remind_and_escalate) == 1
    escalated = as_(store, people["root"])(approvals.get, approval.id)
    assert escalated.steps[0]["escalated"] is True and "root" in escalated.approver_ids
    assert [h["event"] for h in escalated.history] == ["requested", "reminded", "escalated"]
    assert inbox(store, "boss")[-1] == "Escalated: Quote discount 20.00%"
    assert as_(store, people["root"])(approvals.approve, approval.id, {}).status == "approved"


def test_an_approval_is_shown_only_to_those_it_involves(store, people):
    approval = store.tx(approvals.quote_requested, QUOTE)
    stranger = Actor(user_id="someone", roles=("sales_rep",))
    with pytest.raises(ServiceError) as hidden:
        as_(store, stranger)(approvals.get, approval.id)
    assert hidden.value.code == "not_found"
    assert as_(store, people["rep"])(approvals.get, approval.id).id == approval.id


def test_an_expense_claim_goes_to_the_claimants_manager_and_the_decision_is_announced(store, people, events):
    claim = {"id": "expense-1", "owner_id": "rep", "amount": "820.00", "currency": "EUR", "category": "travel",
             "limit": "500.00"}
    approval = store.tx(approvals.expense_requested, claim)
    assert (approval.resource, approval.record_id, approval.title) == ("expense", "expense-1",
                                                                       "Expense claim 820.00 EUR")
    assert approval.approver_ids == ["boss"] and inbox(store, "boss") == ["Approval needed: Expense claim 820.00 EUR"]
    assert store.tx(approvals.expense_requested, claim).id == approval.id  # asked again: the same chain
    with pytest.raises(ServiceError) as own:
        as_(store, people["rep"])(approvals.approve, approval.id, {"comment": None})
    assert own.value.code == "forbidden"
    done = as_(store, people["boss"])(approvals.approve, approval.id, {"comment": "fine"})
    assert done.status == "approved"
    assert events.of(c.APPROVAL_DECIDED)[-1] == {"id": approval.id, "resource": "expense", "record_id": "expense-1",
                                                 "status": "approved", "decided_by": "boss", "comment": "fine"}
