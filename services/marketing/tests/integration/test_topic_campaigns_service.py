"""Content subscriptions in marketing's consent (issue 19): sales announces who left which content topic over
the broker, and a campaign for that topic, sent through the running service to the mail catcher, never reaches
them, while a campaign for another topic (and a campaign with no topic) still does."""
from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from crm_common import mailcatcher
from crm_common.bus import Publisher
from crm_common.envelope import make_envelope
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, AudienceTopic, Campaign, EmailTemplate, Message, Segment
from services.marketing.tests.integration.harness import ANALYST, Marketing, running

pytestmark = pytest.mark.integration

CHANGED = "sales.content_subscription_changed.v1"


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mail")
    with mailcatcher.running(directory) as url:
        yield directory, url


@pytest.fixture(scope="module")
def marketing(backend, tmp_path_factory, mail):
    yield from running(Marketing(backend, tmp_path_factory.mktemp(f"marketing-topics-{backend}"), env={
        "CRM_SMTP_URL": mail[1], "CRM_SMTP_RATE_PER_SECOND": "100000", "CRM_SMTP_RATE_PER_MINUTE": "10000000"},
        timeout=20))


def people(marketing) -> dict[str, dict]:
    """Three contacts and a lead of a fresh audience, a segment of everyone and a template."""
    tag = uuid.uuid4().hex[:6]
    found = {name: {"email": f"{name}-{tag}@topics.example", "source_id": str(uuid.uuid4()), "kind": kind}
             for name, kind in (("ada", "contact"), ("bob", "contact"), ("cy", "contact"), ("dee", "lead"))}
    with Session(marketing.engine) as session, session.begin():
        session.execute(text("UPDATE audience_members SET deleted_at = created_at"))  # earlier tests' people
        session.add_all([AudienceMember(kind=p["kind"], source_id=p["source_id"], email=p["email"],
                                        email_hash=email_hash(p["email"]), first_name=name)
                         for name, p in found.items()])
    return found


def announce(marketing, changes: list[tuple[dict, str, bool]]) -> None:
    """Sales' events: (person, topic, subscribed), as sales publishes them."""
    publisher = Publisher(marketing.vhost.uri)
    try:
        for person, topic, subscribed in changes:
            publisher.publish(make_envelope(CHANGED, {
                "id": str(uuid.uuid4()), "contact_id": person["source_id"], "email": person["email"], "topic": topic,
                "product_id": None, "subscribed": subscribed}, "sales", None, "req-sales"))
    finally:
        publisher.close()


def wait_topics(marketing, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while len(marketing.rows(AudienceTopic)) < n:
        assert time.monotonic() < deadline, "sales' content subscription events were not recorded"
        time.sleep(0.2)


def campaign(marketing, name: str, topic: str | None) -> str:
    with Session(marketing.engine) as session, session.begin():
        segment = Segment(name=f"all {name}", rules={"all": []})
        template = EmailTemplate(name=name, subject=f"{name} for {{{{ contact.first_name }}}}", html="<p>News</p>")
        session.add_all([segment, template])
        session.flush()
        ids = {"segment": segment.id, "template": template.id}
    body = {"name": name, "type": "email", "segment_ids": [ids["segment"]], "template_id": ids["template"],
            "from_email": "news@topics.example"}
    if topic is not None:
        body["topic"] = topic
    created = marketing.call("create_campaign", body)
    assert created["topic"] == topic
    return created["id"]


def send(marketing, campaign_id: str) -> dict:
    job = marketing.call("send_campaign", {}, id=campaign_id)
    deadline = time.monotonic() + 60
    while True:
        done = marketing.call("get_send_job", id=campaign_id, job_id=job["id"], actor=ANALYST)
        if done["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return done
        time.sleep(0.2)


def received(directory, subject_start: str) -> Counter:
    return Counter(m["To"] for m in mailcatcher.caught(directory) if m["Subject"].startswith(subject_start))


def test_a_topic_campaign_skips_who_left_the_topic_and_other_topics_still_reach_them(marketing, mail):
    who = people(marketing)
    ada, bob, cy, dee = (who[name] for name in ("ada", "bob", "cy", "dee"))
    # ada leaves the newsletter and stays on webinars; bob left the newsletter and joined again; cy never chose
    announce(marketing, [(ada, "newsletter", True), (ada, "webinars", True), (bob, "newsletter", False)])
    wait_topics(marketing, 3)
    announce(marketing, [(ada, "newsletter", False), (bob, "newsletter", True)])
    deadline, newsletter_rows = time.monotonic() + 20, (AudienceTopic, AudienceTopic.topic == "newsletter")
    while {(t.contact_id, t.subscribed) for t in marketing.rows(*newsletter_rows)} != {
            (ada["source_id"], False), (bob["source_id"], True)}:
        assert time.monotonic() < deadline, "the later subscription changes were not recorded"
        time.sleep(0.2)

    tag = uuid.uuid4().hex[:4]
    newsletter = campaign(marketing, f"Newsletter {tag}", "newsletter")
    done = send(marketing, newsletter)
    assert (done["status"], done["total"], done["sent"], done["skipped"]) == ("done", 4, 3, 1)
    assert received(mail[0], f"Newsletter {tag}") == {bob["email"]: 1, cy["email"]: 1, dee["email"]: 1}
    skipped = marketing.rows(Message, Message.campaign_id == newsletter, Message.status == "skipped")
    assert [(m.email, m.skip_reason) for m in skipped] == [(ada["email"], "topic_unsubscribed")]

    webinar = campaign(marketing, f"Webinar {tag}", "webinars")
    assert send(marketing, webinar)["sent"] == 4
    assert received(mail[0], f"Webinar {tag}") == {p["email"]: 1 for p in who.values()}
    announcement = campaign(marketing, f"Announcement {tag}", None)  # no topic: the topics do not apply
    assert send(marketing, announcement)["sent"] == 4


def test_a_campaign_topic_is_one_of_sales_topics_and_a_refusal_changes_nothing(marketing):
    with Session(marketing.engine) as session:
        before = session.execute(select(Campaign.id)).all()
    bad = marketing.refused("create_campaign", {"name": "x", "topic": "gossip"})
    assert bad.code == "validation_failed" and list(bad.errors) == ["topic"]
    created = marketing.call("create_campaign", {"name": "Updates", "topic": "product_updates"})
    bad = marketing.refused("update_campaign", {"topic": "gossip"}, id=created["id"])
    assert bad.code == "validation_failed" and list(bad.errors) == ["topic"]
    assert marketing.call("get_campaign", id=created["id"])["topic"] == "product_updates"
    assert marketing.call("update_campaign", {"topic": None}, id=created["id"])["topic"] is None
    with Session(marketing.engine) as session:
        assert len(session.execute(select(Campaign.id)).all()) == len(before) + 1
