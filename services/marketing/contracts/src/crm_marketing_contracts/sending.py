"""Sending a campaign (`POST /api/v1/campaigns/{id}/send`, `.../sends/{job_id}`, `.../cancel`, `.../test-send`).

A send is a job: its progress (`total`, `sent`, `failed`, `skipped`) is visible while it runs. Every message
of a campaign is logged before its SMTP handoff, once per address, so a resumed or overlapping send mails
nobody twice. Events carry ids and the address's hash, never the address.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Strict
from crm_marketing_contracts.fields import EMAIL_RULE, EmailAddress

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
SEND, READ = ("campaign", "update"), ("campaign", "read")
TEST_SEND_MAX = 10
SEND_RULES = ("the campaign is an email campaign with a template (or A/B variants), at least one segment and a "
              "sender address; it is not being sent or scheduled already (409)",)


class SendIn(Strict):
    """`at`: when to send (absent, or not in the future: now)."""

    RULES = SEND_RULES

    at = Timestamp(load_default=None, allow_none=True)


class SendJob(Schema):
    """A campaign send job (`status` queued, running, done, failed, cancelled)."""

    id = fields.String(required=True)
    campaign_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(JOB_STATUSES))
    total = fields.Integer(required=True, metadata={"description": "recipients of the segments when the send began"})
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True, metadata={"description": "refused by the SMTP server (bounce hard or soft)"})
    skipped = fields.Integer(required=True, metadata={"description": "no consent or suppressed at send time"})
    scheduled_at = Timestamp(allow_none=True)
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "why a failed send stopped (it can be sent again: "
                                                                    "it resumes where it stopped)"})


class TestSendIn(Strict):
    RULES = (EMAIL_RULE, SEND_RULES[0])

    emails = fields.List(EmailAddress(), required=True, validate=validate.Length(min=1, max=TEST_SEND_MAX))


class TestSent(Schema):
    email = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("sent", "failed", "skipped")))
    message_id = fields.String(required=True)
    error = fields.String(allow_none=True)


class TestSendResult(Schema):
    """What each test address got (a test message is marked is_test, its subject starts with "[Test]")."""

    campaign_id = fields.String(required=True)
    messages = fields.List(fields.Nested(TestSent), required=True)


# -- events -------------------------------------------------------------------------------------------

class EmailSentData(Schema):
    message_id = fields.String(required=True)
    campaign_id = fields.String(required=True)
    variant_id = fields.String(allow_none=True)
    member_id = fields.String(allow_none=True)
    email_hash = fields.String(required=True, metadata={"description": "SHA-256 of the address"})
    is_test = Boolean(required=True)
    sent_at = Timestamp(required=True)


class SendStartedData(Schema):
    campaign_id = fields.String(required=True)
    job_id = fields.String(required=True)
    total = fields.Integer(required=True)


class SendFinishedData(Schema):
    campaign_id = fields.String(required=True)
    job_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("sent", "cancelled")))
    sent = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    winner_variant_id = fields.String(allow_none=True)


EMAIL_SENT = event("marketing", "email_sent", 1, EmailSentData,
                   "A campaign message was handed to the SMTP server (one event per message, written in batches).",
                   entity="message", action="create")
CAMPAIGN_SEND_STARTED = event("marketing", "campaign_send_started", 1, SendStartedData,
                              "A campaign began sending.", entity="campaign", action="update")
CAMPAIGN_SEND_FINISHED = event("marketing", "campaign_send_finished", 1, SendFinishedData,
                               "A campaign finished sending (or its send was cancelled).",
                               entity="campaign", action="update")

# -- RPC methods ----------------------------------------------------------------------------------------

SEND_CAMPAIGN = rpc("marketing", "send_campaign", SendIn, SendJob, permission=SEND, record=True,
                    description="Send the campaign now or at `at`: a job (202) whose progress "
                                "GET .../sends/{job_id} shows.")
GET_SEND_JOB = rpc("marketing", "get_send_job", None, SendJob, permission=READ, record=True,
                   description="The progress of one send of the campaign (`name`: the job id).")
CANCEL_CAMPAIGN_SEND = rpc("marketing", "cancel_campaign_send", None, SendJob, permission=SEND, record=True,
                           description="Stop a scheduled or running send (what was sent stays sent; sending "
                                       "again resumes with the others).")
TEST_SEND = rpc("marketing", "test_send", TestSendIn, TestSendResult, permission=SEND, record=True,
                description="Send the campaign at once to up to 10 addresses, subject prefixed \"[Test]\".")
