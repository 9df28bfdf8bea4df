"""Campaign sends through the running marketing service (`nameko run`, the real broker, SQLite file or
PostgreSQL, where the job runs in a worker process of its own) into the mail catcher on a free port."""
from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from crm_common import mailcatcher
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, Campaign, EmailTemplate, Message, Segment, Suppression
from services.marketing.tests.integration.harness import ANALYST, REP, Marketing, running

pytestmark = pytest.mark.integration



class Sending(Marketing):
    """The service sending to the test's mail catcher, unthrottled."""

    def __init__(self, backend: str, tmp_path, smtp_url: str):
        super().__init__(backend, tmp_path, env={
            "CRM_SMTP_URL": smtp_url, "CRM_SMTP_RATE_PER_SECOND": "100000", "CRM_SMTP_RATE_PER_MINUTE": "10000000",
            "CRM_MARKETING_SEND_TICK": "0.5"}, timeout=20)

    def campaign(self, n: int, suppressed: int = 0) -> tuple[str, list[str]]:
        tag = uuid.uuid4().hex[:6]
        addresses = [f"p{i}-{tag}@example.com" for i in range(n)]
        with Session(self.engine) as session, session.begin():
            session.execute(text("UPDATE audience_members SET deleted_at = created_at"))  # earlier tests' people
            session.add_all([AudienceMember(kind="contact", source_id=str(uuid.uuid4()), email=a, email_hash=email_hash(a),
                                            first_name=f"P{i}", company="Acme") for i, a in enumerate(addresses)])
            session.add_all([Suppression(email=a, email_hash=email_hash(a), reason="complaint")
                             for a in addresses[:suppressed]])
            segment = Segment(name="all", rules={"all": []})
            template = EmailTemplate(name="t", subject="For {{ contact.first_name }} at {{ account.name }}",
                                     html='<p>Hello {{ contact.first_name }}</p><a href="https://acme.example/x">x</a>')
            session.add_all([segment, template])
            session.flush()
            campaign = Campaign(name=f"c-{tag}", type="email", segment_ids=[segment.id], template_id=template.id,
                                from_email="news@acme.example")
            session.add(campaign)
            session.flush()
            return campaign.id, addresses

    def wait_job(self, campaign_id: str, job_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.call("get_send_job", id=campaign_id, job_id=job_id, actor=ANALYST)
            if job["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
                return job
            time.sleep(0.2)


@pytest.fixture(scope="module")
def mail(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mail")
    with mailcatcher.running(directory) as url:
        yield directory, url


@pytest.fixture(scope="module")
def marketing(backend, tmp_path_factory, mail):
    yield from running(Sending(backend, tmp_path_factory.mktemp(f"marketing-{backend}"), mail[1]))


def received(directory, addresses) -> Counter:
    wanted = set(addresses)
    return Counter(m["To"] for m in mailcatcher.caught(directory) if m["To"] in wanted)


def test_a_campaign_send_over_the_broker_reaches_everyone_once(marketing, mail):
    campaign_id, addresses = marketing.campaign(40, suppressed=2)
    job = marketing.call("send_campaign", {}, id=campaign_id)
    assert (job["campaign_id"], job["status"]) == (campaign_id, "queued")
    assert marketing.refused("send_campaign", {}, id=campaign_id).code == "conflict"  # the double click
    done = marketing.wait_job(campaign_id, job["id"])
    assert (done["status"], done["total"], done["sent"], done["skipped"], done["failed"]) == ("done", 40, 38, 2, 0)
    assert done["started_at"] <= done["finished_at"]
    assert received(mail[0], addresses) == {a: 1 for a in addresses[2:]}
    mails = {m["To"]: m for m in mailcatcher.caught(mail[0])}
    assert mails[addresses[5]]["Subject"] == "For P5 at Acme"
    assert mails[addresses[5]]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    with Session(marketing.engine) as session:
        assert session.get(Campaign, campaign_id).status == "sent"
        sent_events = session.execute(text("SELECT count(*) FROM crm_outbox WHERE type = 'marketing.email_sent.v1'")).scalar()
    assert sent_events >= 38


def test_a_scheduled_send_starts_on_time_and_a_cancelled_one_sends_nothing(marketing, mail):
    later, later_people = marketing.campaign(5)
    at = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    job = marketing.call("send_campaign", {"at": at}, id=later)
    assert job["status"] == "queued" and job["scheduled_at"] is not None
    with Session(marketing.engine) as session:
        assert session.get(Campaign, later).status == "scheduled"
    assert marketing.wait_job(later, job["id"])["status"] == "done"
    assert received(mail[0], later_people) == {a: 1 for a in later_people}

    never, never_people = marketing.campaign(5)
    job = marketing.call("send_campaign", {"at": (datetime.now(timezone.utc) + timedelta(seconds=3)).isoformat()}, id=never)
    assert marketing.call("cancel_campaign_send", id=never)["status"] == "cancelled"
    time.sleep(4)
    assert marketing.call("get_send_job", id=never, job_id=job["id"])["status"] == "cancelled"
    assert received(mail[0], never_people) == {}
    assert marketing.refused("cancel_campaign_send", id=never).code == "conflict"


def test_test_send_and_refusals(marketing, mail):
    campaign_id, _ = marketing.campaign(1)
    tag = uuid.uuid4().hex[:6]
    answer = marketing.call("test_send", {"emails": [f"qa-{tag}@example.com", f"boss-{tag}@example.com"]}, id=campaign_id)
    assert [m["status"] for m in answer["messages"]] == ["sent", "sent"]
    subjects = {m["To"]: m["Subject"] for m in mailcatcher.caught(mail[0])}
    assert subjects[f"qa-{tag}@example.com"].startswith("[Test] ")
    with Session(marketing.engine) as session:
        tests = session.execute(select(Message).where(Message.campaign_id == campaign_id)).scalars().all()
        assert {m.is_test for m in tests} == {True} and session.get(Campaign, campaign_id).status == "draft"
    assert marketing.refused("test_send", {"emails": ["a@example.com"]}, id=campaign_id, actor=REP).code == "forbidden"
    assert marketing.refused("send_campaign", {}, id=campaign_id, actor=ANALYST).code == "forbidden"
    too_many = marketing.refused("test_send", {"emails": [f"x{i}@example.com" for i in range(11)]}, id=campaign_id)
    assert too_many.code == "validation_failed" and "emails" in too_many.errors
    assert marketing.refused("send_campaign", {"at": "tomorrow"}, id=campaign_id).code == "validation_failed"
    assert marketing.refused("get_send_job", id=campaign_id, job_id=str(uuid.uuid4())).code == "not_found"
    with Session(marketing.engine) as session:
        assert session.get(Campaign, campaign_id).status == "draft"
