"""Tags on sales records: kept once each, carried in events, filtered with ?tag= (within the caller's scope)."""
from __future__ import annotations

import crm_sales_contracts as c
from crm_sales.domain import accounts, contacts, custom, leads, opportunities
from crm_sales.models import Account, Contact, Lead, Opportunity


def test_tags_on_every_sales_record(session, team, events, ctx):
    r1, r3 = ctx(team["r1"]), ctx(team["r3"])
    lead = custom.creating("lead", Lead, leads.create)(r1, {"last_name": "Lin", "tags": ["vip", "fair", "vip"]})
    assert lead.tags == ["vip", "fair"] and events.of(c.LEAD_CREATED)[0]["tags"] == ["vip", "fair"]
    account = custom.creating("account", Account, accounts.create)(r1, {"name": "Acme", "tags": ["vip"]})
    contact = custom.creating("contact", Contact, contacts.create)(r1, {"last_name": "Doe", "tags": ["vip"]})
    opp = custom.creating("opportunity", Opportunity, opportunities.create)(
        r1, {"name": "Deal", "amount": "5.00", "currency": "EUR", "tags": ["renewal"]})
    custom.creating("opportunity", Opportunity, opportunities.create)(r1, {"name": "Other", "amount": "5.00",
                                                                           "currency": "EUR"})
    assert [x.id for x in leads.page(r1, {"tag": "fair", "limit": 5})["items"]] == [lead.id]
    assert [x.id for x in accounts.page(r1, {"tag": "vip", "limit": 5})["items"]] == [account.id]
    assert [x.id for x in contacts.page(r1, {"tag": "vip", "limit": 5})["items"]] == [contact.id]
    assert [x.id for x in opportunities.page(r1, {"tag": "renewal", "limit": 5})["items"]] == [opp.id]
    assert leads.page(r3, {"tag": "fair", "limit": 5})["items"] == []  # another team's rep

    custom.updating("opportunity", Opportunity, opportunities.update)(r1, opp.id, {"tags": ["renewal", "q4"]})
    updated = events.of(c.OPPORTUNITY_UPDATED)[-1]
    assert updated["tags"] == ["renewal", "q4"] and updated["changed_fields"] == ["tags"]
    assert [x.id for x in opportunities.page(r1, {"tag": "q4", "limit": 5})["items"]] == [opp.id]
