"""The campaign send job against a real SMTP server (the mail catcher in its own process): personalised,
tracked messages; consent and suppression at send time; hard and soft bounces; exactly once on resume."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from crm_common import jobs
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_common import mail, mailcatcher
from crm_marketing.domain import send_log, sending
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceActivity, Base, Campaign, Consent, Message, Suppression


J = Base.metadata.tables[jobs.JOBS]


def messages(engine, campaign_id):
    with Session(engine) as session:
        return {m.email: m for m in session.execute(select(Message).where(Message.campaign_id == campaign_id)).scalars()}


def test_a_send_personalises_tracks_and_logs_every_message(h, engine, catcher):
    addresses = h.audience(engine, 7)
    cid = h.campaign(engine)
    job_id = h.start(engine, cid)
    job = h.run(engine, job_id)
    assert job["status"] == "done" and job["result"]["sent"] == 7
    caught = {m["To"]: m for m in mailcatcher.caught(catcher)}
    assert set(caught) == set(addresses)
    mail = caught["person3@example.com"]
    assert mail["Subject"] == "Offer for Name3"
    html = mail.get_body(("html",)).get_content()
    assert "Hi Name3" in html and "/t/c/" in html and "/t/o/" in html and "acme.example/offer" not in html
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and "/u/" in mail["List-Unsubscribe"]
    logged = messages(engine, cid)
    assert {m.status for m in logged.values()} == {"sent"}
    assert logged["person3@example.com"].links == ["https://acme.example/offer"]
    assert mail["Message-ID"] == logged["person3@example.com"].smtp_message_id
    with Session(engine) as session:
        assert session.get(Campaign, cid).status == "sent"
        assert session.execute(select(AudienceActivity).where(AudienceActivity.kind == "email_sent")).all().__len__() == 7
        types = [r[0] for r in session.execute(text("SELECT type FROM crm_outbox"))]
    assert types.count("marketing.email_sent.v1") == 7
    assert "marketing.campaign_send_started.v1" in types and "marketing.campaign_send_finished.v1" in types
    answer, _, _ = h.call(engine, sending.get_job, cid, job_id)
    assert (answer["status"], answer["total"], answer["sent"], answer["failed"], answer["skipped"]) == ("done", 7, 7, 0, 0)


def test_suppressed_and_opted_out_addresses_get_nothing(h, engine, catcher):
    addresses = h.audience(engine, 5)
    with Session(engine) as session, session.begin():
        session.add(Suppression(email=addresses[0], email_hash=email_hash(addresses[0]), reason="unsubscribe"))
        session.add(Consent(email=addresses[1], email_hash=email_hash(addresses[1]), channel="email", status="opted_out"))
        session.add(Consent(email=addresses[2], email_hash=email_hash(addresses[2]), channel="email", status="pending"))
    cid = h.campaign(engine)
    job_id = h.start(engine, cid)
    h.run(engine, job_id)
    assert set(h.per_address(catcher)) == set(addresses[3:])
    logged = messages(engine, cid)
    assert (logged[addresses[0]].skip_reason, logged[addresses[1]].skip_reason,
            logged[addresses[2]].skip_reason) == ("suppressed", "no_consent", "consent_pending")
    answer, _, _ = h.call(engine, sending.get_job, cid, job_id)
    assert (answer["sent"], answer["skipped"]) == (2, 3)


def test_a_second_send_is_refused_and_a_second_job_sends_nobody_twice(h, engine, catcher):
    h.audience(engine, 4)
    cid = h.campaign(engine)
    job_id = h.start(engine, cid)
    with pytest.raises(ServiceError) as refused:
        h.start(engine, cid)  # the double click
    assert refused.value.code == "conflict"
    h.run(engine, job_id)
    with Session(engine) as session, session.begin():  # a second job forced past the status check
        session.execute(update(Campaign).where(Campaign.id == cid).values(status="cancelled"))
    again = h.start(engine, cid)
    assert h.run(engine, again)["result"]["sent"] == 4  # the campaign's count: nothing new
    assert h.per_address(catcher) == {f"person{i}@example.com": 1 for i in range(4)}


def test_hard_bounce_suppresses_soft_bounce_retries_then_fails(h, engine, catcher, monkeypatch):
    addresses = h.audience(engine, 4)
    monkeypatch.setenv("CRM_SMTP_RETRY_DELAY", "0.05")
    tries = {"soft": 0}
    real = mail.Connection.send_bytes

    def picky(self, data, sender, recipient, before_end=None):
        if recipient == addresses[1]:
            raise mail.Refused(550, "5.1.1 no such user")
        if recipient == addresses[2]:
            tries["soft"] += 1
            raise mail.Refused(451, "4.3.0 try later")
        return real(self, data, sender, recipient, before_end)

    monkeypatch.setattr(mail.Connection, "send_bytes", picky)
    cid = h.campaign(engine)
    job = h.run(engine, h.start(engine, cid))
    logged = messages(engine, cid)
    assert (logged[addresses[1]].status, logged[addresses[1]].bounce, logged[addresses[1]].smtp_code) == ("failed", "hard", 550)
    assert (logged[addresses[2]].status, logged[addresses[2]].bounce) == ("failed", "soft") and tries["soft"] == 3
    assert job["failed"] == 2 and job["result"]["sent"] == 2
    with Session(engine) as session:
        entry = session.execute(select(Suppression).where(Suppression.email_hash == email_hash(addresses[1]))).scalar_one()
    assert (entry.reason, entry.source) == ("hard_bounce", f"campaign:{cid}")
    assert set(h.per_address(catcher)) == {addresses[0], addresses[3]}


def test_smtp_unavailable_fails_the_job_and_sending_again_resumes(h, engine, catcher, monkeypatch):
    h.audience(engine, 6)
    cid = h.campaign(engine)
    calls = {"n": 0}
    real = mail.Connection.send_bytes

    def drops(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise mail.Unavailable("SMTP session lost")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(mail.Connection, "send_bytes", drops)
    first = h.run(engine, h.start(engine, cid))
    assert first["status"] == "failed"
    answer, _, _ = h.call(engine, sending.get_job, cid, first["id"])
    assert answer["status"] == "failed" and "SMTP" in answer["error"] and answer["sent"] == 3
    again = h.run(engine, h.start(engine, cid))  # sending a campaign whose send failed resumes it
    assert again["status"] == "done"
    assert h.per_address(catcher) == {f"person{i}@example.com": 1 for i in range(6)}


class Crash(BaseException):
    """The process dying (kill -9): nothing after it runs, no except clause catches it."""


def _expire_lease(engine, job_id):
    with engine.begin() as conn:  # the crashed runner's lease runs out
        conn.execute(update(J).where(J.c.id == job_id).values(updated_at=utcnow() - jobs.LEASE * 2))


@pytest.mark.parametrize("where", ["before the handoff", "after the handoff"])
def test_exactly_once_after_a_crash_mid_batch(h, engine, catcher, monkeypatch, where):
    """A crash with a batch half sent: the messages handed over are never sent again, the others are."""
    monkeypatch.setenv("CRM_SEND_BATCH", "10")
    addresses = h.audience(engine, 25)
    cid = h.campaign(engine)
    job_id = h.start(engine, cid)
    marks = {"n": 0, "crashed": False}
    real_mark, real_write = send_log.mark, send_log.write_outcomes

    def mark(engine_, item, outcomes):
        marks["n"] += 1
        if where == "before the handoff" and marks["n"] == 14:
            marks["crashed"] = True
            raise Crash()  # the 14th message's body went out, its "." never did
        real_mark(engine_, item, outcomes)

    def write(engine_, job, campaign_id, outcomes, counters, suppress):
        if marks["crashed"] or (where == "after the handoff" and marks["n"] >= 14):
            raise Crash()  # a dead process writes nothing more: the second batch's outcomes never commit
        real_write(engine_, job, campaign_id, outcomes, counters, suppress)

    monkeypatch.setattr(send_log, "mark", mark)
    monkeypatch.setattr(send_log, "write_outcomes", write)
    with pytest.raises(Crash):
        h.run(engine, job_id)
    monkeypatch.setattr(send_log, "mark", real_mark)
    monkeypatch.setattr(send_log, "write_outcomes", real_write)
    sent_before = sum(h.per_address(catcher).values())
    assert sent_before == (13 if where == "before the handoff" else 20)
    _expire_lease(engine, job_id)
    job = h.run(engine, job_id)
    assert job["status"] == "done"
    assert h.per_address(catcher) == {a: 1 for a in addresses}  # everyone exactly once
    logged = messages(engine, cid)
    assert {m.status for m in logged.values()} == {"sent"}
    presumed = [m for m in logged.values() if m.smtp_response == send_log.PRESUMED]
    assert len(presumed) == (3 if where == "before the handoff" else 10)  # handed over, outcome not committed
    assert job["result"]["presumed_sent"] == len(presumed) and job["result"]["sent"] == 25


def test_privacy_export_and_erasure_of_the_send_log(h, engine, catcher):
    from crm_common.context import SYSTEM, Context
    from crm_common.testing.events import Events
    from crm_marketing.domain import privacy
    addresses = h.audience(engine, 2)
    cid = h.campaign(engine)
    h.run(engine, h.start(engine, cid))
    with Session(engine) as session, session.begin():
        ctx = Context(session, SYSTEM, Events(), "req-p")
        data, counts = privacy.export(ctx, addresses[0].upper())
        assert counts["messages"] == 1 and data["messages"][0]["campaign_id"] == cid
        assert data["messages"][0]["status"] == "sent"
        assert privacy.erase(ctx, addresses[0])["messages"] == 1
    logged = messages(engine, cid)
    assert addresses[0] not in logged and addresses[1] in logged
    with Session(engine) as session:  # the row stays by its hash: the campaign never mails the address again
        assert session.execute(select(Message).where(Message.email_hash == email_hash(addresses[0]))).scalar_one().email is None
