"""Satisfaction surveys: tokens reach only the recipient (the requester's portal view, the mailer), are
stored as digests, answer once, never for staff; NPS surveys only by roles allowed to send them."""
from __future__ import annotations

import json

import pytest
from marshmallow import ValidationError
from sqlalchemy import inspect, select

import crm_service_desk_contracts as c
from crm_common.context import Actor
from crm_common.db import new_id
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_service_desk.domain import desk_settings, surveys, tickets
from crm_service_desk.models import AgentCopy, Base, SurveyInvitation

REQUESTER = "ada@example.com"


def fails(call, code):
    with pytest.raises(ServiceError) as info:
        call()
    assert info.value.code == code, info.value
    return info.value


def solved_ticket(desk, requester=REQUESTER, **fields):
    body = {"subject": "Cannot log in", "description": "password reset fails", "channel": "email",
            "requester_email": requester, **fields}
    ticket = desk.run(desk.manager, tickets.create_ticket, body)
    return desk.run(desk.manager, tickets.update_ticket, ticket.id, {"status": "solved"}, None)


def requester(desk, email=REQUESTER, **kwargs) -> Actor:
    return desk.actor("customer", email=email, **kwargs)


def everything_stored(desk) -> str:
    """Every row of every table of the service (the outbox's events included), as text."""
    def dump(session):
        return json.dumps([[list(map(str, row)) for row in session.execute(select(table)).all()]
                           for table in Base.metadata.sorted_tables], default=str)
    return desk.query(dump)


def test_only_the_requester_portal_view_shows_a_token_and_it_answers_once(desk):
    ticket = solved_ticket(desk)
    assert ticket.survey_token is None  # the staff member who solved it
    assert desk.run(desk.manager, tickets.get_ticket, ticket.id).survey_token is None
    assert desk.run(desk.manager, tickets.list_tickets, {"limit": 10})["items"][0]["survey_token"] is None
    token = desk.run(requester(desk), tickets.get_ticket, ticket.id).survey_token
    assert token and len(token) >= 43
    fails(lambda: desk.run(None, surveys.respond, {"score": 6}, token=token), "validation_failed")
    answered = desk.run(None, surveys.respond, {"score": 5, "comment": "great"}, token=token)
    assert answered.score == 5 and answered.ticket_id == ticket.id
    fails(lambda: desk.run(None, surveys.respond, {"score": 4}, token=token), "conflict")
    fails(lambda: desk.run(None, surveys.respond, {"score": 4}, token="nope"), "not_found")
    [event] = desk.events("survey_answered")
    assert event["data"]["ticket_id"] == ticket.id and event["data"]["score"] == 5
    assert desk.run(desk.manager, surveys.summary)["csat_average"] == 5.0
    # answered: the portal view shows no token any more
    assert desk.run(requester(desk), tickets.get_ticket, ticket.id).survey_token is None


def test_a_colleague_who_sees_the_account_tickets_gets_no_token(desk):
    account_id = new_id()
    desk.run(desk.manager, desk_settings.update, {"customers_see_account_tickets": True}, None)
    ticket = solved_ticket(desk, account_id=account_id)
    colleague = requester(desk, email="bob@example.com", account_id=account_id)
    assert desk.run(colleague, tickets.get_ticket, ticket.id).id == ticket.id
    assert desk.run(colleague, tickets.get_ticket, ticket.id).survey_token is None
    assert desk.run(requester(desk, account_id=account_id), tickets.get_ticket, ticket.id).survey_token


def test_tokens_are_kept_only_as_digests_and_never_in_events(desk):
    ticket = solved_ticket(desk)
    first = desk.run(requester(desk), tickets.get_ticket, ticket.id).survey_token
    second = desk.run(requester(desk), tickets.get_ticket, ticket.id).survey_token
    [invitation] = desk.query(lambda s: s.execute(select(SurveyInvitation)).scalars().all())
    mailed = desk.run(None, surveys.issue_email_token, invitation.id)["token"]
    stored = everything_stored(desk)
    for token in (first, second, mailed):
        assert token not in stored
    assert surveys.digest(second) in stored and surveys.digest(mailed) in stored
    assert "survey_token" not in {c["name"] for c in desk.query(lambda s: inspect(s.connection()).get_columns(
        "sd_tickets"))}
    [solved] = desk.events("ticket_solved")
    assert solved["data"]["survey_invitation_id"] == invitation.id and "survey_token" not in solved["data"]
    # each portal view issues a new token (the last one works), the mailed one keeps working beside it
    fails(lambda: desk.run(None, surveys.respond, {"score": 3}, token=first), "not_found")
    desk.run(None, surveys.respond, {"score": 3}, token=mailed)
    fails(lambda: desk.run(None, surveys.respond, {"score": 4}, token=second), "conflict")
    fails(lambda: desk.run(None, surveys.issue_email_token, invitation.id), "conflict")


def test_only_the_mailer_is_handed_email_tokens(desk):
    ticket = solved_ticket(desk)
    [invitation] = desk.query(lambda s: s.execute(select(SurveyInvitation)).scalars().all())
    for who in (desk.manager, desk.actor("support_agent"), requester(desk), desk.actor("admin")):
        fails(lambda: desk.run(who, surveys.issue_email_token, invitation.id), "forbidden")
    assert desk.query(lambda s: s.get(SurveyInvitation, invitation.id).token_hash) is None
    listed = desk.run(desk.manager, surveys.list_invitations, {"ticket_id": ticket.id, "limit": 10})["items"]
    assert "token" not in c.SurveyInvitationSchema().dump(listed[0])


def test_staff_may_not_answer_a_survey(desk):
    ticket = solved_ticket(desk)
    token = desk.run(requester(desk), tickets.get_ticket, ticket.id).survey_token
    agent = desk.agent()
    for staff in (agent, desk.manager, desk.actor("admin"), desk.actor("integration")):
        fails(lambda: desk.run(staff, surveys.respond, {"score": 5}, token=token), "forbidden")
    assert desk.query(lambda s: s.execute(select(SurveyInvitation.answered_at)).scalar_one()) is None
    # an agent who made themself the requester of a ticket cannot answer its survey, even signed out
    own = solved_ticket(desk, requester=f"{agent.user_id[:8]}@crm.test")
    own_token = desk.run(requester(desk, email=f"{agent.user_id[:8]}@crm.test"), tickets.get_ticket,
                         own.id).survey_token
    fails(lambda: desk.run(None, surveys.respond, {"score": 5}, token=own_token), "forbidden")
    assert desk.events("survey_answered") == []
    # the requester answers, signed in to the portal or not
    desk.run(requester(desk), surveys.respond, {"score": 4}, token=token)


# Who may send NPS surveys, written down (not derived from the grants under test).
NPS_SENDERS = {
    "admin": True,
    "support_manager": True,
    "support_agent": False,
    "sales_manager": False,
    "sales_rep": False,
    "marketer": False,
    "analyst": False,
    "integration": False,
    "customer": False,
    "channel_manager": False,
    "partner": False,
    "partner_manager": False,
}


def test_who_may_send_nps_surveys(desk):
    contact = desk.contact("carla@example.com")
    assert set(NPS_SENDERS) == set(BUILTIN_ROLES)
    for role, allowed in NPS_SENDERS.items():
        who = desk.actor(role, email=f"{role}@example.com", contact_id=contact.id if role == "customer" else None)
        send = lambda: desk.run(who, surveys.create_nps, {"name": role, "question": "?", "contact_ids": [contact.id]})
        if allowed:
            assert send()["invitations"] == 1, role
        else:
            fails(send, "forbidden")
    # a custom role with survey create limited to its own records sends none either
    own = Actor(user_id=new_id(), kind="user", roles=("custom",), perms={"survey": {"create": "own", "read": "own"}})
    fails(lambda: desk.run(own, surveys.create_nps, {"name": "x", "question": "?", "contact_ids": [contact.id]}),
          "forbidden")
    assert [e["data"]["name"] for e in desk.events("nps_survey_created")] == ["admin", "support_manager"]


def test_nps_invitations_per_request_are_capped(desk):
    schema = c.NpsSurveyCreateSchema()
    ids = [new_id() for _ in range(c.NPS_INVITATIONS_PER_REQUEST + 1)]
    with pytest.raises(ValidationError) as refused:
        schema.load({"name": "Big", "contact_ids": ids})
    assert "contact_ids" in refused.value.messages
    assert schema.load({"name": "Big", "contact_ids": ids[:c.NPS_INVITATIONS_PER_REQUEST]})
    fails(lambda: desk.run(desk.manager, surveys.create_nps, {"name": "Big", "question": "?", "contact_ids": ids}),
          "validation_failed")
    assert desk.events("nps_survey_created") == []


def test_nps_survey_to_contacts_delivered_by_the_mailer(desk):
    a, b = desk.contact("a@example.com"), desk.contact("b@example.com")
    result = desk.run(desk.manager, surveys.create_nps, {"name": "Q4", "question": "Recommend us?",
                                                         "contact_ids": [a.id, b.id, "unknown"]})
    assert result["invitations"] == 2 and result["skipped_contact_ids"] == ["unknown"]
    [sent] = desk.events("nps_survey_created")
    assert all(set(i) == {"id", "contact_id", "email"} for i in sent["data"]["invitations"])
    tokens = [desk.run(None, surveys.issue_email_token, i["id"])["token"] for i in sent["data"]["invitations"]]
    desk.run(None, surveys.respond, {"score": 10}, token=tokens[0])
    desk.run(None, surveys.respond, {"score": 3}, token=tokens[1])
    assert desk.run(desk.manager, surveys.get_nps, result["id"])["nps"] == 0.0


def test_a_staff_email_among_nps_contacts_cannot_answer(desk):
    staff = desk.agent()
    contact = desk.contact(f"{staff.user_id[:8]}@crm.test")
    desk.run(desk.manager, surveys.create_nps, {"name": "Q4", "question": "?", "contact_ids": [contact.id]})
    [sent] = desk.events("nps_survey_created")
    token = desk.run(None, surveys.issue_email_token, sent["data"]["invitations"][0]["id"])["token"]
    fails(lambda: desk.run(None, surveys.respond, {"score": 10}, token=token), "forbidden")
    desk.add(AgentCopy(id=new_id(), email="portal@example.com", roles=["customer"], is_active=True, available=True))
    customer = desk.contact("portal@example.com")
    desk.run(desk.manager, surveys.create_nps, {"name": "Q5", "question": "?", "contact_ids": [customer.id]})
    token = desk.run(None, surveys.issue_email_token, desk.events("nps_survey_created")[-1]["data"]["invitations"][0]["id"])["token"]
    assert desk.run(None, surveys.respond, {"score": 10}, token=token).score == 10

