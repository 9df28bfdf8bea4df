"""Every sales mutation reaches the audit trail: records without an event of their own announce the change with
`sales.record_changed.v1` (entity, id, action, changed field names), once, after every check passed."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crm_common.entrypoint import Context
from crm_common.errors import ServiceError
import crm_sales_contracts as c
from crm_sales.domain import (accounts, activities, call_lists, contacts, expenses, leads, opportunities, privacy,
                              products, quotes, sales_contracts, settings, targets, territories)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def changes(events) -> list[tuple]:
    return [(d["entity"], d["id"], d["action"], d["changed_fields"]) for d in events.of(c.RECORD_CHANGED)]


def _lead(session, who, events, **extra):
    return leads.create(Context(session, who, events), {"last_name": "Lovelace", "email": "ada@engines.example",
                                                        **extra})


def _product(session, who, events, sku="W-1"):
    return products.create(Context(session, who, events), {"name": "Widget", "sku": sku,
                                                           "unit_price": Decimal("100.00"), "currency": "EUR",
                                                           "active": True})


def _quote(session, who, events):
    return quotes.create(Context(session, who, events), {"currency": "EUR", "tax_percent": Decimal("20"), "lines": [
        {"description": "Setup", "quantity": Decimal("1"), "unit_price": Decimal("50.00"), "discount_percent": 0}]})


def _contract(session, who, events):
    ctx = Context(session, who, events)
    account = accounts.create(ctx, {"name": "Buyer"})  # a contract names where it comes from
    return sales_contracts.create(ctx, {"account_id": account.id, "value": Decimal("900.00"), "currency": "EUR",
                                        "starts_on": date.today(), "ends_on": date.today() + timedelta(days=100)})


def _task(session, who, events, **extra):
    return activities.create(Context(session, who, events), {"type": "task", "subject": "Offer", "due_at": T0, **extra})


def test_deleting_leads_accounts_contacts_deals_and_activities(session, team, events, ctx):
    r1 = team["r1"]
    lead = _lead(session, r1, events)
    account = accounts.create(ctx(r1), {"name": "Acme"})
    contact = contacts.create(ctx(r1), {"account_id": account.id, "last_name": "Doe"})
    deal = opportunities.create(ctx(r1), {"name": "D", "amount": "10.00", "currency": "EUR"})
    task = _task(session, r1, events)
    assert changes(events) == []  # their creation has events of its own
    events.clear()
    m1 = team["m1"]  # a manager deletes (a rep may not)
    leads.delete(ctx(m1), lead.id)
    accounts.delete(ctx(m1), account.id)
    contacts.delete(ctx(m1), contact.id)
    opportunities.delete(ctx(m1), deal.id)
    activities.delete(ctx(m1), task.id)
    assert changes(events) == [("lead", lead.id, "delete", []), ("account", account.id, "delete", []),
                               ("contact", contact.id, "delete", []), ("opportunity", deal.id, "delete", []),
                               ("activity", task.id, "delete", [])]
    assert len(events) == 5


def test_a_denied_or_refused_delete_emits_nothing(session, team, events, ctx):
    lead = _lead(session, team["r1"], events)
    events.clear()
    with pytest.raises(ServiceError) as other_team:
        leads.delete(ctx(team["r3"]), lead.id)
    assert other_team.value.code == "not_found"
    with pytest.raises(ServiceError) as rep:  # a rep sees the lead but may not delete it
        leads.delete(ctx(team["r1"]), lead.id)
    assert rep.value.code == "forbidden"
    claim = expenses.create(ctx(team["r1"]), {"amount": "5.00", "currency": "EUR", "category": "meals",
                                              "incurred_on": date(2026, 11, 2)})
    expenses.decide(ctx(team["m1"]), claim.id, {"note": "no receipt"}, approve=False)
    events.clear()
    with pytest.raises(ServiceError) as decided:
        expenses.delete(ctx(team["m1"]), claim.id)
    assert decided.value.code == "conflict"
    assert events == []


def test_territories_rules_and_pipelines(session, team, events, ctx):
    admin = team["admin"]
    uk = territories.create(ctx(admin), {"name": "UK", "countries": ["GB"]})
    territories.update(ctx(admin), uk.id, {"name": "UK", "countries": ["IE", "GB"], "member_ids": ["r1"]})
    territories.update(ctx(admin), uk.id, {"name": "UK", "countries": ["GB", "IE"]})  # no change
    rule = territories.create_rule(ctx(admin), {"name": "web", "strategy": "round_robin", "team_id": "t1"})
    pipeline = opportunities.create_pipeline(ctx(admin), {"name": "Fast", "stages": [
        {"name": "demo", "probability": 30}, {"name": "closed_won", "probability": 100},
        {"name": "closed_lost", "probability": 0}]})
    assert changes(events) == [("territory", uk.id, "create", []),
                               ("territory", uk.id, "update", ["countries", "member_ids"]),
                               ("assignment_rule", rule.id, "create", []), ("pipeline", pipeline.id, "create", [])]


def test_products_create_update_delete_and_a_no_op_update(session, team, events, ctx):
    admin = team["admin"]
    product = _product(session, admin, events)
    products.update(ctx(admin), product.id, {"unit_price": Decimal("120.00"), "name": "Widget"})
    products.update(ctx(admin), product.id, {"unit_price": Decimal("120.00"), "active": True})
    products.delete(ctx(admin), product.id)
    assert changes(events) == [("product", product.id, "create", []), ("product", product.id, "update", ["unit_price"]),
                               ("product", product.id, "delete", [])]


def test_quotes_create_update_approve_reject_delete(session, team, events, ctx):
    quote = _quote(session, team["r1"], events)
    quotes.update(ctx(team["r1"]), quote.id, {"terms": "Net 30."})
    quotes.update(ctx(team["r1"]), quote.id, {"tax_percent": Decimal("10")})
    quotes.update(ctx(team["r1"]), quote.id, {"terms": "Net 30.", "tax_percent": Decimal("10.00")})
    quotes.approve(ctx(team["m1"]), quote.id)
    quotes.send(ctx(team["r1"]), quote.id)
    quotes.reject(ctx(team["r1"]), quote.id)
    other = _quote(session, team["r1"], events)
    quotes.delete(ctx(team["m1"]), other.id)
    assert changes(events) == [
        ("quote", quote.id, "create", []), ("quote", quote.id, "update", ["terms"]),
        ("quote", quote.id, "update", ["tax_percent", "tax_total", "total"]),
        ("quote", quote.id, "approve", ["approved_by", "approved_at"]),
        ("quote", quote.id, "update", ["status"]),
        ("quote", other.id, "create", []), ("quote", other.id, "delete", [])]
    assert len(events.of(c.QUOTE_SENT)) == 1  # sending has its own event, and only that


def test_contracts_create_update_document_delete_and_lifecycle(session, team, events, ctx):
    r1 = team["r1"]
    contract = _contract(session, r1, events)
    sales_contracts.update(ctx(r1), contract.id, {"terms": "Net 30."})
    sales_contracts.update(ctx(r1), contract.id, {"status": "signed"})  # contract_signed says it
    sales_contracts.document(ctx(r1), contract.id)
    sales_contracts.update(ctx(r1), contract.id, {"status": "terminated"})
    draft = _contract(session, r1, events)
    sales_contracts.delete(ctx(team["m1"]), draft.id)
    assert changes(events) == [("contract", contract.id, "create", []), ("contract", contract.id, "update", ["terms"]),
                               ("contract", contract.id, "export", []), ("contract", contract.id, "update", ["status"]),
                               ("contract", draft.id, "create", []), ("contract", draft.id, "delete", [])]
    assert len(events.of(c.CONTRACT_SIGNED)) == 1

    later = sales_contracts.create(ctx(r1), {"account_id": contract.account_id, "value": Decimal("1.00"),
                                             "currency": "EUR", "starts_on": date.today() + timedelta(days=5),
                                             "ends_on": date.today() + timedelta(days=10)})
    sales_contracts.update(ctx(r1), later.id, {"status": "signed"})
    events.clear()
    assert sales_contracts.run_lifecycle(ctx(), today=date.today() + timedelta(days=20))["expired"] == 1
    assert changes(events) == [("contract", later.id, "update", ["status"])]  # activated and expired: one change


def test_activities_update_and_call_lists(session, team, events, ctx):
    r1 = team["r1"]
    task = _task(session, r1, events)
    events.clear()
    activities.update(ctx(r1), task.id, {"subject": "Offer v2", "due_at": T0})
    activities.update(ctx(r1), task.id, {"subject": "Offer v2"})  # no change
    activities.update(ctx(r1), task.id, {"status": "done"})
    assert changes(events) == [("activity", task.id, "update", ["subject"]),
                               ("activity", task.id, "update", ["status"])]
    assert len(events) == 2

    account = accounts.create(ctx(r1), {"name": "Acme", "country": "DE"})
    contact = contacts.create(ctx(r1), {"account_id": account.id, "last_name": "Ok", "phone": "+49301234567"})
    events.clear()
    call_list = call_lists.create(ctx(r1), {"name": "Q4", "account_id": account.id})
    call_lists.log_call(ctx(r1), call_list.id, {"contact_id": contact.id, "outcome": "interested"})
    assert changes(events) == [("call_list", call_list.id, "create", []),
                               ("call_list", call_list.id, "update", ["items"])]
    assert len(events.of(c.ACTIVITY_LOGGED)) == 1  # the call itself


def test_targets_expenses_and_settings(session, team, events, ctx):
    m1, r1 = team["m1"], team["r1"]
    target = targets.create(ctx(m1), {"period": "2026-Q4", "user_id": "r2", "amount": "6000.00",
                                      "currency": "EUR"})
    targets.update(ctx(m1), target.id, {"amount": Decimal("7000.00")})
    targets.update(ctx(m1), target.id, {"amount": Decimal("7000")})  # no change
    targets.delete(ctx(m1), target.id)
    claim = expenses.create(ctx(r1), {"amount": "42.10", "currency": "EUR", "category": "meals",
                                      "incurred_on": date(2026, 11, 2)})
    expenses.update(ctx(r1), claim.id, {"amount": Decimal("40.00"), "category": "meals"})
    expenses.decide(ctx(m1), claim.id, {"note": "ok"}, approve=True)
    spare = expenses.create(ctx(r1), {"amount": "1.00", "currency": "EUR", "category": "other",
                                      "incurred_on": date(2026, 11, 3)})
    expenses.delete(ctx(m1), spare.id)
    settings.update(ctx(), {"churn_after_days": 400, "loyal_after_orders": settings.DEFAULTS["loyal_after_orders"]})
    settings.update(ctx(), {"churn_after_days": 400})  # no change
    # a target's own event carries it whole (analytics' forecast reads it); its delete is a record_changed
    assert [(d["id"], d["action"], d["changed_fields"], d["amount"], d["user_id"]) for d in events.of(c.TARGET_SET)] == [
        (target.id, "create", [], "6000.00", "r2"), (target.id, "update", ["amount"], "7000.00", "r2")]
    assert changes(events) == [
        ("target", target.id, "delete", []),
        ("expense", claim.id, "create", []), ("expense", claim.id, "update", ["amount"]),
        ("expense", claim.id, "approve", ["status", "decided_by", "decided_at", "decision_note"]),
        ("expense", spare.id, "create", []), ("expense", spare.id, "delete", []),
        ("settings", settings.AUDIT_ID, "update", ["churn_after_days"])]


def test_changes_with_an_event_of_their_own_are_not_announced_twice(session, team, events, ctx):
    lead = _lead(session, team["r1"], events)
    leads.update(ctx(team["r1"]), lead.id, {"company": "Engines"})
    account = accounts.create(ctx(team["r1"]), {"name": "Acme"})
    accounts.update(ctx(team["r1"]), account.id, {"website": "https://acme.example"})
    assert changes(events) == []
    assert [t for t, _ in events] == [c.LEAD_CREATED, c.LEAD_ASSIGNED, c.LEAD_UPDATED, c.ACCOUNT_CREATED,
                                      c.ACCOUNT_UPDATED]


def test_erasing_a_person_announces_their_activities_changed(session, team, events, ctx):
    lead = _lead(session, team["r1"], events)
    call = activities.create(ctx(team["r1"]), {"type": "call", "subject": "Intro with Ada", "lead_id": lead.id})
    events.clear()
    privacy.erase(ctx(), "ada@engines.example")
    assert changes(events) == [("activity", call.id, "update", ["subject"])]
