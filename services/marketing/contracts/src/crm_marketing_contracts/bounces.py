"""Delivery status notifications (RFC 3464) and feedback reports (ARF, RFC 5965) posted by the mail
provider or the bounce mailbox's connector (`POST /api/v1/inbound/bounces`).

A hard bounce (Action failed, Status 5.x.x) puts the address on the suppression list (hard_bounce) and
marks its message bounced; a soft one (4.x.x, or Action delayed) is recorded on the message only; a
complaint (Feedback-Type abuse) suppresses the address (complaint), withdraws its consent and marks the
message complained. The permission is `consent.create`: what it does is add suppression entries."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Text
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Strict

MAX_REPORT = 1_000_000
OUTCOMES = ("hard_bounce", "soft_bounce", "complaint", "ignored")


REPORT_RULE = ("raw is a multipart/report of report-type delivery-status (RFC 3464: a recipient block with "
               "Final-Recipient, Action and Status) or feedback-report (ARF: Feedback-Type)")


class InboundReport(Strict):
    RULES = (REPORT_RULE,)

    raw = Text(required=True, validate=validate.Length(min=1, max=MAX_REPORT),
               metadata={"description": "the whole report as received (message/rfc822 text): a multipart/report "
                                        "with report-type delivery-status or feedback-report"})


class InboundResult(Schema):
    report_type = fields.String(required=True, validate=validate.OneOf(("delivery-status", "feedback-report")))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES),
                            metadata={"description": "ignored: a delivered or relayed notification"})
    recipient = fields.String(allow_none=True)
    status = fields.String(allow_none=True, metadata={"description": "the DSN status (5.1.1) or the feedback type"})
    message_id = fields.String(allow_none=True, metadata={"description": "the message of the send log it is about"})
    campaign_id = fields.String(allow_none=True)
    suppressed = Boolean(required=True, metadata={"description": "the address is on the suppression list now"})


class BouncedData(Schema):
    message_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    bounce = fields.String(required=True, validate=validate.OneOf(("hard", "soft")))
    status = fields.String(allow_none=True)
    source = fields.String(required=True, validate=validate.OneOf(("smtp", "dsn")))


class ComplaintData(Schema):
    message_id = fields.String(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    feedback_type = fields.String(required=True)


EMAIL_BOUNCED = event("marketing", "email_bounced", 1, BouncedData,
                      "A message bounced (hard: the address is suppressed; soft: recorded).",
                      entity="message", action="update")
COMPLAINT_RECEIVED = event("marketing", "complaint_received", 1, ComplaintData,
                           "A recipient reported a message as spam (ARF): the address is suppressed.",
                           entity="message", action="update")

RECEIVE_REPORT = rpc("marketing", "receive_report", InboundReport, InboundResult, permission=("consent", "create"),
                     description="Apply one DSN or ARF report: bounce or complaint, suppression, consent.")
