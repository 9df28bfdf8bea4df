"""Campaigns: references that must exist, dates in order, A/B variants that add up, the status flow, what a
campaign that is sending or sent still takes, soft delete, and what keeps one from being sent."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.errors import ServiceError
from crm_marketing.domain import campaigns, templates
from crm_marketing.models import Campaign, CampaignVariant, Segment


@pytest.fixture
def made(marketer, session):
    def template(name="T"):
        return templates.create(marketer, c.TemplateIn().load({"name": name, "subject": "Hi", "html": "<p>x</p>"}))
    segment = Segment(name="All", rules={"all": []})
    session.add(segment)
    session.flush()
    return {"segment": segment.id, "a": template("A").id, "b": template("B").id}


def add(ctx, **body):
    return campaigns.create(ctx, c.CampaignIn().load({"name": "Spring", **body}))


def patch(ctx, campaign, **body):
    return campaigns.update(ctx, campaign.id, c.CampaignPatch().load(body))


def refused(fn, *args, code="validation_failed", **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        fn(*args, **kwargs)
    assert raised.value.code == code, raised.value
    return raised.value


def test_a_campaign_with_variants_is_stored_labelled_with_ab_defaults_and_announced(marketer, made, events):
    events.clear()
    campaign = add(marketer, segment_ids=[made["segment"]], budget="1000.00", currency="EUR",
                   starts_on="2026-12-01", ends_on="2026-12-31", from_email="News@Shop.example",
                   variants=[{"template_id": made["a"], "share": 60}, {"template_id": made["b"], "share": 40}])
    dumped = c.Campaign().dump(campaign)
    assert (dumped["status"], dumped["type"], dumped["budget"], dumped["currency"], dumped["from_email"]) == (
        "draft", "email", "1000.00", "EUR", "news@shop.example")
    assert [(v["label"], v["template_id"], v["share"], v["is_winner"]) for v in dumped["variants"]] == [
        ("A", made["a"], 60, False), ("B", made["b"], 40, False)]
    assert (dumped["ab_metric"], dumped["ab_test_share"], dumped["ab_wait_minutes"]) == ("opens", 20, 240)
    assert events == [(c.CAMPAIGN_CREATED, {"id": campaign.id, "name": "Spring", "type": "email",
                                            "status": "draft", "actual_cost": None, "currency": "EUR"})]
    assert campaigns.ready_to_send(campaign) == []


@pytest.mark.parametrize("body, field, said", [
    ({"segment_ids": ["nope"]}, "segment_ids", "no such segment: nope"),
    ({"template_id": "nope"}, "template_id", "no such email template: nope"),
    ({"starts_on": "2026-12-31", "ends_on": "2026-12-01"}, "ends_on", "on or after starts_on"),
    ({"variants": "shares"}, "variants", "shares add up to 90, not 100"),
    ({"variants": "one"}, "variants", "2 to 5 variants"),
    ({"variants": "and a template"}, "template_id", "either a template or variants"),
    ({"status": "sent"}, "status", "starts as a draft"),
])
def test_bad_references_dates_and_variants_are_a_422_and_nothing_is_stored(marketer, made, body, field, said):
    shapes = {"shares": [{"template_id": made["a"], "share": 50}, {"template_id": made["b"], "share": 40}],
              "one": [{"template_id": made["a"], "share": 100 - 1}],
              "and a template": [{"template_id": made["a"], "share": 50}, {"template_id": made["b"], "share": 50}]}
    if "variants" in body:
        body = {"variants": shapes[body["variants"]], **({"template_id": made["a"]}
                                                         if body["variants"] == "and a template" else {})}
    error = refused(add, marketer, **body)
    assert any(said in message for message in error.errors[field]), error.errors
    assert marketer.session.execute(select(Campaign)).scalars().all() == []
    assert marketer.session.execute(select(CampaignVariant)).scalars().all() == []


def test_shapes_are_refused_by_the_contract():
    for body in ({"name": ""}, {"name": "x", "type": "radio"}, {"name": "x", "budget": "-1.00"},
                 {"name": "x", "budget": 12.5}, {"name": "x", "currency": "euro"},
                 {"name": "x", "variants": [{"template_id": "a", "share": 100}]}, {"name": "x", "colour": "red"}):
        with pytest.raises(ValidationError):
            c.CampaignIn().load(body)


def test_another_type_moves_along_the_flow_by_updates_an_email_campaign_by_its_send(marketer, made, events):
    event = add(marketer, type="event", actual_cost="250.00")
    assert patch(marketer, event, status="scheduled").status == "scheduled"
    assert patch(marketer, event, status="sending").status == "sending"
    assert patch(marketer, event, status="sent").status == "sent"
    assert events[-1] == (c.CAMPAIGN_UPDATED, {"id": event.id, "name": "Spring", "type": "event", "status": "sent",
                                               "actual_cost": "250.00", "currency": "USD",
                                               "changed_fields": ["status"]})
    refused(patch, marketer, event, status="cancelled", code="conflict")  # sent is the end
    email = add(marketer, template_id=made["a"], segment_ids=[made["segment"]])
    refused(patch, marketer, email, status="scheduled", code="conflict")  # the send schedules it
    refused(patch, marketer, email, status="sent", code="conflict")
    campaigns.move(marketer, email, "scheduled")
    assert patch(marketer, email, status="draft").status == "draft"  # taken off the calendar
    campaigns.move(marketer, email, "scheduled")
    campaigns.move(marketer, email, "sending")
    with pytest.raises(ServiceError):
        campaigns.move(marketer, email, "draft")
    assert patch(marketer, email, status="cancelled").status == "cancelled"


def test_a_campaign_that_is_sending_or_sent_takes_only_its_cost(marketer, made):
    campaign = add(marketer, template_id=made["a"], segment_ids=[made["segment"]])
    campaigns.move(marketer, campaign, "scheduled")
    campaigns.move(marketer, campaign, "sending")
    locked = refused(patch, marketer, campaign, name="Other", actual_cost="10.00", code="conflict")
    assert "only its actual_cost" in locked.detail and "name" in locked.detail
    campaigns.move(marketer, campaign, "sent")
    assert campaign.sent_at is not None
    refused(patch, marketer, campaign, template_id=made["b"], code="conflict")
    assert patch(marketer, campaign, actual_cost="1200.50").actual_cost == Decimal("1200.50")
    assert patch(marketer, campaign, name="Spring").version == campaign.version  # no change, no conflict


def test_an_update_replaces_variants_and_checks_the_whole_campaign(marketer, made):
    campaign = add(marketer, template_id=made["a"], starts_on="2026-12-10")
    refused(patch, marketer, campaign, ends_on="2026-12-01")
    refused(patch, marketer, campaign, variants=[{"template_id": made["a"], "share": 50},
                                                 {"template_id": made["b"], "share": 50}])
    changed = patch(marketer, campaign, template_id=None, ab_metric="clicks",
                    variants=[{"template_id": made["a"], "share": 50}, {"template_id": made["b"], "share": 50}])
    assert [v.label for v in changed.variants] == ["A", "B"] and changed.ab_metric == "clicks"
    assert changed.ends_on is None and changed.starts_on == date(2026, 12, 10)
    assert [v.label for v in campaigns.get(marketer, campaign.id).variants] == ["A", "B"]


def test_what_keeps_a_campaign_from_being_sent(marketer, made, session):
    bare = add(marketer)
    assert campaigns.ready_to_send(bare) == ["the campaign has no segments to send to",
                                             "the campaign has no template (or variants) to send"]
    print_run = add(marketer, type="print", template_id=made["a"], segment_ids=[made["segment"]])
    assert campaigns.ready_to_send(print_run) == ["only an email campaign is sent (this one is print)"]
    ready = add(marketer, template_id=made["b"], segment_ids=[made["segment"]])
    session.get(Segment, made["segment"]).deleted_at = ready.created_at
    problems = campaigns.ready_to_send(ready)
    assert problems == [f"segments no longer exist: {made['segment']}"]


def test_soft_delete_hides_it_but_a_sending_campaign_is_cancelled_first(marketer, made, ctx_as):
    campaign = add(marketer, template_id=made["a"], segment_ids=[made["segment"]])
    analyst = ctx_as("analyst", "an-1")
    refused(campaigns.delete, analyst, campaign.id, code="forbidden")
    campaigns.move(marketer, campaign, "scheduled")
    campaigns.move(marketer, campaign, "sending")
    refused(campaigns.delete, marketer, campaign.id, code="conflict")
    patch(marketer, campaign, status="cancelled")
    campaigns.delete(marketer, campaign.id)
    refused(campaigns.get, marketer, campaign.id, code="not_found")
    assert campaigns.page(marketer, c.CampaignQuery().load({}))["items"] == []
    assert marketer.session.get(Campaign, campaign.id).deleted_at is not None


def test_the_list_shows_each_campaigns_variants_and_filters(marketer, made):
    ab = add(marketer, name="AB", variants=[{"template_id": made["a"], "share": 30},
                                            {"template_id": made["b"], "share": 70}])
    plain = add(marketer, name="Plain", type="print")
    listed = campaigns.page(marketer, c.CampaignQuery().load({"sort": "name"}))["items"]
    assert [(row.name, [v.share for v in row.variants]) for row in listed] == [("AB", [30, 70]), ("Plain", [])]
    assert [row.id for row in campaigns.page(marketer, c.CampaignQuery().load({"type": "print"}))["items"]] == [
        plain.id]
    assert [row.id for row in campaigns.page(marketer, c.CampaignQuery().load({"q": "a"}))["items"]] == [
        plain.id, ab.id]
