"""A marketing form submission reaches sales: a new lead carrying the form's campaign, or the open lead of
the same email updated (its first campaign kept), never a second lead for the same person."""
from __future__ import annotations

from sqlalchemy import select

import crm_sales_contracts as c
from crm_common.entrypoint import dispatch
from crm_common.envelope import make_envelope
from crm_sales import handlers
from crm_sales.models import Lead

CAMPAIGN, LATER = "5d0c9c4e-0a43-4a57-9a57-3c8d1f7e2b10", "9e3b8f1a-77c2-4d0e-8d0b-6a0f4f5c2a11"


def submitted(fields: dict, campaign_id: str | None = CAMPAIGN, n: int = 1) -> dict:
    return make_envelope(handlers.FORM_SUBMITTED, {"submission_id": f"s-{n}", "form_id": "f-1",
                                                   "campaign_id": campaign_id, "fields": fields},
                         "marketing", None, f"req-{n}")


def leads(session) -> list[Lead]:
    return list(session.execute(select(Lead).order_by(Lead.created_at)).scalars())


def test_a_submission_creates_a_lead_with_the_forms_campaign(ctx, session, events):
    assert dispatch(ctx(), submitted({"email": "ada@engines.example", "last_name": "Lovelace",
                                      "company": "Engines", "consent": True}), handlers.HANDLERS)
    (lead,) = leads(session)
    assert (lead.email, lead.company, lead.campaign_id, lead.source) == ("ada@engines.example", "Engines",
                                                                         CAMPAIGN, "web_form")
    assert [t for t, _ in events][:1] == [c.LEAD_CREATED]


def test_a_second_submission_of_the_same_email_updates_the_open_lead(ctx, session, events):
    dispatch(ctx(), submitted({"email": "ada@engines.example", "last_name": "Lovelace", "company": "Engines"},
                              campaign_id=None), handlers.HANDLERS)
    (lead,) = leads(session)
    lead.status = "contacted"
    session.flush()
    events.clear()
    dispatch(ctx(), submitted({"email": "ADA@engines.example", "title": "Analyst", "company": "Analytical Engines",
                               "phone": "not a phone"}, n=2), handlers.HANDLERS)
    assert leads(session) == [lead]
    assert (lead.title, lead.company, lead.last_name, lead.status, lead.campaign_id) == (
        "Analyst", "Analytical Engines", "Lovelace", "contacted", CAMPAIGN)  # the phone was not one: dropped
    (updated,) = [d for t, d in events if t == c.LEAD_UPDATED]
    assert set(updated["changed_fields"]) == {"title", "company", "campaign_id"}
    dispatch(ctx(), submitted({"email": "ada@engines.example"}, campaign_id=LATER, n=3), handlers.HANDLERS)
    assert lead.campaign_id == CAMPAIGN  # the first campaign keeps the lead


def test_a_converted_lead_is_not_updated_a_new_one_is_linked_to_it(ctx, session):
    dispatch(ctx(), submitted({"email": "ada@engines.example", "last_name": "Lovelace"}), handlers.HANDLERS)
    (first,) = leads(session)
    first.status = "converted"
    session.flush()
    dispatch(ctx(), submitted({"email": "ada@engines.example", "last_name": "Lovelace"}, n=2), handlers.HANDLERS)
    second = leads(session)[1]
    assert second.duplicate_of_id == first.id and second.status == "new"
