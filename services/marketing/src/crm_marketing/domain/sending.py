"""Sending a campaign: start (now or at a time), progress, cancel, test send; the timer that starts due sends.

Status flow of the campaign: draft -> scheduled (a time in the future) -> sending -> sent; cancelled from
scheduled or sending. A send is a `campaign_send` job (send_job); a scheduled one waits with the internal
job status `scheduled` (shown as queued) until the timer (`start_due`) queues it, so a restart does not
start it early. Sending a cancelled campaign, or one whose send failed (SMTP unavailable), again resumes it:
the send log skips everyone already handled. Permission: campaign update to send, read to follow.
"""
from __future__ import annotations

from sqlalchemy import select, update

from crm_common import config, jobs, scope
from crm_common.db import new_id, utcnow
from crm_common.errors import conflict, not_found, validation
from crm_common import mail
from crm_marketing.domain import compose, rendering, send_job
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.domain.throttle import Throttle
from crm_marketing.models import AudienceMember, Base, Campaign, CampaignVariant, EmailTemplate, Message, Suppression
import crm_marketing_contracts as c

RESOURCE, WHAT = "campaign", "campaign"
SCHEDULED = "scheduled"  # internal job status of a send at a time (jobs.unfinished() does not resume it)
STARTABLE = ("draft", "cancelled")
J = Base.metadata.tables[jobs.JOBS]


def _load(ctx, record_id: str, action: str) -> Campaign:
    campaign = ctx.session.get(Campaign, record_id)
    if campaign is None or campaign.deleted_at is not None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, campaign, WHAT)


def _job_row(session, job_id: str | None):
    if job_id is None:
        return None
    return session.execute(select(J).where(J.c.id == job_id, J.c.kind == send_job.KIND)).first()


def view(row, campaign: Campaign) -> dict:
    """The job as the API shows it (a campaign send job)."""
    status, result = row.status, row.result or {}
    if status == SCHEDULED:
        status = "queued"
    elif status == "done" and result.get("cancelled"):
        status = "cancelled"
    errors = row.errors or []
    return {"id": row.id, "campaign_id": campaign.id, "status": status, "total": row.total, "sent": row.succeeded,
            "failed": row.failed, "skipped": max(0, row.processed - row.succeeded - row.failed),
            "scheduled_at": campaign.scheduled_at if campaign.send_job_id == row.id else None,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "error": errors[-1].get("error") if status == "failed" and errors else None}


def _check_sendable(ctx, campaign: Campaign) -> None:
    problems = {}
    if campaign.type != "email":
        problems["type"] = ["only an email campaign is sent"]
    variants = ctx.session.execute(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id)).scalars().all()
    template_ids = {v.template_id for v in variants} | ({campaign.template_id} if campaign.template_id else set())
    if not template_ids:
        problems["template_id"] = ["a campaign needs a template (or A/B variants) to be sent"]
    elif len(ctx.session.execute(select(EmailTemplate.id).where(
            EmailTemplate.id.in_(template_ids), EmailTemplate.deleted_at.is_(None))).all()) != len(template_ids):
        problems["template_id"] = ["a template of the campaign no longer exists"]
    if not campaign.from_email:
        problems["from_email"] = ["a campaign needs a sender address (from_email) to be sent"]
    if not campaign.segment_ids:
        problems["segment_ids"] = ["a campaign needs at least one segment to be sent"]
    if problems:
        raise validation(problems)


def start(ctx, record_id: str, data: dict) -> dict:
    """Send the campaign now, or at `at`: the job (202). A send already live is a 409."""
    campaign = _load(ctx, record_id, "update")
    current = _job_row(ctx.session, campaign.send_job_id)
    resumable = campaign.status == "sending" and current is not None and current.status == "failed"
    if campaign.status not in STARTABLE and not resumable:
        raise conflict(f"the campaign is {campaign.status}: only a draft or cancelled campaign is sent "
                       "(or one whose send failed)", campaign_status=campaign.status)
    _check_sendable(ctx, campaign)
    at = data.get("at")
    later = at is not None and at > utcnow()
    job = jobs.create(ctx.session, Base.metadata, send_job.KIND, payload={"campaign_id": campaign.id,
                                                                          "at": at.isoformat() if later else None},
                      actor=ctx.caller)
    if later:
        ctx.session.execute(update(J).where(J.c.id == job["id"]).values(status=SCHEDULED))
    campaign.status, campaign.scheduled_at, campaign.send_job_id = ("scheduled" if later else "sending"), at, job["id"]
    ctx.session.flush()  # the version check: a concurrent start of the same campaign loses here (409)
    if not later:
        ctx.after_commit(lambda: ctx.service.runner.submit(job["id"]))
    return view(_job_row(ctx.session, job["id"]), campaign)


def campaign_of(row) -> str | None:
    """The campaign a send job is for (a finished job keeps its result, not its payload)."""
    return (row.payload or {}).get("campaign_id") or (row.result or {}).get("campaign_id")


def get_job(ctx, record_id: str, job_id: str) -> dict:
    campaign = _load(ctx, record_id, "read")
    row = _job_row(ctx.session, job_id)
    if row is None or campaign_of(row) != campaign.id:
        raise not_found("send job")
    return view(row, campaign)


def cancel(ctx, record_id: str) -> dict:
    """Stop a scheduled or running send: what was sent stays sent; sending again resumes with the others."""
    campaign = _load(ctx, record_id, "update")
    if campaign.status not in ("scheduled", "sending"):
        raise conflict(f"the campaign is {campaign.status}: only a scheduled or running send is cancelled",
                       campaign_status=campaign.status)
    campaign.status = "cancelled"
    ctx.session.flush()
    ctx.session.execute(update(J).where(J.c.id == campaign.send_job_id, J.c.status.in_((SCHEDULED, "queued"))).values(
        status="done", result={"cancelled": True, "campaign_id": campaign.id}, finished_at=utcnow(), updated_at=utcnow()))
    return view(_job_row(ctx.session, campaign.send_job_id), campaign)


def start_due(ctx) -> list[str]:
    """The timer: scheduled campaigns whose time came start sending (each job queued once: the UPDATE that
    queues it is the claim, so two replicas' timers never both start it)."""
    started = []
    for campaign in ctx.session.execute(select(Campaign).where(
            Campaign.status == "scheduled", Campaign.scheduled_at <= utcnow(), Campaign.deleted_at.is_(None))
            .limit(50)).scalars():
        queued = ctx.session.execute(update(J).where(J.c.id == campaign.send_job_id, J.c.status == SCHEDULED)
                                     .values(status="queued", updated_at=utcnow())).rowcount
        if queued == 1:
            campaign.status = "sending"
            started.append(campaign.send_job_id)
    if started:
        ctx.session.flush()
        ctx.after_commit(lambda: [ctx.service.runner.submit(job_id) for job_id in started])
    return started


def test_send(ctx, record_id: str, data: dict) -> dict:
    """The campaign's message to up to 10 addresses at once (is_test, subject "[Test] ..."), rendered for the
    audience member of the address when there is one. Suppressed addresses are skipped."""
    campaign = _load(ctx, record_id, "update")
    _check_sendable(ctx, campaign)
    template = ctx.session.get(EmailTemplate, campaign.template_id or ctx.session.execute(
        select(CampaignVariant.template_id).where(CampaignVariant.campaign_id == campaign.id)
        .order_by(CampaignVariant.label).limit(1)).scalar())
    sender = compose.Sender(campaign.from_email, campaign.from_name, campaign.reply_to)
    acct = mail.account()
    throttle = Throttle(ctx.session.get_bind(), acct.key)
    results, reachable = [], True
    with mail.Connection(acct) as smtp:
        for address in dict.fromkeys(data["emails"]):
            digest = email_hash(address)
            message = Message(id=new_id(), campaign_id=campaign.id, email=address, email_hash=digest, is_test=True,
                              status="pending", attempts=1)
            if ctx.session.execute(select(Suppression.id).where(Suppression.email_hash == digest,
                                                                Suppression.deleted_at.is_(None))).first():
                message.status, message.skip_reason = "skipped", "suppressed"
                ctx.session.add(message)
                results.append({"email": address, "status": "skipped", "message_id": message.id, "error": "suppressed"})
                continue
            member = ctx.session.execute(select(AudienceMember).where(
                AudienceMember.email_hash == digest, AudienceMember.deleted_at.is_(None)).limit(1)).scalar()
            recipient = rendering.recipient_of(member, campaign) if member is not None else {
                "contact": {"email": address}, "account": {}, "campaign": {"id": campaign.id, "name": campaign.name}}
            recipient["unsubscribe_url"] = compose.unsubscribe_url(message.id)
            composed = compose.compose(rendering.render(template, recipient), message_id=message.id, to=address,
                                       sender=sender, test=True)
            message.links, message.smtp_message_id = composed.links, composed.message_id
            if not reachable:
                message.status, message.smtp_response = "failed", "the SMTP server cannot be reached"
                results.append({"email": address, "status": "failed", "message_id": message.id,
                                "error": message.smtp_response})
                ctx.session.add(message)
                continue
            throttle.take(len(data["emails"]), ctx.session.connection())
            try:
                response = smtp.send_bytes(composed.data, config.env("CRM_MARKETING_BOUNCE_ADDRESS") or
                                           campaign.from_email, address)
            except mail.Refused as refusal:
                message.status, message.smtp_code, message.smtp_response = "failed", refusal.code, refusal.response
                results.append({"email": address, "status": "failed", "message_id": message.id,
                                "error": f"{refusal.code} {refusal.response}"[:300]})
            except mail.Unavailable as exc:
                reachable = False
                message.status, message.smtp_response = "failed", str(exc)[:500]
                results.append({"email": address, "status": "failed", "message_id": message.id,
                                "error": str(exc)[:300]})
            else:
                message.status, message.sent_at, message.smtp_code, message.smtp_response = "sent", utcnow(), 250, response
                results.append({"email": address, "status": "sent", "message_id": message.id, "error": None})
                ctx.emit(c.EMAIL_SENT, {"message_id": message.id, "campaign_id": campaign.id, "variant_id": None,
                                        "member_id": member.id if member else None, "email_hash": digest,
                                        "is_test": True, "sent_at": message.sent_at.isoformat()})
            ctx.session.add(message)
    return {"campaign_id": campaign.id, "messages": results}
