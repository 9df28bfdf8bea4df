"""Partners: tiers need certifications, deal registration with conflicts, approval creating the linked deal,
a partner user's scope (another partner's records are not found), profit share statements, orders, lead
distribution."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import time_machine

import crm_sales_contracts as c
from crm_common.context import Actor
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_sales.domain import (deal_registrations, opportunities, partner_leads, partner_orders, partner_statements,
                              partners, products)
from crm_sales.models import Account, Lead, Opportunity, Territory

CM = Actor(user_id="cm", roles=("channel_manager",), perms=BUILTIN_ROLES["channel_manager"])


def partner_user(partner_id: str | None, user_id: str = "pu") -> Actor:
    return Actor(user_id=user_id, roles=("partner",), perms=BUILTIN_ROLES["partner"], partner_id=partner_id)


@pytest.fixture
def channel(session, ctx):
    north = Territory(name="North", countries=["DE"])
    session.add(north)
    session.flush()
    acme = partners.create(ctx(CM), {"name": "Acme Resellers", "territory_id": north.id})
    other = partners.create(ctx(CM), {"name": "Other Partner", "territory_id": north.id})
    return {"acme": acme, "other": other, "north": north}


def certify(ctx, partner, n, on=date(2026, 1, 10), expires=None):
    for i in range(n):
        partners.add_training(ctx(CM), partner.id, {"kind": "certification", "name": f"Cert {i}", "person": "Ann",
                                                    "completed_on": on, "expires_on": expires})


def test_a_tier_needs_its_certifications(ctx, channel):
    acme = channel["acme"]
    with pytest.raises(ServiceError) as refused:
        partners.update(ctx(CM), acme.id, {"tier": "gold"})
    assert refused.value.errors["tier"] == ["gold needs 2 valid certifications; the partner holds 0"]
    certify(ctx, acme, 1)
    partners.add_training(ctx(CM), acme.id, {"kind": "training", "name": "Basics", "completed_on": date(2026, 1, 2)})
    certify(ctx, acme, 1, expires=date(2026, 2, 1))  # expired: does not count
    with pytest.raises(ServiceError):
        partners.update(ctx(CM), acme.id, {"tier": "gold"})
    assert partners.update(ctx(CM), acme.id, {"tier": "silver"}).tier == "silver"
    certify(ctx, acme, 1)
    assert partners.update(ctx(CM), acme.id, {"tier": "gold"}).tier == "gold"


def test_a_partner_user_sees_only_their_partner(ctx, channel):
    acme, other = channel["acme"], channel["other"]
    me = ctx(partner_user(acme.id))
    assert partners.get(me, acme.id).id == acme.id
    with pytest.raises(ServiceError) as hidden:
        partners.get(me, other.id)
    assert hidden.value.code == "not_found"
    assert [p.id for p in partners.page(me, {})["items"]] == [acme.id]
    assert partners.page(ctx(partner_user(None)), {})["items"] == []  # no partner: nothing
    mine = deal_registrations.create(me, {"account_name": "Zeta GmbH", "opportunity_name": "Zeta rollout",
                                          "amount": Decimal("1000.00"), "currency": "EUR"})
    theirs = deal_registrations.create(ctx(partner_user(other.id, "pu2")), {
        "account_name": "Omega", "opportunity_name": "Omega deal", "amount": Decimal("5.00"), "currency": "EUR"})
    assert [r.id for r in deal_registrations.page(me, {})["items"]] == [mine.id]
    with pytest.raises(ServiceError) as foreign:
        deal_registrations.get(me, theirs.id)
    assert foreign.value.code == "not_found"
    with pytest.raises(ServiceError) as naming:  # registering for another partner
        deal_registrations.create(me, {"partner_id": other.id, "account_name": "X", "opportunity_name": "Y",
                                       "amount": Decimal("1.00"), "currency": "EUR"})
    assert "partner_id" in naming.value.errors
    with pytest.raises(ServiceError) as deciding:
        deal_registrations.approve(me, mine.id, {})
    assert deciding.value.code == "forbidden"


def test_conflicts_are_flagged_and_approval_creates_the_linked_deal(session, ctx, channel, team, events):
    acme, other = channel["acme"], channel["other"]
    existing = Account(name="Globex Corp", name_key="globex corp", owner_id="r1", team_id="t1")
    session.add(existing)
    session.flush()
    opportunities.create(ctx(team["r1"]), {"name": "Globex renewal", "amount": "10.00", "currency": "EUR",
                                           "account_id": existing.id})
    me = ctx(partner_user(acme.id))
    clash = deal_registrations.create(me, {"account_name": "Globex Corp.", "opportunity_name": "Globex expansion",
                                           "amount": Decimal("2500.00"), "currency": "EUR"})
    assert clash.conflict is True
    assert sorted(x["kind"] for x in clash.conflicts) == ["account", "opportunity"]
    clean = deal_registrations.create(me, {"account_name": "Initech", "opportunity_name": "Initech CRM",
                                           "amount": Decimal("4000.00"), "currency": "EUR",
                                           "expected_close_date": date(2026, 12, 20)})
    assert (clean.conflict, clean.status) == (False, "pending")
    second = deal_registrations.create(ctx(partner_user(other.id, "pu2")), {
        "account_name": "initech", "opportunity_name": "Initech too", "amount": Decimal("1.00"), "currency": "EUR"})
    assert [x["kind"] for x in second.conflicts] == ["registration"]

    approved = deal_registrations.approve(ctx(CM), clean.id, {"note": "ok"})
    opp = session.get(Opportunity, approved.opportunity_id)
    assert (approved.status, approved.decided_by, approved.opportunity_stage) == ("approved", "cm", "prospecting")
    assert (opp.partner_id, opp.owner_id, opp.amount, opp.account_id) == (acme.id, "cm", Decimal("4000.00"),
                                                                          approved.account_id)
    assert session.get(Account, approved.account_id).name == "Initech"
    with pytest.raises(ServiceError) as twice:
        deal_registrations.reject(ctx(CM), clean.id, {})
    assert twice.value.code == "conflict"
    # approving the clash links the deal to the existing account, beyond the channel manager's own scope
    linked = deal_registrations.approve(ctx(CM), clash.id, {})
    assert linked.account_id == existing.id
    decided = events.of(c.DEAL_REGISTRATION_DECIDED)
    assert [d["status"] for d in decided] == ["approved", "approved"]
    assert deal_registrations.get(me, clean.id).opportunity_stage == "prospecting"  # the partner follows its deal


def test_statement_shares_won_deals_and_orders_by_tier_and_product(session, ctx, channel, team):
    acme = channel["acme"]
    certify(ctx, acme, 2)
    partners.update(ctx(CM), acme.id, {"tier": "gold"})
    widget = products.create(ctx(team["admin"]), {"name": "Widget", "sku": "W-1", "unit_price": "19.99",
                                                  "currency": "EUR", "active": True})
    gadget = products.create(ctx(team["admin"]), {"name": "Gadget", "sku": "G-1", "unit_price": "100.00",
                                                  "currency": "EUR", "active": True})
    partner_statements.set_rate(ctx(CM), {"tier": "gold", "percent": Decimal("12.50")})
    partner_statements.set_rate(ctx(CM), {"tier": "gold", "product_id": widget.id, "percent": Decimal("7.00")})
    partner_statements.set_rate(ctx(CM), {"tier": "silver", "percent": Decimal("5.00")})
    me = ctx(partner_user(acme.id))
    with time_machine.travel(datetime(2026, 11, 5, 10, tzinfo=timezone.utc), tick=False):
        reg = deal_registrations.create(me, {"account_name": "Hooli", "opportunity_name": "Hooli seats",
                                             "amount": Decimal("12345.67"), "currency": "EUR"})
        reg = deal_registrations.approve(ctx(CM), reg.id, {})
        opportunities.update(ctx(CM), reg.opportunity_id, {"stage": "closed_won"})
        order = partner_orders.place(me, acme.id, {"currency": "EUR", "lines": [
            {"product_id": widget.id, "quantity": Decimal("3")}, {"product_id": gadget.id, "quantity": Decimal("2")}]})
    assert (order.total, order.partner_id) == (Decimal("259.97"), acme.id)
    result = partner_statements.statement(me, acme.id, {"period": "2026-Q4", "format": "json"})
    # deal: 12345.67 x 12.50% = 1543.20875 -> 1543.21; widgets 59.97 x 7% = 4.1979 -> 4.20;
    # gadgets 200.00 x 12.50% = 25.00
    assert [(x["source"], x["amount"], x["percent"], x["share"]) for x in result["lines"]] == [
        ("deal", "12345.67", "12.50", "1543.21"), ("order", "59.97", "7.00", "4.20"),
        ("order", "200.00", "12.50", "25.00")]
    assert result["totals"] == [{"currency": "EUR", "amount": "12605.64", "share": "1572.41"}]
    assert partner_statements.statement(me, acme.id, {"period": "2026-Q3"})["lines"] == []
    with pytest.raises(ServiceError) as foreign:
        partner_statements.statement(ctx(partner_user(channel["other"].id, "pu2")), acme.id, {"period": "2026-Q4"})
    assert foreign.value.code == "not_found"

    workbook = partner_statements.statement(me, acme.id, {"period": "2026-Q4", "format": "xlsx"})
    from base64 import b64decode

    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(b64decode(workbook["content_base64"]))).active
    rows = [tuple(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ("Partner", "Acme Resellers", None, None, None, None, None, None, None, None)
    assert ("Total", None, None, None, None, 12605.64, None, 1572.41, "EUR", None) in rows


def test_a_statement_shares_at_the_tier_the_partner_had_when_the_deal_was_won(session, ctx, channel):
    acme = channel["acme"]
    certify(ctx, acme, 2)
    partners.update(ctx(CM), acme.id, {"tier": "gold"})
    partner_statements.set_rate(ctx(CM), {"tier": "gold", "percent": Decimal("10.00")})
    partner_statements.set_rate(ctx(CM), {"tier": "silver", "percent": Decimal("4.00")})
    me = ctx(partner_user(acme.id))

    def won(name: str, amount: str, day: datetime) -> None:
        with time_machine.travel(day, tick=False):
            reg = deal_registrations.create(me, {"account_name": name, "opportunity_name": name,
                                                 "amount": Decimal(amount), "currency": "EUR"})
            reg = deal_registrations.approve(ctx(CM), reg.id, {})
            opportunities.update(ctx(CM), reg.opportunity_id, {"stage": "closed_won"})

    won("Gold deal", "1000.00", datetime(2026, 10, 6, 9, tzinfo=timezone.utc))
    partners.update(ctx(CM), acme.id, {"tier": "silver"})  # later in the quarter, down a tier
    won("Silver deal", "1000.00", datetime(2026, 11, 6, 9, tzinfo=timezone.utc))
    result = partner_statements.statement(me, acme.id, {"period": "2026-Q4"})
    assert result["tier"] == "silver"
    assert [(x["name"], x["tier"], x["percent"], x["share"]) for x in result["lines"]] == [
        ("Gold deal", "gold", "10.00", "100.00"), ("Silver deal", "silver", "4.00", "40.00")]
    assert result["totals"] == [{"currency": "EUR", "amount": "2000.00", "share": "140.00"}]


def test_leads_go_to_the_territorys_highest_tier_then_the_least_loaded(session, ctx, channel):
    acme, other = channel["acme"], channel["other"]
    certify(ctx, other, 1)
    partners.update(ctx(CM), other.id, {"tier": "silver"})
    third = partners.create(ctx(CM), {"name": "Third", "territory_id": channel["north"].id})
    certify(ctx, third, 1)
    partners.update(ctx(CM), third.id, {"tier": "silver"})
    for i in range(3):
        session.add(Lead(last_name=f"L{i}", status="new", territory_id=channel["north"].id))
    session.add(Lead(last_name="Working", status="contacted", territory_id=channel["north"].id, owner_id="r1"))
    session.flush()
    done = partner_leads.distribute(ctx(CM), {"limit": 100})
    assert done["assigned"] == 3
    given = [item["partner_id"] for item in done["items"]]
    assert acme.id not in given and sorted(given) == sorted([other.id, third.id, other.id])
    assert len(partner_leads.leads(ctx(partner_user(other.id)), other.id)["items"]) == 2
    assert partner_leads.distribute(ctx(CM), {})["assigned"] == 0


def test_privacy_export_and_erasure_cover_content_subscriptions_and_partner_addresses(session, ctx, channel, team,
                                                                                       events):
    from crm_sales.domain import content_subscriptions, privacy
    from crm_sales.models import Contact
    partners.update(ctx(CM), channel["acme"].id, {"email": "Ann@Acme.example"})
    person = Contact(first_name="Ann", last_name="Smith", email="ann@acme.example", owner_id="r1", team_id="t1")
    session.add(person)
    session.flush()
    content_subscriptions.subscribe(ctx(team["r1"]), {"contact_id": person.id, "topic": "newsletter"})
    exported, counts = privacy.export(session, "ann@acme.example")
    assert [x["topic"] for x in exported["content_subscriptions"]] == ["newsletter"]
    assert exported["partners"] == [{"id": channel["acme"].id, "name": "Acme Resellers", "email": "ann@acme.example"}]
    erased = privacy.erase(ctx(), "ann@acme.example")
    assert (erased["content_subscriptions"], erased["partners"]) == (1, 1)
    assert channel["acme"].email is None
    left = events.of(c.CONTENT_SUBSCRIPTION_CHANGED)[-1]
    assert (left["subscribed"], left["email"]) == (False, None)
