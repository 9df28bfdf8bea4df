"""Campaign stats: counts from the send log and tracking hits (people's hits apart from machines', per
variant), and leads, opportunities, won amount, cost and ROI from sales' attribution events."""
from __future__ import annotations

import pytest

import crm_marketing_contracts as c
from crm_common.errors import ServiceError
from crm_marketing import handlers
from crm_marketing.domain import campaigns, stats, templates
from crm_marketing.models import Message, TrackingHit


def at(second: int) -> str:
    return f"2026-12-04T08:00:{second:02d}.000000Z"


def deliver(ctx, type_: str, data: dict, second: int = 0) -> None:
    """An event as the stream hands it to the marketing service's handler."""
    envelope = {"type": type_, "occurred_at": at(second), "data": data}
    schema = handlers.HANDLERS[type_].crm_reads[1]
    handlers.HANDLERS[type_](ctx, schema(unknown="exclude").load(data), envelope)


@pytest.fixture
def campaign(marketer):
    made = [templates.create(marketer, c.TemplateIn().load({"name": n, "subject": "Hi", "html": "<p>x</p>"}))
            for n in "AB"]
    return campaigns.create(marketer, c.CampaignIn().load({
        "name": "Spring", "currency": "EUR", "actual_cost": "1000.00",
        "variants": [{"template_id": made[0].id, "share": 50}, {"template_id": made[1].id, "share": 50}]}))


def send_log(session, campaign, rows):
    """Messages ({variant: label, status, bounce}) and their hits ([(kind, machine)])."""
    variants = {v.label: v.id for v in campaign.variants}
    for n, (label, status, bounce, hits) in enumerate(rows):
        message = Message(campaign_id=campaign.id, variant_id=variants[label], email_hash=f"h{n}",
                          email=f"p{n}@x.example", status=status, bounce=bounce)
        session.add(message)
        session.flush()
        for kind, machine in hits:
            session.add(TrackingHit(message_id=message.id, campaign_id=campaign.id, variant_id=message.variant_id,
                                    kind=kind, machine=machine))
    session.add(Message(campaign_id=campaign.id, email_hash="h0", email="p0@x.example", status="sent",
                        is_test=True))  # a test send is not counted
    session.flush()


def test_counts_separate_people_from_machines_and_split_by_variant(marketer, campaign, session):
    send_log(session, campaign, [
        ("A", "sent", None, [("open", True), ("open", False), ("open", False), ("click", False)]),
        ("A", "sent", None, [("click", True), ("click", False)]),  # clicked with images off: an open too
        ("A", "bounced", "hard", []),
        ("B", "failed", "hard", []),
        ("B", "complained", None, [("open", False), ("unsubscribe", False)]),
        ("B", "skipped", None, []),
        ("B", "sent", None, [("open", True)]),
    ])
    figures = c.CampaignStats().dump(stats.of(marketer, campaign.id))
    whole = {name: figures[name] for name in stats.COUNTS}
    assert whole == {"recipients": 7, "sent": 5, "delivered": 4, "bounced": 2, "opened": 3, "unique_opens": 3,
                     "clicked": 2, "unique_clicks": 2, "unsubscribed": 1, "complaints": 1, "machine_opens": 2,
                     "machine_clicks": 1}
    a, b = figures["variants"]
    assert (a["label"], a["recipients"], a["sent"], a["opened"], a["unique_opens"], a["unique_clicks"],
            a["machine_clicks"]) == ("A", 3, 3, 2, 2, 2, 1)
    assert (b["label"], b["recipients"], b["sent"], b["bounced"], b["unique_opens"], b["unsubscribed"],
            b["machine_opens"]) == ("B", 4, 2, 1, 1, 1, 1)


def test_a_campaign_with_nothing_yet_has_zeros_and_no_roi_without_cost(marketer):
    campaign = campaigns.create(marketer, c.CampaignIn().load({"name": "Booth", "type": "event"}))
    figures = c.CampaignStats().dump(stats.of(marketer, campaign.id))
    assert figures["recipients"] == figures["leads"] == 0 and figures["variants"] == []
    assert (figures["cost"], figures["won_amount"], figures["roi"], figures["currency"]) == (
        "0.00", "0.00", None, "USD")


def test_leads_and_opportunities_attributed_by_sales_events_give_won_amount_and_roi(marketer, campaign):
    ctx = marketer
    deliver(ctx, "sales.lead_created.v1", {"id": "lead-1", "campaign_id": campaign.id, "email": "x@y.example"})
    deliver(ctx, "sales.lead_created.v1", {"id": "lead-2", "campaign_id": None})
    deliver(ctx, "sales.lead_updated.v1", {"id": "lead-2", "campaign_id": campaign.id}, second=2)
    deliver(ctx, "sales.lead_created.v1", {"id": "lead-3", "campaign_id": campaign.id})
    deliver(ctx, "sales.lead_updated.v1", {"id": "lead-3", "campaign_id": None}, second=3)  # taken off it
    opportunity = {"campaign_id": campaign.id, "currency": "EUR", "stage": "prospecting"}
    deliver(ctx, "sales.opportunity_created.v1", {"id": "opp-1", "amount": "1500.00", **opportunity})
    deliver(ctx, "sales.opportunity_won.v1", {**opportunity, "id": "opp-1", "amount": "2500.00",
                                              "stage": "closed_won"}, second=5)
    deliver(ctx, "sales.opportunity_updated.v1", {**opportunity, "id": "opp-1", "amount": "9.00"},
            second=1)  # an older event arriving late changes nothing
    deliver(ctx, "sales.opportunity_created.v1", {"id": "opp-2", "amount": "700.00", **opportunity})
    deliver(ctx, "sales.opportunity_lost.v1", {**opportunity, "id": "opp-2", "amount": "700.00",
                                               "stage": "closed_lost"}, second=4)
    deliver(ctx, "sales.opportunity_won.v1", {**opportunity, "id": "opp-3", "amount": "100.00", "currency": "USD",
                                              "stage": "closed_won"}, second=6)
    deliver(ctx, "sales.opportunity_won.v1", {**opportunity, "id": "opp-1", "amount": "2500.00",
                                              "stage": "closed_won"}, second=5)  # the same event again
    figures = c.CampaignStats().dump(stats.of(ctx, campaign.id))
    assert (figures["leads"], figures["opportunities"], figures["won"]) == (2, 3, 2)
    assert (figures["won_amount"], figures["cost"], figures["roi"]) == ("2500.00", "1000.00", "1.5000")
    assert figures["won_other_currencies"] == [{"currency": "USD", "amount": "100.00"}]


def test_stats_of_a_campaign_out_of_reach_are_a_404(marketer, campaign, ctx_as):
    with pytest.raises(ServiceError) as raised:
        stats.of(ctx_as("sales_rep", "rep-1"), campaign.id)
    assert raised.value.code == "not_found"
    assert stats.of(ctx_as("analyst", "an-1"), campaign.id)["campaign_id"] == campaign.id
