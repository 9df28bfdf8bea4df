"""Custom fields on tickets (crm_common.records): defined per request, validated, in events, filtered, sorted."""
from __future__ import annotations

import pytest

from crm_common.errors import ServiceError
from crm_service_desk.domain import custom, tickets

BASE = {"subject": "Printer on fire", "description": "It smokes", "channel": "email", "type": "incident",
        "priority": "normal", "requester_email": "ada@example.com"}


def define(desk, **fields):
    admin = desk.actor("admin")
    return desk.run(admin, custom.definitions.create, {"resource": "ticket", "required": False, "default": None,
                                                       "unique": False, "choices": [], **fields})


def test_ticket_custom_fields_are_validated_carried_filtered_and_sorted(desk):
    define(desk, name="product_line", label="Product line", type="choice", choices=["printers", "scanners"])
    define(desk, name="units", label="Units", type="number")
    first = desk.run(desk.manager, custom.create_ticket, {**BASE, "custom_fields": {"product_line": "printers",
                                                                                    "units": 3}})
    second = desk.run(desk.manager, custom.create_ticket, {**BASE, "custom_fields": {"product_line": "printers",
                                                                                     "units": 12}})
    desk.run(desk.manager, custom.create_ticket, {**BASE, "custom_fields": {"product_line": "scanners"}})
    assert first.custom_fields == {"product_line": "printers", "units": 3}
    assert desk.events("ticket_opened")[0]["data"]["custom_fields"] == {"product_line": "printers", "units": 3}

    with pytest.raises(ServiceError) as caught:
        desk.run(desk.manager, custom.create_ticket, {**BASE, "custom_fields": {"product_line": "faxes"}})
    assert list(caught.value.errors) == ["custom_fields.product_line"]

    changed = desk.run(desk.manager, custom.update_ticket, first.id, {"custom_fields": {"units": 4}})
    assert changed.custom_fields == {"product_line": "printers", "units": 4}
    assert "custom_fields" in desk.events("ticket_updated")[-1]["data"]["changed_fields"]

    page = desk.run(desk.manager, tickets.list_tickets, {"custom": {"product_line": "printers"}, "sort": "-custom.units",
                                                         "limit": 10})
    assert [t.id for t in page["items"]] == [second.id, first.id]
    definitions = desk.run(desk.manager, custom.definitions.list, {"resource": "ticket"})["items"]
    assert [d["name"] for d in definitions] == ["product_line", "units"]
    assert [e["data"]["entity"] for e in desk.events("record_changed")] == ["custom_field", "custom_field"]


def test_a_portal_customer_gets_the_defaults_but_may_not_set_custom_fields(desk):
    define(desk, name="tier", label="Tier", type="choice", choices=["gold", "silver"], default="silver")
    customer = desk.actor("customer", email="ada@example.com")
    mine = {"subject": "Printer on fire", "description": "It smokes", "type": "incident", "priority": "normal"}
    opened = desk.run(customer, custom.create_ticket, dict(mine))
    assert opened.custom_fields == {"tier": "silver"} and opened.channel == "portal"
    with pytest.raises(ServiceError) as refused:
        desk.run(customer, custom.create_ticket, {**mine, "custom_fields": {"tier": "gold"}})
    assert refused.value.errors == {"custom_fields": ["set by the service desk, not by customers"]}


def test_an_agent_filtering_or_sorting_by_a_custom_field_sees_only_their_tickets(desk):
    from crm_service_desk.models import Group, GroupMember
    define(desk, name="product_line", label="Product line", type="choice", choices=["printers", "scanners"])
    agent, other = desk.agent(), desk.agent()
    desk.add(Group(id="g1", name="Printers", assignment="none", member_ids=[agent.user_id]))
    desk.add(GroupMember(group_id="g1", user_id=agent.user_id))
    printers = {**BASE, "custom_fields": {"product_line": "printers"}}
    theirs = [desk.run(desk.manager, custom.create_ticket, {**printers, "group_id": "g1"}),
              desk.run(desk.manager, custom.create_ticket, {**printers, "assignee_id": agent.user_id}),
              desk.run(agent, custom.create_ticket, dict(printers))]
    desk.run(desk.manager, custom.create_ticket, {**printers, "assignee_id": other.user_id})
    for query in ({"custom": {"product_line": "printers"}}, {"sort": "custom.product_line"}):
        page = desk.run(agent, tickets.list_tickets, {**query, "limit": 10})["items"]
        assert sorted(t.id for t in page) == sorted(t.id for t in theirs), query
