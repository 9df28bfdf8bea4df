"""Social mentions: ingested from a connector once per (network, external_id), scored for sentiment,
then replied to (the reply is recorded and sent on to the connector as an event), ignored, or made into a
service desk ticket.

The ticket: marketing cannot call the service desk (a service's broker user publishes no RPC requests to
other services), so it names the ticket's id and emits `marketing.mention_ticket_requested.v1`; the desk
opens the ticket with that id (channel `social`), once. The mention keeps the id at once (status ticket);
the ticket shows in `/api/v1/tickets` as soon as the desk has read the event.

Personal data: the author is known by handle only (no address is stored), so the privacy request, which
names an address, finds nothing here: this area is not in domain.privacy.PARTS.
"""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

import crm_marketing_contracts as c
from crm_common import paging, scope
from crm_common.db import new_id, utcnow
from crm_common.envelope import rfc3339
from crm_common.errors import ServiceError, conflict, not_found
from crm_common.unit_of_work import is_unique_violation
from crm_common.versioning import check_version
from crm_marketing.domain import sentiment
from crm_marketing.models import SocialMention
from crm_marketing_contracts.mentions import SET_STATUSES

RESOURCE, WHAT = "social_mention", "social mention"
SEARCHED = (SocialMention.text, SocialMention.author_handle)


def _load(ctx, record_id: str, action: str) -> SocialMention:
    mention = ctx.session.get(SocialMention, record_id)
    if mention is None:
        raise not_found(WHAT)
    return scope.require(ctx.caller, RESOURCE, action, mention, WHAT)


def _existing(session, network: str, external_id: str) -> SocialMention | None:
    return session.execute(select(SocialMention).where(SocialMention.network == network,
                                                       SocialMention.external_id == external_id)).scalar_one_or_none()


def _already(found: SocialMention) -> ServiceError:
    return conflict(f"this post is already a mention ({found.id})", existing_id=found.id)


def create(ctx, data: dict) -> SocialMention:
    """Ingest a mention; a repeat of (network, external_id) is a 409 naming the first (existing_id), so a
    connector may post again whatever it is unsure of."""
    found = _existing(ctx.session, data["network"], data["external_id"])
    if found is not None:
        raise _already(found)
    value, label = sentiment.score(data["text"])
    mention = SocialMention(network=data["network"], external_id=data["external_id"],
                            author_handle=data["author_handle"], text=data["text"], url=data.get("url"),
                            posted_at=data["posted_at"], sentiment=value, sentiment_label=label, status="new",
                            replies=[], ingested_by=ctx.caller.user_id)
    try:
        with ctx.session.begin_nested():  # a connector posting twice at once: the loser gets the 409
            ctx.session.add(mention)
            ctx.session.flush()
    except IntegrityError as exc:
        found = _existing(ctx.session, data["network"], data["external_id"]) if is_unique_violation(exc) else None
        if found is None:
            raise
        raise _already(found) from None
    ctx.emit(c.MENTION_RECEIVED, {"id": mention.id, "network": mention.network, "sentiment": mention.sentiment,
                                  "sentiment_label": mention.sentiment_label})
    return mention


def get(ctx, record_id: str) -> SocialMention:
    return _load(ctx, record_id, "read")


def page(ctx, query: dict) -> dict:
    select_ = scope.visible(select(SocialMention), ctx.caller, RESOURCE, "read", SocialMention)
    for name, column in (("status", SocialMention.status), ("network", SocialMention.network),
                         ("sentiment", SocialMention.sentiment_label)):
        if query.get(name):
            select_ = select_.where(column == query[name])
    text = (query.get("q") or "").strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        select_ = select_.where(or_(*[column.ilike(pattern, escape="\\") for column in SEARCHED]))
    rows, cursor = paging.paginate(ctx.session, select_, SocialMention, sort=query.get("sort") or "-created_at",
                                   limit=query.get("limit") or 50, cursor=query.get("cursor"),
                                   sortable=c.MentionQuery.SORTABLE)
    return {"items": rows, "next_cursor": cursor}


def update(ctx, record_id: str, data: dict, expected_version: int | None = None) -> SocialMention:
    """Ignore a new mention, or bring an ignored one back; a replied or ticket mention stays (409)."""
    mention = _load(ctx, record_id, "update")
    check_version(mention, expected_version)
    status = data["status"]
    if status == mention.status:
        return mention
    if mention.status not in SET_STATUSES:
        raise conflict(f"a {mention.status} mention stays {mention.status}", current_status=mention.status)
    mention.status, mention.handled_by = status, ctx.caller.user_id
    ctx.session.flush()
    ctx.emit(c.MENTION_UPDATED, {"id": mention.id, "changed_fields": ["status"]})
    return mention


def reply(ctx, record_id: str, data: dict) -> SocialMention:
    """Record a reply and send it on to the connector (which posts it); the mention becomes replied,
    unless a ticket was opened from it (it stays ticket: the stronger state)."""
    mention = _load(ctx, record_id, "update")
    entry = {"text": data["text"], "replied_at": rfc3339(utcnow()), "replied_by": ctx.caller.user_id}
    mention.replies = [*mention.replies, entry]
    if mention.status != "ticket":
        mention.status = "replied"
    mention.handled_by = ctx.caller.user_id
    ctx.session.flush()
    ctx.emit(c.MENTION_REPLY_REQUESTED, {"id": mention.id, "network": mention.network,
                                         "external_id": mention.external_id, "url": mention.url,
                                         "text": data["text"]})
    return mention


def ticket(ctx, record_id: str, data: dict) -> SocialMention:
    """Ask the service desk for a ticket (channel social) with an id named here; the mention keeps it."""
    mention = _load(ctx, record_id, "update")
    if mention.ticket_id:
        raise conflict("a ticket was already opened from this mention", ticket_id=mention.ticket_id)
    subject = data.get("subject") or f"{mention.network}: @{mention.author_handle.lstrip('@')}"
    description = (f"{mention.text}\n\n— @{mention.author_handle.lstrip('@')} on {mention.network}, "
                   f"{rfc3339(mention.posted_at)}" + (f"\n{mention.url}" if mention.url else ""))
    mention.ticket_id, mention.status, mention.handled_by = new_id(), "ticket", ctx.caller.user_id
    ctx.session.flush()
    ctx.emit(c.MENTION_TICKET_REQUESTED, {
        "id": mention.id, "ticket_id": mention.ticket_id, "subject": subject[:300], "description": description,
        "priority": data["priority"], "network": mention.network, "author_handle": mention.author_handle,
        "requested_by": ctx.caller.user_id})
    return mention
