from __future__ import annotations

import crm_sales_contracts as c
from crm_sales.domain import leads, privacy
from crm_sales.models import Contact, Lead, Opportunity


def test_export_then_erase_keeps_business_totals(session, team, events, ctx):
    lead = leads.create(ctx(team["r1"]), {"first_name": "Ada", "last_name": "Lovelace", "company": "Engines",
                                          "email": "ada@engines.example", "phone": "+442079460958"})
    result = leads.convert(ctx(team["r1"]), lead.id, {"create_opportunity": {
        "name": "Deal", "amount": "500.00", "currency": "EUR"}})
    privacy.handle(ctx(), {"request_id": "pr1", "kind": "export", "email": "ADA@engines.example"})
    part = events.of(c.PRIVACY_PART_COMPLETED)[-1]
    assert part["status"] == "done" and part["counts"] == {"leads": 1, "contacts": 1, "activities": 0}
    assert part["data"]["contacts"][0]["email"] == "ada@engines.example"

    privacy.handle(ctx(), {"request_id": "pr2", "kind": "erasure", "email": "ada@engines.example"})
    part = events.of(c.PRIVACY_PART_COMPLETED)[-1]
    assert part == {"request_id": "pr2", "service": "sales", "status": "done",
                    "counts": {"leads": 1, "contacts": 1, "activities": 0}}
    erased_lead, contact = session.get(Lead, lead.id), session.get(Contact, result["contact"].id)
    assert (erased_lead.email, erased_lead.phone, erased_lead.first_name) == (None, None, None)
    assert (contact.email, contact.first_name, contact.last_name) == (None, None, privacy.ERASED)
    assert str(session.get(Opportunity, result["opportunity"].id).amount) == "500.00"
    assert events.of(c.CONTACT_UPDATED)[-1]["email"] is None
