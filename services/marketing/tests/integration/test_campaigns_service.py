"""Templates, campaigns and stats as the marketing service runs them: over the real broker with signed
callers (a caller without the permission refused on the bus too), the preview rendered in the service for a
person of its audience, and sales' events feeding a campaign's stats."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from crm_common.bus import Publisher
from crm_common.envelope import make_envelope
from crm_common.errors import ServiceError
from crm_common.testing.waiting import eventually
from crm_marketing.models import AudienceMember, Campaign, EmailTemplate
from services.marketing.tests.integration.harness import ANALYST, REP, Marketing, running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def marketing(backend, tmp_path_factory):
    yield from running(Marketing(backend, tmp_path_factory.mktemp(f"marketing-campaigns-{backend}")))


def count(marketing, model) -> int:
    with Session(marketing.engine) as session:
        return session.query(model).count()


def test_a_template_is_previewed_for_a_person_of_the_audience(marketing):
    contact_id = str(uuid.uuid4())
    with Session(marketing.engine) as session, session.begin():
        session.add(AudienceMember(kind="contact", source_id=contact_id, email="ada@engines.example",
                                   first_name="<Ada>", company="Engines & Co", score=0, tags=[]))
    template = marketing.call("create_email_template", {
        "name": "Welcome", "subject": "Hi {{ contact.first_name|default('there') }}",
        "html": "<style>p { color: #333 }</style><p>Hi {{ contact.first_name }} of {{ account.name }}</p>"})
    assert template["html"] == '<p style="color:#333">Hi {{ contact.first_name }} of {{ account.name }}</p>'
    shown = marketing.call("preview_email_template", {"contact_id": contact_id}, id=template["id"], actor=ANALYST)
    assert shown == {"subject": "Hi <Ada>", "html": '<p style="color:#333">Hi &lt;Ada&gt; of Engines &amp; Co</p>',
                     "text": "Hi <Ada> of Engines & Co\n"}
    missing = marketing.refused("preview_email_template", {"contact_id": str(uuid.uuid4())}, id=template["id"])
    assert missing.code == "not_found"


def test_a_caller_without_the_permission_or_with_bad_input_changes_nothing(marketing):
    templates, campaigns = count(marketing, EmailTemplate), count(marketing, Campaign)
    body = {"name": "x", "subject": "x", "html": "<p>x</p>"}
    assert marketing.refused("create_email_template", body, actor=REP).code == "forbidden"
    assert marketing.refused("create_email_template", body, actor=ANALYST).code == "forbidden"
    assert marketing.refused("create_campaign", {"name": "x"}, actor=ANALYST).code == "forbidden"
    assert marketing.refused("list_campaigns", {}, actor=REP).code == "forbidden"
    bad = marketing.refused("create_email_template", {**body, "html": "<p>{{ contact.__class__ }}</p>"})
    assert bad.code == "validation_failed" and list(bad.errors) == ["html"]
    bad = marketing.refused("create_campaign", {"name": "x", "segment_ids": [str(uuid.uuid4())]})
    assert bad.code == "validation_failed" and list(bad.errors) == ["segment_ids"]
    assert (count(marketing, EmailTemplate), count(marketing, Campaign)) == (templates, campaigns)


def test_sales_events_feed_the_stats_of_a_campaign(marketing):
    campaign = marketing.call("create_campaign", {"name": "Fair", "type": "event", "currency": "EUR",
                                                  "actual_cost": "200.00"})
    assert campaign["status"] == "draft" and campaign["variants"] == []
    (created,) = [e for e in marketing.outbox("marketing.campaign_created.v1") if e["data"]["id"] == campaign["id"]]
    assert (created["entity"], created["action"]) == ("campaign", "create")
    opportunity = {"id": str(uuid.uuid4()), "campaign_id": campaign["id"], "amount": "900.00", "currency": "EUR",
                   "stage": "closed_won"}
    publisher = Publisher(marketing.vhost.uri)
    try:
        for type_, data in (("sales.lead_created.v1", {"id": str(uuid.uuid4()), "campaign_id": campaign["id"]}),
                            ("sales.opportunity_won.v1", opportunity)):
            publisher.publish(make_envelope(type_, data, "sales", None, "req-sales"))
    finally:
        publisher.close()
    stats = eventually(lambda: marketing.call("campaign_stats", id=campaign["id"], actor=ANALYST),
                       until=lambda found: found["leads"] == 1 and found["won"] == 1)
    assert (stats["leads"], stats["opportunities"], stats["won_amount"], stats["cost"], stats["roi"]) == (
        1, 1, "900.00", "200.00", "3.5000")
    with pytest.raises(ServiceError):
        marketing.call("campaign_stats", id=campaign["id"], actor=REP)
