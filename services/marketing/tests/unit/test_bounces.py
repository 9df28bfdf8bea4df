"""Delivery status notifications and feedback reports after the send (samples written from RFC 3464's and
RFC 5965's examples): hard bounces and complaints suppress, soft ones are recorded, malformed reports are
a 422 naming why."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.errors import ServiceError
from crm_marketing.domain import bounces
from crm_marketing.models import AudienceActivity, Consent, Suppression

REPORTS = Path(__file__).parent / "reports"


def report(name: str, message_id: str = "none@engines.example") -> dict:
    return c.InboundReport().load({"raw": (REPORTS / name).read_text().replace("MESSAGE_ID", message_id)})


def entries(session) -> list[tuple]:
    return [(s.email, s.reason, s.source) for s in session.execute(select(Suppression)).scalars()]


def test_a_hard_bounce_marks_the_message_and_suppresses_the_address(marketer, sent, session, events):
    message = sent(email="ada@engines.example", smtp_message_id="<c0ffee.1@crm.engines.example>")
    other = sent(email="ada@engines.example", smtp_message_id="<c0ffee.2@crm.engines.example>")
    answer = bounces.receive(marketer, report("dsn_hard.eml", "c0ffee.1@crm.engines.example"))
    assert answer == {"report_type": "delivery-status", "outcome": "hard_bounce", "recipient": "ada@engines.example",
                      "status": "5.1.1", "message_id": message.id, "campaign_id": message.campaign_id,
                      "suppressed": True}
    assert (message.status, message.bounce, other.status) == ("bounced", "hard", "sent")
    assert message.bounced_at is not None
    assert entries(session) == [("ada@engines.example", "hard_bounce", message.campaign_id)]
    assert events.of(c.EMAIL_BOUNCED) == [{"message_id": message.id, "campaign_id": message.campaign_id,
                                           "bounce": "hard", "status": "5.1.1", "source": "dsn"}]
    assert [a.kind for a in session.execute(select(AudienceActivity)).scalars()] == ["bounced"]
    events.clear()
    assert bounces.receive(marketer, report("dsn_hard.eml", "c0ffee.1@crm.engines.example"))["suppressed"]
    assert events == [] and len(entries(session)) == 1  # the same report twice is applied once


def test_without_a_known_message_id_the_latest_message_to_the_recipient_is_found(marketer, sent, session):
    older = sent(email="ada@engines.example", ago=7200)
    latest = sent(email="ada@engines.example", ago=600)
    assert bounces.receive(marketer, report("dsn_hard.eml", "unknown@elsewhere.example"))["message_id"] == latest.id
    assert (older.status, latest.status) == ("sent", "bounced")


def test_a_delayed_delivery_is_a_soft_bounce_recorded_without_suppression(marketer, sent, session, events):
    message = sent(email="bob@engines.example")
    answer = bounces.receive(marketer, report("dsn_delayed.eml"))
    assert (answer["outcome"], answer["status"], answer["suppressed"], answer["message_id"]) == (
        "soft_bounce", "4.4.7", False, message.id)
    assert (message.status, message.bounce) == ("sent", "soft") and entries(session) == []
    assert events.of(c.EMAIL_BOUNCED)[0]["bounce"] == "soft"


def test_an_abuse_report_is_a_complaint_suppressing_and_withdrawing_consent(marketer, sent, session, events):
    message = sent(email="grace@mailbox.example", smtp_message_id="<spring.42@crm.engines.example>")
    answer = bounces.receive(marketer, report("arf_abuse.eml", "spring.42@crm.engines.example"))
    assert (answer["report_type"], answer["outcome"], answer["status"], answer["message_id"]) == (
        "feedback-report", "complaint", "abuse", message.id)
    assert message.status == "complained"
    assert entries(session) == [("grace@mailbox.example", "complaint", message.campaign_id)]
    assert session.execute(select(Consent.status)).scalar() == "opted_out"
    assert events.of(c.COMPLAINT_RECEIVED) == [{"message_id": message.id, "campaign_id": message.campaign_id,
                                                "feedback_type": "abuse"}]


def test_a_complaint_upgrades_an_earlier_hard_bounce_entry(marketer, sent, session):
    message = sent(email="grace@mailbox.example", smtp_message_id="<spring.42@crm.engines.example>")
    raw = (REPORTS / "dsn_hard.eml").read_text().replace("ada@engines.example", "grace@mailbox.example")
    bounces.receive(marketer, {"raw": raw.replace("MESSAGE_ID", "spring.42@crm.engines.example")})
    bounces.receive(marketer, report("arf_abuse.eml", "spring.42@crm.engines.example"))
    assert [e[1] for e in entries(session)] == ["complaint"] and message.status == "complained"


BROKEN = {
    "plain text": "Subject: hello\n\njust a note\n",
    "a report of another type": (REPORTS / "dsn_hard.eml").read_text().replace("delivery-status;", "disposition-notification;"),
    "no status part": (REPORTS / "dsn_hard.eml").read_text().replace("Content-Type: message/delivery-status", "Content-Type: text/plain"),
    "a bad status": (REPORTS / "dsn_hard.eml").read_text().replace("Status: 5.1.1", "Status: bounced"),
    "no action": (REPORTS / "dsn_hard.eml").read_text().replace("Action: failed\n", ""),
    "no recipient": (REPORTS / "dsn_hard.eml").read_text().replace("Final-Recipient: RFC822; ada@engines.example\n", ""),
    "no feedback type": (REPORTS / "arf_abuse.eml").read_text().replace("Feedback-Type: abuse\n", ""),
    "binary noise": "\x01\x02--\r\n\r\nContent-Type: multipart/report; boundary=",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_malformed_report_is_a_422_naming_why_and_changes_nothing(marketer, sent, session, events, name):
    sent(email="ada@engines.example")
    with pytest.raises(ServiceError) as raised:
        bounces.receive(marketer, {"raw": BROKEN[name]})
    assert raised.value.code == "validation_failed" and raised.value.errors["raw"]
    assert events == [] and entries(session) == []


def test_a_delivered_notification_is_ignored(marketer, sent, session, events):
    raw = (REPORTS / "dsn_hard.eml").read_text().replace("Action: failed", "Action: delivered").replace("5.1.1", "2.0.0")
    assert bounces.receive(marketer, {"raw": raw})["outcome"] == "ignored"
    assert events == [] and entries(session) == []
