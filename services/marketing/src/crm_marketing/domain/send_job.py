"""The campaign send job (`campaign_send`, crm_common.jobs): segments evaluated now, every recipient checked,
rendered, tracked and handed to SMTP under the shared rate limit, resumable without sending anyone twice.

Per batch (CRM_SEND_BATCH, 500) of recipients not yet in the send log, in the order of their address's hash:
suppression and consent are checked (`consents.skip_reason`; skipped rows keep it), each message is rendered and composed,
the batch's rows are committed (`pending`), then sent over the lanes' SMTP sessions; the handoff of each is
marked just before the "." that ends its DATA (on PostgreSQL pipelined with it: send_log.Marker); the batch's
outcomes, events and activities commit after it.
The guarantee and its limits (send_log has the rule):
- nobody gets a campaign twice: one row per campaign and address (unique index), written before any send;
  a resumed run skips every address with a row and never resends a row marked handed over; two runs of one
  job never overlap (the job lease) and a second send of a campaign is refused while one is live.
- everybody gets it once: a pending row not marked handed over is sent by the resumed run. The one gap: a crash
  after the mark left for the database and before the "." left the process (a few statements, one message per
  lane and crash) leaves that recipient presumed sent without the message. A server that accepts a message and
  loses it is a bounce, not a duplicate.
SMTP 5xx: failed, bounce hard, the address suppressed. 4xx: tried again after the run's other messages
(CRM_SMTP_SOFT_TRIES, 3, CRM_SMTP_RETRY_DELAY seconds apart), then failed, bounce soft. No SMTP session
(`Unavailable`): the job fails, resumable by sending the campaign again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, insert, literal, select
from sqlalchemy.orm import Session

import crm_marketing_contracts as c
from crm_common import config, outbox
from crm_common.db import utcnow
from crm_common import mail
from crm_marketing.domain import ab_variants, compose, consents, fill, rendering, segments, send_lanes, send_log, tokens
from crm_marketing.domain.send_log import Item, Outcomes
from crm_marketing.domain.throttle import Throttle
from crm_marketing.models import (AudienceMember, Base, Campaign, CampaignVariant, EmailTemplate, Message,
                                  SendRecipient)

KIND = "campaign_send"
# what a batch reads of its members: the fields a template sees (rendering.FIELDS) and the row's own, not the
# tags (JSON) nor timestamps every row would otherwise convert
MEMBER_COLUMNS = [AudienceMember.__table__.c[name] for name in (
    "id", "email", "email_hash", "account_id", "first_name", "last_name", "title", "company", "phone", "country",
    "industry", "grade", "lifecycle_stage", "score")]
CANCELLED, WAIT = object(), object()
WAIT_SLICE = 20.0  # seconds: a waiting A/B test renews its lease and looks for a cancel this often


@dataclass
class Plan:
    campaign: Campaign
    variants: list
    templates: dict  # template id -> EmailTemplate (detached)


def load(session, campaign_id: str) -> Plan:
    campaign = session.get(Campaign, campaign_id)
    variants = list(session.execute(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id)).scalars())
    ids = {v.template_id for v in variants} | ({campaign.template_id} if campaign.template_id else set())
    templates = {t.id: t for t in session.execute(select(EmailTemplate).where(EmailTemplate.id.in_(ids))).scalars()}
    session.expunge_all()
    return Plan(campaign, variants, templates)


def run(job) -> dict:
    with Session(job.engine) as session:
        plan = load(session, job.payload["campaign_id"])
    if plan.campaign is None or plan.campaign.deleted_at is not None or plan.campaign.status == "cancelled":
        return {"cancelled": True, "campaign_id": job.payload["campaign_id"]}
    return {**Send(job, plan).run(), "campaign_id": plan.campaign.id}


class Send:
    def __init__(self, job, plan: Plan):
        self.job, self.engine, self.plan = job, job.engine, plan
        self.campaign = plan.campaign
        acct = mail.account()
        self.sender = compose.Sender(self.campaign.from_email, self.campaign.from_name, self.campaign.reply_to)
        envelope_from = config.env("CRM_MARKETING_BOUNCE_ADDRESS") or self.campaign.from_email
        self.lanes = send_lanes.Lanes(self.engine, acct, Throttle(self.engine, acct.key), envelope_from)
        self.batch = config.env_int("CRM_SEND_BATCH", 500)
        self.public = compose.public_url()
        self.key = tokens.signing_key()
        self.mailto = config.env("CRM_MARKETING_UNSUBSCRIBE_MAILTO")
        self.soft_tries = config.env_int("CRM_SMTP_SOFT_TRIES", 3)
        self.retry_delay = config.env_float("CRM_SMTP_RETRY_DELAY", 60.0)
        self.soft: list[Item] = []
        self.skeletons: dict = {}  # template id -> fill.Skeleton, or None: rendered by Jinja
        self.winner = next((v for v in plan.variants if v.id == self.campaign.winner_variant_id), None)

    # -- the run -------------------------------------------------------------------------------------
    def run(self) -> dict:
        cid = self.campaign.id
        presumed = send_log.recover(self.engine, self.job, cid)
        by_status = send_log.counts(self.engine, cid)
        self.counters = {"processed": sum(n for s, n in by_status.items() if s != "pending"),
                         "sent": by_status.get("sent", 0)}
        self.job.failed = by_status.get("failed", 0)
        self.position = sum(by_status.values())
        remaining = self._snapshot()
        with Session(self.engine) as session:
            self.split = ab_variants.Split(self.plan.variants, ab_variants.assigned(session.connection(), cid))
        total = self.position + remaining
        self.test_size = ab_variants.test_size(self.campaign, self.plan.variants, total) if not self.winner else 0
        if self.position == 0:
            self._emit(c.CAMPAIGN_SEND_STARTED, {"campaign_id": cid, "job_id": self.job.job["id"], "total": total})
        self.job.progress(self.counters["processed"], self.counters["sent"], total=total)
        try:
            self._send(self._leftovers())
            items = self._next()
            while items not in (None, CANCELLED):
                sending = self.lanes.start(items, self.soft_tries, final=False)
                # the next batch is made (rendered, logged) while this one is handed over, unless the A/B
                # test's winner must be known first
                ahead = self._next() if not self._at_test_end() else WAIT
                self._settle(sending.result())
                items = self._next() if ahead is WAIT else ahead
            if items is CANCELLED:
                return self._finish("cancelled", presumed)
            self._retry_soft()
            self._drop_snapshot()
        finally:
            self.lanes.close()
        return self._finish("sent", presumed)

    def _at_test_end(self) -> bool:
        return bool(self.plan.variants) and self.winner is None and self.position >= self.test_size

    def _next(self):
        """The next batch, claimed in the send log; None at the end, CANCELLED when the send was cancelled."""
        if self._cancelled():
            return CANCELLED
        if self._at_test_end():
            if not self._any_new():
                return None
            if not self._pick_winner():
                return CANCELLED
        limit = self.batch if self.winner or not self.plan.variants else min(self.batch, self.test_size - self.position)
        return self._claim_next(limit)

    def _finish(self, status: str, presumed: int) -> dict:
        cid = self.campaign.id
        by_status = send_log.counts(self.engine, cid)
        result = {"sent": by_status.get("sent", 0), "failed": by_status.get("failed", 0),
                  "skipped": by_status.get("skipped", 0), "presumed_sent": presumed,
                  "winner_variant_id": self.winner.id if self.winner else None}
        with Session(self.engine) as session, session.begin():
            campaign = session.get(Campaign, cid)
            if status == "sent" and campaign.status == "sending":
                campaign.status, campaign.sent_at = "sent", utcnow()
            self._emit(c.CAMPAIGN_SEND_FINISHED, {"campaign_id": cid, "job_id": self.job.job["id"], "status": status,
                                                  **{k: result[k] for k in ("sent", "failed", "skipped",
                                                                            "winner_variant_id")}}, session)
        self.job.progress(self.counters["processed"], self.counters["sent"])
        return {**result, "cancelled": True} if status == "cancelled" else result

    def _emit(self, type_: str, data: dict, session=None) -> None:
        if session is None:
            with Session(self.engine) as own, own.begin():
                return self._emit(type_, data, own)
        outbox.record(session, Base.metadata, "marketing", type_, data, self.job.actor, None)

    def _cancelled(self) -> bool:
        with self.engine.connect() as conn:
            status = conn.execute(select(Campaign.status).where(Campaign.id == self.campaign.id)).scalar()
        return status != "sending"

    # -- who gets what ----------------------------------------------------------------------------------
    def _snapshot(self) -> int:
        """The segments evaluated now: their recipients not yet in the send log, kept for this run's batches."""
        job_id = self.job.job["id"]
        with Session(self.engine) as session, session.begin():
            session.execute(delete(SendRecipient).where(SendRecipient.job_id == job_id))
            members = segments.recipients(session, self.campaign.segment_ids).subquery()
            logged = exists().where(Message.campaign_id == self.campaign.id,
                                    Message.email_hash == members.c.email_hash, send_log.REAL)
            session.execute(insert(SendRecipient).from_select(
                ["job_id", "email_hash", "member_id"],
                select(literal(job_id), members.c.email_hash, members.c.id).where(~logged)))
            return session.execute(select(func.count()).where(SendRecipient.job_id == job_id)).scalar()

    def _drop_snapshot(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(SendRecipient).where(SendRecipient.job_id == self.job.job["id"]))

    def _new(self, after: str | None = None):
        """The run's recipients with no row in the send log yet, in address-hash order, with why one may not be
        mailed (checked now). Only the run's own list is walked here (its primary key's range): the members'
        fields are read by id afterwards, so no plan joins the whole audience per batch."""
        logged = exists().where(Message.campaign_id == self.campaign.id, Message.email_hash == SendRecipient.email_hash,
                                send_log.REAL)
        reason = consents.skip_reason(SendRecipient.email_hash, self.campaign.topic).label("skip_reason")
        query = (select(SendRecipient.email_hash, SendRecipient.member_id, reason)
                 .where(SendRecipient.job_id == self.job.job["id"], ~logged)
                 .order_by(SendRecipient.email_hash))
        if after is not None:
            query = query.where(SendRecipient.email_hash > after)
        return query

    def _any_new(self) -> bool:
        with Session(self.engine) as session:
            return session.execute(self._new(getattr(self, "_last", None)).limit(1)).first() is not None

    def _template_for(self, variant):
        template_id = variant.template_id if variant is not None else self.campaign.template_id
        return self.plan.templates[template_id]

    def _claim_next(self, limit: int) -> list[Item] | None:
        """The next recipients, checked, composed and committed to the send log (rule 1); None at the end."""
        with Session(self.engine) as session:
            rows = session.execute(self._new(getattr(self, "_last", None)).limit(limit)).all()
            if not rows:
                return None
            self._last = rows[-1].email_hash
            members = {m.id: m for m in session.execute(select(*MEMBER_COLUMNS).where(
                AudienceMember.id.in_([row.member_id for row in rows]), AudienceMember.deleted_at.is_(None)))}
        items, log_rows, now, ids = [], [], utcnow(), send_log.new_ids(len(rows))
        for row, message_id in zip(rows, ids):
            member = members.get(row.member_id)
            if member is None:  # left the audience since the run began
                continue
            variant = self.winner if self.winner is not None or not self.plan.variants else self.split.next()
            self.position += 1
            reason = row.skip_reason
            item = Item(message_id, member.email, member.email_hash, member.id, member.account_id,
                        variant.id if variant else None)
            links, mid = None, None
            if reason is None:
                composed = self._compose(item, member, variant)
                item.data, links, mid = composed.data, composed.links, composed.message_id
                items.append(item)
            log_rows.append({"id": item.id, "campaign_id": self.campaign.id, "variant_id": item.variant_id,
                             "job_id": self.job.job["id"], "member_id": member.id, "email": member.email,
                             "email_hash": member.email_hash, "status": "skipped" if reason else "pending",
                             "skip_reason": reason, "is_test": False, "attempts": 0, "smtp_message_id": mid,
                             "links": links, "created_at": now})
        send_log.claim(self.engine, log_rows)
        self.counters["processed"] += len(log_rows) - len(items)
        return items

    def _compose(self, item: Item, member, variant) -> compose.Composed:
        minter = tokens.Minter(item.id, self.key)  # one per message: its id parsed once for its tokens
        recipient = rendering.recipient_of(member, self.campaign)
        recipient["unsubscribe_url"] = unsubscribe = compose.unsubscribe_url(item.id, self.public, minter)
        template = self._template_for(variant)
        if template.id not in self.skeletons:  # each template taken apart once per run (fill.py)
            self.skeletons[template.id] = fill.prepare(template, self.public)
        skeleton = self.skeletons[template.id]
        if skeleton is not None:
            return fill.message(skeleton, recipient, message_id=item.id, to=item.email, sender=self.sender,
                                public=self.public, unsubscribe=unsubscribe, unsubscribe_mailto=self.mailto,
                                minter=minter)
        rendered = rendering.render(template, recipient)
        return compose.compose(rendered, message_id=item.id, to=item.email, sender=self.sender, public=self.public,
                               unsubscribe=unsubscribe, unsubscribe_mailto=self.mailto, minter=minter)

    def _leftovers(self) -> list[Item]:
        """Pending rows of an earlier run that never reached the handoff: sent now (re-composed)."""
        with Session(self.engine) as session:
            rows = session.execute(select(Message, AudienceMember).outerjoin(
                AudienceMember, AudienceMember.id == Message.member_id).where(
                Message.campaign_id == self.campaign.id, send_log.REAL, Message.status == "pending",
                Message.handed_at.is_(None))).all()
            session.expunge_all()
        variants = {v.id: v for v in self.plan.variants}
        items = []
        for message, member in rows:
            item = Item(message.id, message.email, message.email_hash, message.member_id,
                        member.account_id if member else None, message.variant_id, attempts=message.attempts)
            if member is None:  # gone since (erased): its row is closed, nothing sent
                send_log.write_outcomes(self.engine, self.job, self.campaign.id, Outcomes(now=[(
                    message.id, {"status": "skipped", "skip_reason": "gone"})]), self._count(processed=1), [])
                continue
            item.data = self._compose(item, member, variants.get(message.variant_id)).data
            items.append(item)
        return items

    # -- the handoff ---------------------------------------------------------------------------------------
    def _send(self, items: list[Item], final: bool = False) -> None:
        self._settle(self.lanes.start(items, self.soft_tries, final).result())

    def _settle(self, result) -> None:
        """A batch handed over: its outcomes committed (then the error that stopped a lane, if any, raised)."""
        for item, refusal in result.failed:
            self.job.error(message_id=item.id, code=refusal.code, response=refusal.response[:200])
        self.soft += result.soft
        self._count(processed=len(result.outcomes.sent) + len(result.failed), sent=len(result.outcomes.sent))
        # what was done is committed before an error (no SMTP session: Unavailable) stops the job
        send_log.write_outcomes(self.engine, self.job, self.campaign.id, result.outcomes, self.counters,
                                result.suppress)
        if result.error is not None:
            raise result.error

    def _count(self, processed: int = 0, sent: int = 0) -> dict:
        self.counters["processed"] += processed
        self.counters["sent"] += sent
        return self.counters

    def _retry_soft(self) -> None:
        for attempt in range(self.soft_tries):
            if not self.soft or self._cancelled():
                return
            time.sleep(self.retry_delay)
            retry, self.soft = self.soft, []
            self._send(retry, final=attempt == self.soft_tries - 1)

    def _pick_winner(self) -> bool:
        """Wait out the test (renewing the job's lease), then record the winner; False when cancelled meanwhile."""
        with self.engine.connect() as conn:
            finished = ab_variants.test_finished_at(conn, self.campaign.id)
        until = ab_variants.wait_until(self.campaign, finished or utcnow())
        while utcnow() < until:
            if self._cancelled():
                return False
            time.sleep(min(WAIT_SLICE, max(0.05, (until - utcnow()).total_seconds())))
            self.job.progress()
        with self.engine.begin() as conn:
            self.winner = ab_variants.pick(conn, self.campaign, self.plan.variants)
        return True
