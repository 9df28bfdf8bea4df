from __future__ import annotations

import pytest

from crm_common.entrypoint import Context, dispatch
from crm_common.errors import ServiceError
import crm_sales_contracts as c
from crm_sales.domain import accounts, leads, records, territories
from crm_sales.models import Account, Contact, Lead, Opportunity


def make(session, who, events, **fields):
    data = {"first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines",
            "email": "ada@engines.example", "country": "GB", **fields}
    return leads.create(Context(session, who, events), data)


def test_email_and_phone_are_validated_and_normalized(session, team, events):
    with pytest.raises(ServiceError) as bad:
        make(session, team["r1"], events, email="not-an-email", phone="12")
    assert bad.value.code == "validation_failed"
    assert set(bad.value.errors) == {"email", "phone"}
    assert session.query(Lead).count() == 0 and events == []

    lead = make(session, team["r1"], events, email="Ada@Engines.Example", phone="020 7946 0958")
    assert lead.email == "ada@engines.example"
    assert lead.phone == "+442079460958"  # national format read with the lead's country, stored E.164


def test_duplicates_are_a_conflict_listing_them_unless_forced(session, team, events):
    first = make(session, team["r1"], events)
    with pytest.raises(ServiceError) as dup:
        make(session, team["m1"], events, email="ADA@engines.example", company="Other Co")
    assert dup.value.code == "conflict"
    assert [d["id"] for d in dup.value.extra["duplicates"]] == [first.id]
    assert dup.value.extra["duplicates"][0]["matched_on"] == ["email"]

    with pytest.raises(ServiceError) as by_company:
        make(session, team["r1"], events, email=None, first_name="Augusta")
    assert by_company.value.extra["duplicates"][0]["matched_on"] == ["company"]

    forced = make(session, team["r2"], events, force=True)
    assert forced.duplicate_of_id == first.id
    assert session.query(Lead).count() == 2


def test_the_conflict_lists_only_duplicates_the_caller_may_read(session, team, events):
    """r1's lead is out of r2's and r3's scope (own): they learn that a duplicate exists, not whose it is."""
    first = make(session, team["r1"], events)
    seen_by = {}
    for name in ("r1", "r2", "r3", "m1", "admin"):
        with pytest.raises(ServiceError) as dup:
            make(session, team[name], events, email="ada@engines.example", first_name="Augusta")
        assert dup.value.code == "conflict"
        seen_by[name] = ([d["id"] for d in dup.value.extra["duplicates"]], dup.value.extra["hidden_duplicates"])
    assert seen_by == {"r1": ([first.id], 0), "r2": ([], 1), "r3": ([], 1), "m1": ([first.id], 0),
                       "admin": ([first.id], 0)}
    with pytest.raises(ServiceError) as dup:
        make(session, team["r3"], events, email="ada@engines.example")
    problem = str(dup.value.extra)
    for secret in (first.id, "r1", first.company, first.last_name):
        assert secret not in problem
    assert session.query(Lead).count() == 1


def test_status_flow(session, team, events, ctx):
    lead = make(session, team["r1"], events)
    leads.update(ctx(team["r1"]), lead.id, {"status": "contacted"})
    with pytest.raises(ServiceError) as back:
        leads.update(ctx(team["r1"]), lead.id, {"status": "new"})
    assert back.value.code == "conflict"
    with pytest.raises(ServiceError) as conv:
        leads.update(ctx(team["r1"]), lead.id, {"status": "converted"})
    assert conv.value.code == "validation_failed"
    updated = leads.update(ctx(team["r1"]), lead.id, {"status": "qualified"})
    assert updated.status == "qualified"
    assert events.of(c.LEAD_UPDATED)[-1]["changed_fields"] == ["status"]


def test_stale_version_is_refused(session, team, events, ctx):
    lead = make(session, team["r1"], events)
    with pytest.raises(ServiceError) as stale:
        leads.update(ctx(team["r1"]), lead.id, {"score": 50}, lead.version + 1)
    assert stale.value.code == "precondition_failed"
    assert session.get(Lead, lead.id).score == 0


def test_scope_rep_own_manager_team(session, team, events, ctx):
    lead = make(session, team["r1"], events)
    assert lead.owner_id == "r1" and lead.team_id == "t1"
    with pytest.raises(ServiceError) as hidden:
        records.load(ctx(team["r3"]), "lead", Lead, lead.id)
    assert hidden.value.code == "not_found"
    with pytest.raises(ServiceError):
        records.load(ctx(team["r2"]), "lead", Lead, lead.id)
    assert records.load(ctx(team["m1"]), "lead", Lead, lead.id).id == lead.id
    page = records.page(ctx(team["r2"]), "lead", Lead, {"limit": 50}, ("created_at",))
    assert page["items"] == []
    with pytest.raises(ServiceError):  # a rep may not hand a lead to someone else
        leads.update(ctx(team["r1"]), lead.id, {"owner_id": "r2"})


def test_territory_rule_goes_to_least_loaded_member(session, team, events, ctx):
    uk = territories.create(ctx(team["admin"]), {"name": "UK", "countries": ["GB"], "member_ids": ["r1", "r2"]})
    make(session, team["admin"], events, owner_id="r1", email="busy@x.example", company="Busy", last_name="B")
    lead = make(session, team["marketer"], events)
    assert lead.territory_id == uk.id
    assert (lead.owner_id, lead.assignment_rule) == ("r2", "territory")
    assert events.of(c.LEAD_ASSIGNED)[-1] == {"id": lead.id, "owner_id": "r2", "previous_owner_id": None,
                                              "rule": "territory"}


def test_round_robin_rule_within_a_team(session, team, events, ctx):
    territories.create_rule(ctx(team["admin"]), {"name": "web", "priority": 1, "strategy": "round_robin",
                                                 "team_id": "t1", "countries": [], "industries": [],
                                                 "source": None, "active": True})
    owners = [make(session, team["marketer"], events, email=f"p{i}@x.example", company=f"C{i}").owner_id
              for i in range(4)]
    assert owners == ["m1", "r1", "r2", "m1"]


def test_deactivated_users_open_leads_are_reassigned(session, team, events, ctx):
    from crm_sales import handlers

    open_lead = make(session, team["r1"], events)
    done = make(session, team["r1"], events, email="b@x.example", company="B", last_name="B")
    leads.update(ctx(team["r1"]), done.id, {"status": "unqualified"})
    dispatch(ctx(), {"type": handlers.USER_DEACTIVATED, "data": {"id": "r1"}},
             handlers.HANDLERS)
    assert session.get(Lead, open_lead.id).owner_id in ("m1", "r2")
    assert session.get(Lead, done.id).owner_id == "r1"  # closed leads keep their owner
    moved = events.of(c.LEAD_ASSIGNED)[-1]
    assert moved["id"] == open_lead.id and moved["previous_owner_id"] == "r1"
    assert moved["rule"].startswith("reassigned:")


def test_conversion_creates_everything_once(session, team, events, ctx):
    lead = make(session, team["r1"], events)
    result = leads.convert(ctx(team["r1"]), lead.id, {"create_opportunity": {
        "name": "Engine", "amount": "1200.50", "currency": "GBP", "expected_close_date": None}})
    assert result["account"].name == "Analytical Engines"
    assert result["contact"].account_id == result["account"].id
    assert str(result["opportunity"].amount) == "1200.50" and result["opportunity"].stage == "prospecting"
    assert session.get(Lead, lead.id).status == "converted"
    assert events.of(c.LEAD_CONVERTED) == [{"id": lead.id, "account_id": result["account"].id,
                                            "contact_id": result["contact"].id,
                                            "opportunity_id": result["opportunity"].id}]
    with pytest.raises(ServiceError) as again:
        leads.convert(ctx(team["r1"]), lead.id, {})
    assert again.value.code == "conflict"
    assert session.query(Account).count() == 1 and session.query(Opportunity).count() == 1


def test_conversion_links_an_existing_account(session, team, events, ctx):
    from crm_sales.domain import accounts
    account = accounts.create(ctx(team["r1"]), {"name": "Engines Ltd"})
    lead = make(session, team["r1"], events)
    result = leads.convert(ctx(team["r1"]), lead.id, {"account_id": account.id})
    assert result["account"].id == account.id and result["opportunity"] is None
    assert session.query(Account).count() == 1 and session.query(Contact).count() == 1
    other = make(session, team["r3"], events, email="z@x.example", company="Z", last_name="Z")
    with pytest.raises(ServiceError) as hidden:  # r3 cannot see r1's account
        leads.convert(ctx(team["r3"]), other.id, {"account_id": account.id})
    assert hidden.value.code == "not_found"
    assert session.get(Lead, other.id).status == "new"


def test_form_submission_creates_web_form_lead_and_links_duplicates(session, team, events, ctx):
    from crm_sales import handlers

    first = make(session, team["r1"], events, email="ada.l@engines.example")  # the same email: updated (test_web_forms)
    envelope = {"type": handlers.FORM_SUBMITTED, "data": {
        "form_id": "f1", "submission_id": "s1", "campaign_id": "camp1",
        "fields": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@engines.example",
                   "company": "Analytical Engines",
                   "phone": "not a phone", "message": "hello"}}}
    dispatch(ctx(), envelope, handlers.HANDLERS)
    lead = session.query(Lead).filter(Lead.source == "web_form").one()
    assert lead.duplicate_of_id == first.id and lead.campaign_id == "camp1" and lead.phone is None
