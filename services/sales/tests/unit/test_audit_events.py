"""Every sales mutation reaches the audit trail: records without an event of their own announce the change with
`sales.record_changed.v1` (entity, id, action, changed field names), once, after every check passed."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import crm_sales_contracts as c
from crm_common.errors import ServiceError
from crm_sales.domain import (accounts, activities, call_lists, contacts, expenses, leads, opportunities, privacy,
                              products, quotes, sales_contracts, settings, targets, territories)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def changes(events) -> list[tuple]:
    return [(d["entity"], d["id"], d["action"], d["changed_fields"]) for d in events.of(c.RECORD_CHANGED)]


def _lead(session, who, events, **extra):
    return leads.create(session, who, {"last_name": "Lovelace", "email": "ada@engines.example", **extra}, events)


def _product(session, who, events, sku="W-1"):
    return products.create(session, who, {"name": "Widget", "sku": sku, "unit_price": Decimal("100.00"),
                                          "currency": "EUR", "active": True}, events)


def _quote(session, who, events):
    return quotes.create(session, who, {"currency": "EUR", "tax_percent": Decimal("20"), "lines": [
        {"description": "Setup", "quantity": Decimal("1"), "unit_price": Decimal("50.00"), "discount_percent": 0}]},
        events)


def _contract(session, who, events):
    account = accounts.create(session, who, {"name": "Buyer"}, events)  # a contract names where it comes from
    return sales_contracts.create(session, who, {"account_id": account.id, "value": Decimal("900.00"), "currency": "EUR",
                                            "starts_on": date.today(), "ends_on": date.today() + timedelta(days=100)},
                             events)


def _task(session, who, events, **extra):
    return activities.create(session, who, {"type": "task", "subject": "Offer", "due_at": T0, **extra}, events)


def test_deleting_leads_accounts_contacts_deals_and_activities(session, team, events):
    r1 = team["r1"]
    lead = _lead(session, r1, events)
    account = accounts.create(session, r1, {"name": "Acme"}, events)
    contact = contacts.create(session, r1, {"account_id": account.id, "last_name": "Doe"}, events)
    deal = opportunities.create(session, r1, {"name": "D", "amount": "10.00", "currency": "EUR"}, events)
    task = _task(session, r1, events)
    assert changes(events) == []  # their creation has events of its own
    events.clear()
    m1 = team["m1"]  # a manager deletes (a rep may not)
    leads.delete(session, m1, lead.id, events)
    accounts.delete(session, m1, account.id, events)
    contacts.delete(session, m1, contact.id, events)
    opportunities.delete(session, m1, deal.id, events)
    activities.delete(session, m1, task.id, events)
    assert changes(events) == [("lead", lead.id, "delete", []), ("account", account.id, "delete", []),
                               ("contact", contact.id, "delete", []), ("opportunity", deal.id, "delete", []),
                               ("activity", task.id, "delete", [])]
    assert len(events) == 5


def test_a_denied_or_refused_delete_emits_nothing(session, team, events):
    lead = _lead(session, team["r1"], events)
    events.clear()
    with pytest.raises(ServiceError) as other_team:
        leads.delete(session, team["r3"], lead.id, events)
    assert other_team.value.code == "not_found"
    with pytest.raises(ServiceError) as rep:  # a rep sees the lead but may not delete it
        leads.delete(session, team["r1"], lead.id, events)
    assert rep.value.code == "forbidden"
    claim = expenses.create(session, team["r1"], {"amount": "5.00", "currency": "EUR", "category": "meals",
                                                  "incurred_on": date(2026, 11, 2)}, events)
    expenses.decide(session, team["m1"], claim.id, False, "no receipt", events)
    events.clear()
    with pytest.raises(ServiceError) as decided:
        expenses.delete(session, team["m1"], claim.id, events)
    assert decided.value.code == "conflict"
    assert events == []


def test_territories_rules_and_pipelines(session, team, events):
    admin = team["admin"]
    uk = territories.create(session, admin, {"name": "UK", "countries": ["GB"]}, events)
    territories.update(session, admin, uk.id, {"name": "UK", "countries": ["IE", "GB"], "member_ids": ["r1"]}, None,
                       events)
    territories.update(session, admin, uk.id, {"name": "UK", "countries": ["GB", "IE"]}, None, events)  # no change
    rule = territories.create_rule(session, admin, {"name": "web", "strategy": "round_robin", "team_id": "t1"},
                                   events)
    pipeline = opportunities.create_pipeline(session, admin, {"name": "Fast", "stages": [
        {"name": "demo", "probability": 30}, {"name": "closed_won", "probability": 100},
        {"name": "closed_lost", "probability": 0}]}, events)
    assert changes(events) == [("territory", uk.id, "create", []),
                               ("territory", uk.id, "update", ["countries", "member_ids"]),
                               ("assignment_rule", rule.id, "create", []), ("pipeline", pipeline.id, "create", [])]


def test_products_create_update_delete_and_a_no_op_update(session, team, events):
    admin = team["admin"]
    product = _product(session, admin, events)
    products.update(session, admin, product.id, {"unit_price": Decimal("120.00"), "name": "Widget"}, None, events)
    products.update(session, admin, product.id, {"unit_price": Decimal("120.00"), "active": True}, None, events)
    products.delete(session, admin, product.id, events)
    assert changes(events) == [("product", product.id, "create", []), ("product", product.id, "update", ["unit_price"]),
                               ("product", product.id, "delete", [])]


def test_quotes_create_update_approve_reject_delete(session, team, events):
    quote = _quote(session, team["r1"], events)
    quotes.update(session, team["r1"], quote.id, {"terms": "Net 30."}, None, events)
    quotes.update(session, team["r1"], quote.id, {"tax_percent": Decimal("10")}, None, events)
    quotes.update(session, team["r1"], quote.id, {"terms": "Net 30.", "tax_percent": Decimal("10.00")}, None, events)
    quotes.act(session, team["m1"], quote.id, "approve", events)
    quotes.act(session, team["r1"], quote.id, "send", events)
    quotes.act(session, team["r1"], quote.id, "reject", events)
    other = _quote(session, team["r1"], events)
    quotes.delete(session, team["m1"], other.id, events)
    assert changes(events) == [
        ("quote", quote.id, "create", []), ("quote", quote.id, "update", ["terms"]),
        ("quote", quote.id, "update", ["tax_percent", "tax_total", "total"]),
        ("quote", quote.id, "approve", ["approved_by", "approved_at"]),
        ("quote", quote.id, "update", ["status"]),
        ("quote", other.id, "create", []), ("quote", other.id, "delete", [])]
    assert len(events.of(c.QUOTE_SENT)) == 1  # sending has its own event, and only that


def test_contracts_create_update_document_delete_and_lifecycle(session, team, events):
    r1 = team["r1"]
    contract = _contract(session, r1, events)
    sales_contracts.update(session, r1, contract.id, {"terms": "Net 30."}, None, events)
    sales_contracts.update(session, r1, contract.id, {"status": "signed"}, None, events)  # contract_signed says it
    sales_contracts.document(session, r1, contract.id, events)
    sales_contracts.update(session, r1, contract.id, {"status": "terminated"}, None, events)
    draft = _contract(session, r1, events)
    sales_contracts.delete(session, team["m1"], draft.id, events)
    assert changes(events) == [("contract", contract.id, "create", []), ("contract", contract.id, "update", ["terms"]),
                               ("contract", contract.id, "export", []), ("contract", contract.id, "update", ["status"]),
                               ("contract", draft.id, "create", []), ("contract", draft.id, "delete", [])]
    assert len(events.of(c.CONTRACT_SIGNED)) == 1

    later = sales_contracts.create(session, r1, {"account_id": contract.account_id, "value": Decimal("1.00"),
                                            "currency": "EUR", "starts_on": date.today() + timedelta(days=5),
                                            "ends_on": date.today() + timedelta(days=10)}, events)
    sales_contracts.update(session, r1, later.id, {"status": "signed"}, None, events)
    events.clear()
    assert sales_contracts.run_lifecycle(session, events, today=date.today() + timedelta(days=20))["expired"] == 1
    assert changes(events) == [("contract", later.id, "update", ["status"])]  # activated and expired: one change


def test_activities_update_and_call_lists(session, team, events):
    r1 = team["r1"]
    task = _task(session, r1, events)
    events.clear()
    activities.update(session, r1, task.id, {"subject": "Offer v2", "due_at": T0}, None, events)
    activities.update(session, r1, task.id, {"subject": "Offer v2"}, None, events)  # no change
    activities.update(session, r1, task.id, {"status": "done"}, None, events)
    assert changes(events) == [("activity", task.id, "update", ["subject"]),
                               ("activity", task.id, "update", ["status"])]
    assert len(events) == 2

    account = accounts.create(session, r1, {"name": "Acme", "country": "DE"}, events)
    contact = contacts.create(session, r1, {"account_id": account.id, "last_name": "Ok", "phone": "+49301234567"},
                              events)
    events.clear()
    call_list = call_lists.create_call_list(session, r1, {"name": "Q4", "account_id": account.id}, events)
    call_lists.log_call(session, r1, call_list.id, {"contact_id": contact.id, "outcome": "interested"}, events)
    assert changes(events) == [("call_list", call_list.id, "create", []),
                               ("call_list", call_list.id, "update", ["items"])]
    assert len(events.of(c.ACTIVITY_LOGGED)) == 1  # the call itself


def test_targets_expenses_and_settings(session, team, events):
    m1, r1 = team["m1"], team["r1"]
    target = targets.create_target(session, m1, {"period": "2026-Q4", "user_id": "r2", "amount": "6000.00",
                                                  "currency": "EUR"}, events)
    targets.update_target(session, m1, target.id, {"amount": Decimal("7000.00")}, None, events)
    targets.update_target(session, m1, target.id, {"amount": Decimal("7000")}, None, events)  # no change
    targets.delete_target(session, m1, target.id, events)
    claim = expenses.create(session, r1, {"amount": "42.10", "currency": "EUR", "category": "meals",
                                          "incurred_on": date(2026, 11, 2)}, events)
    expenses.update(session, r1, claim.id, {"amount": Decimal("40.00"), "category": "meals"}, None, events)
    expenses.decide(session, m1, claim.id, True, "ok", events)
    spare = expenses.create(session, r1, {"amount": "1.00", "currency": "EUR", "category": "other",
                                          "incurred_on": date(2026, 11, 3)}, events)
    expenses.delete(session, m1, spare.id, events)
    settings.update(session, {"churn_after_days": 400, "loyal_after_orders": settings.DEFAULTS["loyal_after_orders"]},
                    events)
    settings.update(session, {"churn_after_days": 400}, events)  # no change
    assert changes(events) == [
        ("target", target.id, "create", []), ("target", target.id, "update", ["amount"]),
        ("target", target.id, "delete", []),
        ("expense", claim.id, "create", []), ("expense", claim.id, "update", ["amount"]),
        ("expense", claim.id, "approve", ["status", "decided_by", "decided_at", "decision_note"]),
        ("expense", spare.id, "create", []), ("expense", spare.id, "delete", []),
        ("settings", settings.AUDIT_ID, "update", ["churn_after_days"])]


def test_changes_with_an_event_of_their_own_are_not_announced_twice(session, team, events):
    lead = _lead(session, team["r1"], events)
    leads.update(session, team["r1"], lead.id, {"company": "Engines"}, None, events)
    account = accounts.create(session, team["r1"], {"name": "Acme"}, events)
    accounts.update(session, team["r1"], account.id, {"website": "https://acme.example"}, None, events)
    assert changes(events) == []
    assert [t for t, _ in events] == [c.LEAD_CREATED, c.LEAD_ASSIGNED, c.LEAD_UPDATED, c.ACCOUNT_CREATED,
                                      c.ACCOUNT_UPDATED]


def test_erasing_a_person_announces_their_activities_changed(session, team, events):
    lead = _lead(session, team["r1"], events)
    call = activities.create(session, team["r1"], {"type": "call", "subject": "Intro with Ada", "lead_id": lead.id},
                             events)
    events.clear()
    privacy.erase(session, "ada@engines.example", events)
    assert changes(events) == [("activity", call.id, "update", ["subject"])]
