"""Custom fields on sales records (crm_common.records): definitions, validated values, events, filter, sort."""
from __future__ import annotations

import pytest

import crm_sales_contracts as c
from crm_common.contracts.registry import instance
from crm_common.errors import ServiceError
from crm_sales.domain import accounts, custom, leads, opportunities
from crm_sales.models import Account, Lead, Opportunity

create_opp = custom.creating("opportunity", Opportunity, opportunities.create)
update_opp = custom.updating("opportunity", Opportunity, opportunities.update)


def define(ctx, team, **fields):
    return custom.definitions.create(ctx(team["admin"]), {"resource": "opportunity", "required": False, "default": None,
                                                          "unique": False, "choices": [], **fields})


def deal(ctx, who, **fields):
    return create_opp(ctx(who), {"name": "Deal", "amount": "1000.00", "currency": "EUR", **fields})


def refused(fn, *args, **kwargs) -> dict:
    with pytest.raises(ServiceError) as caught:
        fn(*args, **kwargs)
    assert caught.value.code == "validation_failed"
    return caught.value.errors


def test_a_choice_field_is_validated_carried_in_events_filtered_and_sorted(session, team, events, ctx):
    define(ctx, team, name="channel", label="Channel", type="choice", choices=["direct", "partner", "online"])
    define(ctx, team, name="seats", label="Seats", type="number")
    first = deal(ctx, team["r1"], custom_fields={"channel": "partner", "seats": 30})
    second = deal(ctx, team["r1"], custom_fields={"channel": "direct", "seats": 5})
    deal(ctx, team["r1"])
    assert first.custom_fields == {"channel": "partner", "seats": 30}
    assert events.of(c.OPPORTUNITY_CREATED)[0]["custom_fields"] == {"channel": "partner", "seats": 30}

    errors = refused(create_opp, ctx(team["r1"]), {"name": "X", "amount": "1.00", "currency": "EUR",
                                                   "custom_fields": {"channel": "pigeon", "nope": 1}})
    assert set(errors) == {"custom_fields.channel", "custom_fields.nope"}

    update_opp(ctx(team["r1"]), second.id, {"custom_fields": {"channel": "online", "seats": 6}})
    assert second.custom_fields == {"channel": "online", "seats": 6}
    updated = events.of(c.OPPORTUNITY_UPDATED)[-1]
    assert updated["custom_fields"] == {"channel": "online", "seats": 6} and "custom_fields" in updated["changed_fields"]
    update_opp(ctx(team["r1"]), second.id, {"custom_fields": {"channel": None}})  # null clears a field
    assert second.custom_fields == {"seats": 6}

    listed = opportunities.page(ctx(team["r1"]), {"custom": {"channel": "partner"}, "limit": 50})["items"]
    assert [o.id for o in listed] == [first.id]
    errors = refused(opportunities.page, ctx(team["r1"]), {"custom": {"seats": "many"}, "limit": 50})
    assert list(errors) == ["custom.seats"]
    by_seats = opportunities.page(ctx(team["r1"]), {"sort": "-custom.seats", "limit": 2})
    assert [o.id for o in by_seats["items"]] == [first.id, second.id]
    rest = opportunities.page(ctx(team["r1"]), {"sort": "-custom.seats", "limit": 2, "cursor": by_seats["next_cursor"]})
    assert len(by_seats["items"]) + len(rest["items"]) == 3 and rest["next_cursor"] is None


def test_required_default_and_unique(session, team, events, ctx):
    define(ctx, team, name="region", label="Region", type="text", default="EMEA")
    define(ctx, team, name="po_number", label="PO", type="text", unique=True)
    define(ctx, team, name="signed", label="Signed", type="boolean", required=True)
    errors = refused(deal, ctx, team["r1"])
    assert list(errors) == ["custom_fields.signed"]
    opp = deal(ctx, team["r1"], custom_fields={"signed": False, "po_number": "PO-1"})
    assert opp.custom_fields == {"signed": False, "po_number": "PO-1", "region": "EMEA"}
    assert list(refused(deal, ctx, team["r1"], custom_fields={"signed": True, "po_number": "PO-1"})) == [
        "custom_fields.po_number"]
    assert list(refused(update_opp, ctx(team["r1"]), opp.id, {"custom_fields": {"signed": None}})) == [
        "custom_fields.signed"]
    listed = opportunities.page(ctx(team["r1"]), {"custom": {"signed": "false"}, "limit": 50})["items"]
    assert [o.id for o in listed] == [opp.id]


def test_definitions_are_checked_and_changes_audited(session, team, events, ctx):
    admin = ctx(team["admin"])
    base = {"resource": "opportunity", "required": False, "default": None, "unique": False}
    assert list(refused(custom.definitions.create, admin, {**base, "name": "x", "label": "X", "type": "choice",
                                                           "choices": []})) == ["choices"]
    assert list(refused(custom.definitions.create, admin, {**base, "name": "x", "label": "X", "type": "number",
                                                           "choices": [], "default": "ten"})) == ["default"]
    assert list(refused(custom.definitions.create, admin, {**base, "resource": "ticket", "name": "x", "label": "X",
                                                           "type": "text", "choices": []})) == ["resource"]
    made = custom.definitions.create(admin, {**base, "name": "tier", "label": "Tier", "type": "multi_choice",
                                             "choices": ["gold", "silver"]})
    with pytest.raises(ServiceError) as caught:
        custom.definitions.create(admin, {**base, "name": "tier", "label": "Again", "type": "text", "choices": []})
    assert caught.value.code == "conflict"
    renamed = custom.definitions.update(admin, made["id"], {"label": "Customer tier"})
    assert renamed["label"] == "Customer tier" and renamed["version"] == 2
    opp = deal(ctx, team["r1"], custom_fields={"tier": ["gold", "silver", "gold"]})
    assert opp.custom_fields == {"tier": ["gold", "silver"]}
    assert [o.id for o in opportunities.page(ctx(team["r1"]), {"custom": {"tier": "gold"}, "limit": 5})["items"]] == [
        opp.id]
    custom.definitions.delete(admin, made["id"])
    assert custom.definitions.list(admin, {"resource": "opportunity"})["items"] == []
    audited = [(e["entity"], e["action"]) for e in events.of(c.RECORD_CHANGED)]
    assert audited == [("custom_field", "create"), ("custom_field", "update"), ("custom_field", "delete")]
    # each carries the definition as it then stood (analytics keeps it to know a report's custom columns)
    assert [(e["definition"]["name"], e["definition"]["label"], e["definition"]["choices"])
            for e in events.of(c.RECORD_CHANGED)] == [("tier", "Tier", ["gold", "silver"]),
                                                      ("tier", "Customer tier", ["gold", "silver"]),
                                                      ("tier", "Customer tier", ["gold", "silver"])]
    assert opp.custom_fields == {"tier": ["gold", "silver"]}  # deleting the field keeps the data


def test_leads_and_accounts_take_custom_fields(session, team, events, ctx):
    admin = ctx(team["admin"])
    for resource in ("lead", "account"):
        custom.definitions.create(admin, {"resource": resource, "name": "budget", "label": "Budget", "type": "decimal",
                                          "required": False, "default": None, "unique": False, "choices": []})
    lead = custom.creating("lead", Lead, leads.create)(ctx(team["r1"]), {"last_name": "Lin",
                                                                         "custom_fields": {"budget": "1200.50"}})
    assert lead.custom_fields == {"budget": "1200.50"}
    assert events.of(c.LEAD_CREATED)[0]["custom_fields"] == {"budget": "1200.50"}
    account = custom.creating("account", Account, accounts.create)(ctx(team["r1"]), {"name": "Acme",
                                                                                      "custom_fields": {"budget": "9"}})
    assert account.custom_fields == {"budget": "9"}
    found = leads.page(ctx(team["r1"]), {"custom": {"budget": "1200.5"}, "limit": 5})["items"]
    assert [row.id for row in found] == [lead.id]


def test_the_list_query_takes_custom_filters_and_sort():
    schema = instance(c.OpportunityListQuery)
    loaded = schema.load({"custom.channel": "partner", "sort": "-custom.channel", "limit": "5"})
    assert loaded["custom"] == {"channel": "partner"} and loaded["sort"] == "-custom.channel"
    with pytest.raises(Exception) as caught:
        schema.load({"custom.Bad-Name": "x"})
    assert "custom.Bad-Name" in str(caught.value)
    assert "custom" not in schema.load({})
    assert schema.load(loaded)["custom"] == {"channel": "partner"}  # loaded again by the service
