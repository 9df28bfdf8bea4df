"""Macros: managers keep canned replies, agents see the shared ones and their team's, and render one on a
ticket they can see; the body allows the placeholders and nothing else of Jinja."""
from __future__ import annotations

import pytest

from crm_common.db import new_id
from crm_common.errors import ServiceError
from crm_service_desk.domain import macros, tickets
from crm_service_desk.domain.configuration import GROUPS
from crm_service_desk.models import AgentCopy

BODY = "Hello {{ requester.name }},\nabout {{ ticket.number }} ({{ ticket.subject }}): done.\n-- {{ agent.name }}"


def fails(call, code):
    with pytest.raises(ServiceError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


def new_macro(desk, **fields):
    data = {"name": "Solved", "body": BODY, "public": True, "team_id": None, **fields}
    return desk.run(desk.manager, macros.create, data)


@pytest.fixture
def agent(desk):
    user_id = new_id()
    desk.add(AgentCopy(id=user_id, email="li@crm.test", full_name="Li Wei"))
    return desk.actor("support_agent", user_id=user_id, email="li@crm.test", team_id="team-a")


@pytest.fixture
def ticket(desk, agent):
    group = desk.run(desk.manager, GROUPS.create, {"name": "Tier 1", "assignment": "none",
                                                   "member_ids": [agent.user_id]})
    body = {"subject": "Cannot log in", "description": "reset fails", "channel": "email", "type": "incident",
            "priority": "normal", "requester_email": "ada@example.com", "requester_name": "Ada Lovelace",
            "group_id": group.id}
    return desk.run(desk.manager, tickets.create_ticket, body)


def test_an_agent_renders_a_macro_filled_from_the_ticket(desk, agent, ticket):
    macro = new_macro(desk)
    rendered = desk.run(agent, macros.render, ticket.id, macro.id)
    assert rendered["body"] == (f"Hello Ada Lovelace,\nabout {ticket.number} (Cannot log in): done.\n-- Li Wei")
    assert rendered["public"] is True and rendered["ticket_id"] == ticket.id
    assert [e["data"]["entity"] for e in desk.events("config_created")][-1] == "macro"


def test_a_team_macro_shows_to_its_team_only(desk, agent, ticket):
    shared = new_macro(desk, name="Shared")
    ours = new_macro(desk, name="Ours", team_id="team-a", public=False)
    theirs = new_macro(desk, name="Theirs", team_id="team-b")
    seen = {m.name for m in desk.run(agent, macros.list_macros, {"limit": 50})["items"]}
    assert seen == {"Shared", "Ours"}
    assert {m.name for m in desk.run(desk.manager, macros.list_macros, {"limit": 50})["items"]} == \
        {"Shared", "Ours", "Theirs"}
    assert desk.run(agent, macros.get, ours.id).public is False
    fails(lambda: desk.run(agent, macros.get, theirs.id), "not_found")
    fails(lambda: desk.run(agent, macros.render, ticket.id, theirs.id), "not_found")
    assert desk.run(agent, macros.render, ticket.id, shared.id)["body"].startswith("Hello Ada")


def test_a_ticket_out_of_sight_is_not_rendered(desk, ticket):
    macro = new_macro(desk)
    stranger = desk.actor("support_agent", email="x@crm.test")  # in no group of the ticket
    fails(lambda: desk.run(stranger, macros.render, ticket.id, macro.id), "not_found")
    customer = desk.actor("customer", email="someone@example.com")
    assert desk.run(customer, macros.list_macros, {"limit": 50})["items"] == []
    fails(lambda: desk.run(customer, macros.get, macro.id), "not_found")


@pytest.mark.parametrize("body", [
    "{{ ticket.description }}",  # a field not offered
    "{{ ticket }}",  # an object, not a field
    "{{ ticket.number | upper }}",  # a filter
    "{% for x in y %}{% endfor %}",  # a statement
    "{{ ''.__class__ }}",  # the sandbox's business
    "{{ config }}",  # another name
    "{{ ticket.number ",  # not Jinja at all
    "{{ " + "(" * 5000 + "ticket.number" + ")" * 5000 + " }}",  # nested past the parser's recursion
    "{% if ticket.number %}" * 3000,
])
def test_a_body_with_anything_but_the_placeholders_is_refused_on_body(desk, body):
    error = fails(lambda: new_macro(desk, body=body), "validation_failed")
    assert list(error.errors) == ["body"]
    assert desk.run(desk.manager, macros.list_macros, {"limit": 50})["items"] == []


def test_update_checks_the_body_and_the_version_and_delete_hides(desk):
    macro = new_macro(desk)
    fails(lambda: desk.run(desk.manager, macros.update, macro.id, {"body": "{{ agent.email }}"}, macro.version),
          "validation_failed")
    fails(lambda: desk.run(desk.manager, macros.update, macro.id, {"name": "Stale"}, macro.version + 5),
          "precondition_failed")
    changed = desk.run(desk.manager, macros.update, macro.id, {"name": "Closed", "public": False}, macro.version)
    assert changed.name == "Closed" and changed.public is False and changed.version == macro.version + 1
    assert desk.run(desk.manager, macros.get, macro.id).body == BODY
    desk.run(desk.manager, macros.remove, macro.id, None)
    fails(lambda: desk.run(desk.manager, macros.get, macro.id), "not_found")
