"""Bounces and complaints that arrive after the send: delivery status notifications (RFC 3464) and feedback
reports (ARF, RFC 5965), posted as the raw report (`multipart/report`).

A DSN's recipient blocks say `Action` and `Status`: failed with 5.x.x is a hard bounce (the address goes on
the suppression list, its message is marked bounced), 4.x.x (or Action delayed) a soft one (recorded on
the message only), delivered/relayed/expanded nothing. An ARF report of Feedback-Type abuse is a complaint:
suppressed, consent withdrawn, the message marked complained. The message is found by the original's
Message-ID (messages.smtp_message_id), else as the latest message to the recipient's address. Parsed with
the standard library's `email`; a report it cannot read is a 422 naming why, never a 500.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass
from email.message import Message as MimeMessage
from email.utils import getaddresses

from sqlalchemy import or_, select

import crm_marketing_contracts as c
from crm_common.db import utcnow
from crm_common.errors import ServiceError
from crm_marketing.domain import activity, consents, suppressions
from crm_marketing.models import Message, Suppression

STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})$")
ORIGINAL = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
COMPLAINTS = ("abuse", "fraud")  # what a recipient reports as unwanted mail


@dataclass
class Report:
    report_type: str  # delivery-status | feedback-report
    outcome: str  # hard_bounce | soft_bounce | complaint | ignored
    recipient: str | None
    status: str | None  # 5.1.1 or the feedback type
    original_id: str | None  # the original message's Message-ID


def refused(reason: str) -> ServiceError:
    return ServiceError("validation_failed", f"not a report this route reads: {reason}", errors={"raw": [reason]})


def parse(raw: str) -> Report:
    """The report's type, outcome, recipient and original Message-ID; ServiceError 422 when unreadable."""
    try:
        mime = email.message_from_string(raw)
    except Exception:  # the parser is lenient; anything it still raises is a malformed report
        raise refused("the text is not a MIME message") from None
    if mime.get_content_type() != "multipart/report" or not mime.is_multipart():
        raise refused(f"a multipart/report is expected, this is {mime.get_content_type()}")
    report_type = (mime.get_param("report-type") or "").lower()
    parts = list(mime.walk())[1:]
    original = _original_id(parts)
    if report_type == "delivery-status":
        return _dsn(parts, original)
    if report_type == "feedback-report":
        return _arf(parts, original)
    raise refused("report-type must be delivery-status (RFC 3464) or feedback-report (ARF)")


def _dsn(parts: list[MimeMessage], original: str | None) -> Report:
    status_part = next((p for p in parts if p.get_content_type() in ("message/delivery-status",
                                                                     "message/global-delivery-status")), None)
    if status_part is None:
        raise refused("the report has no message/delivery-status part")
    blocks = status_part.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        raise refused("the delivery-status part has no per-recipient block")
    recipients = [b for b in blocks[1:] if isinstance(b, MimeMessage) and b.get("Final-Recipient")]
    if not recipients:
        raise refused("no per-recipient block names a Final-Recipient")
    block = next((b for b in recipients if (b.get("Action") or "").strip().lower() == "failed"), recipients[0])
    recipient = _address(block.get("Final-Recipient")) or _address(block.get("Original-Recipient"))
    action = (block.get("Action") or "").strip().lower()
    status = (block.get("Status") or "").strip().split(" ")[0]
    matched = STATUS.match(status)
    if action not in ("failed", "delayed", "delivered", "relayed", "expanded"):
        raise refused(f"Action {action or '(missing)'} is none of failed, delayed, delivered, relayed, expanded")
    if not matched:
        raise refused(f"Status {status or '(missing)'} is not a status code such as 5.1.1")
    if recipient is None:
        raise refused("Final-Recipient names no address")
    if action in ("delivered", "relayed", "expanded"):
        outcome = "ignored"
    elif action == "failed" and matched.group(1) == "5":
        outcome = "hard_bounce"
    else:
        outcome = "soft_bounce"
    return Report("delivery-status", outcome, recipient, status, original)


def _arf(parts: list[MimeMessage], original: str | None) -> Report:
    feedback = next((p for p in parts if p.get_content_type() == "message/feedback-report"), None)
    if feedback is None:
        raise refused("the report has no message/feedback-report part")
    payload = feedback.get_payload()
    fields = payload[0] if isinstance(payload, list) and payload else email.message_from_string(
        payload if isinstance(payload, str) else "")
    kind = (fields.get("Feedback-Type") or "").strip().lower()
    if not kind:
        raise refused("the feedback report has no Feedback-Type")
    recipient = _address(fields.get("Original-Rcpt-To")) or _original_to(parts)
    return Report("feedback-report", "complaint" if kind in COMPLAINTS else "ignored", recipient, kind, original)


def _address(value) -> str | None:
    """`rfc822; ada@example.com` (or a bare address) -> the address, trimmed and lower-cased."""
    if not value:
        return None
    text = str(value).split(";", 1)[-1].strip().strip("<>").strip()
    if "@" not in text or " " in text:
        return None
    return c.normalise_email_leniently(text)


def _original(parts: list[MimeMessage]) -> MimeMessage | None:
    for part in parts:
        if part.get_content_type() in ORIGINAL:
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]
            if isinstance(payload, str) and payload.strip():
                return email.message_from_string(payload)
    return None


def _original_id(parts: list[MimeMessage]) -> str | None:
    found = _original(parts)
    value = (found.get("Message-ID") or "").strip() if found is not None else ""
    return value or None


def _original_to(parts: list[MimeMessage]) -> str | None:
    found = _original(parts)
    addresses = getaddresses([found.get("To", "")]) if found is not None else []
    return _address(addresses[0][1]) if addresses and addresses[0][1] else None


# -- applying a report -----------------------------------------------------------------------------

def find_message(session, report: Report) -> Message | None:
    """The message the report is about: by the original's Message-ID, else the latest to the recipient."""
    if report.original_id:
        bare = report.original_id.strip("<>")
        found = session.execute(select(Message).where(or_(
            Message.smtp_message_id == bare, Message.smtp_message_id == f"<{bare}>")).limit(1)).scalar()
        if found is not None:
            return found
    if report.recipient:
        return session.execute(select(Message).where(
            Message.email_hash == suppressions.email_hash(report.recipient), Message.is_test.is_(False))
            .order_by(Message.sent_at.desc().nulls_last(), Message.created_at.desc()).limit(1)).scalar()
    return None


def receive(ctx, data: dict) -> dict:
    """The RPC: parse one report and apply it (`InboundResult`)."""
    report = parse(data["raw"])
    message = find_message(ctx.session, report)
    address = report.recipient or (message.email if message is not None else None)
    suppressed = False
    if report.outcome in ("hard_bounce", "soft_bounce"):
        suppressed = _bounce(ctx, report, message, address)
    elif report.outcome == "complaint":
        suppressed = _complaint(ctx, report, message, address)
    return {"report_type": report.report_type, "outcome": report.outcome, "recipient": address,
            "status": report.status, "message_id": message.id if message else None,
            "campaign_id": message.campaign_id if message else None, "suppressed": suppressed}


def _bounce(ctx, report: Report, message: Message | None, address: str | None) -> bool:
    hard = report.outcome == "hard_bounce"
    first = message is None or message.bounce != "hard" and message.status != "complained"
    if message is not None and first:
        message.bounce = "hard" if hard else "soft"
        message.smtp_response = f"DSN {report.status}"
        message.bounced_at = utcnow()
        if hard:
            message.status = "bounced"
    suppressed = _suppress(ctx, address, "hard_bounce", message) if hard else False
    if first:
        ctx.emit(c.EMAIL_BOUNCED, {"message_id": message.id if message else None,
                                   "campaign_id": message.campaign_id if message else None,
                                   "bounce": "hard" if hard else "soft", "status": report.status, "source": "dsn"})
        if message is not None or address:
            activity.record(ctx.session, "bounced", email_hash=_hash(message, address),
                            member_id=message.member_id if message else None,
                            ref_id=message.campaign_id if message else None,
                            detail={"bounce": "hard" if hard else "soft", "status": report.status})
    ctx.session.flush()
    return suppressed or _is_suppressed(ctx.session, address)


def _complaint(ctx, report: Report, message: Message | None, address: str | None) -> bool:
    first = message is None or message.status != "complained"
    if message is not None:
        message.status = "complained"
    suppressed = _suppress(ctx, address, "complaint", message)
    if address:
        consents.record(ctx, address, "email", "opted_out", "complaint")
    if first:
        ctx.emit(c.COMPLAINT_RECEIVED, {"message_id": message.id if message else None,
                                        "campaign_id": message.campaign_id if message else None,
                                        "feedback_type": report.status})
        activity.record(ctx.session, "complained", email_hash=_hash(message, address),
                        member_id=message.member_id if message else None,
                        ref_id=message.campaign_id if message else None, detail={"feedback_type": report.status})
    ctx.session.flush()
    return suppressed


def _hash(message: Message | None, address: str | None) -> str | None:
    return suppressions.email_hash(address) if address else (message.email_hash if message else None)


def _suppress(ctx, address: str | None, reason: str, message: Message | None) -> bool:
    """On the suppression list (an existing entry is kept, or upgraded by a complaint); True when it is."""
    if not address:
        return False
    try:
        suppressions.create(ctx, {"email": address, "reason": reason, "note": None,
                                  "source": message.campaign_id if message else "dsn"})
    except ServiceError as exc:
        if exc.code != "conflict":
            raise
    return True


def _is_suppressed(session, address: str | None) -> bool:
    if not address:
        return False
    return session.execute(select(Suppression.id).where(Suppression.email_hash == suppressions.email_hash(address),
                                                        Suppression.deleted_at.is_(None))).first() is not None
