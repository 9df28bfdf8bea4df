"""The integration part of privacy requests: what the event feed and the webhook deliveries keep of a person.

The feed keeps every event as it came, so a person's email, name and address sit in the payloads of the
events about their records (a lead's creation), and in the payloads of the deliveries queued for webhooks.
A person's events are those whose payload names the email (case-insensitive), and every event about the
same records (their `data.id`: a later assignment of that lead names no email but is still about them).
Erasure keeps each such event at its place in the feed (a poller's order and cursors stay as they were) with
its payload cut to `{"id", "erased": true}` and its actor to who (never where from); the deliveries of those
events, sent or not, likewise. Export answers the events found (at most EXPORT_LIMIT). The search reads the
payloads' JSON text: a scan of the feed's retention (30 days), for a request that comes rarely.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common.envelope import rfc3339
from crm_common.privacy import naming
from crm_integration.domain import feed
from crm_integration.models import Delivery, FeedEvent

EXPORT_LIMIT = 1000
BATCH = 500


def _record_id(envelope: dict) -> str | None:
    data = envelope.get("data") if isinstance(envelope, dict) else None
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value else None


def events_of(session: Session, email: str) -> list[FeedEvent]:
    """The feed's events about the person: naming the email, or about a record an event naming it is about."""
    found = {row.seq: row for row in session.scalars(select(FeedEvent).where(naming(FeedEvent.envelope, [email])))}
    ids = sorted({rid for row in found.values() if (rid := _record_id(row.envelope))})
    for start in range(0, len(ids), 50):  # every event about those records (their id in quotes, as JSON has it)
        chunk = [f'"{rid}"' for rid in ids[start:start + 50]]
        for row in session.scalars(select(FeedEvent).where(naming(FeedEvent.envelope, chunk))):
            if _record_id(row.envelope) in ids:
                found[row.seq] = row
    return [found[seq] for seq in sorted(found)]


def _erased(envelope: dict) -> dict:
    record_id = _record_id(envelope)
    return {**envelope, "data": {"id": record_id, "erased": True} if record_id else {"erased": True},
            "actor": feed._public_actor(envelope.get("actor"))}


def erase(session: Session, email: str) -> dict:
    """Cut the person's data out of the feed's and the deliveries' payloads; how many of each."""
    events = events_of(session, email)
    for row in events:
        row.envelope = _erased(row.envelope)
    event_ids = [row.event_id for row in events]
    deliveries = 0
    for start in range(0, len(event_ids), BATCH):
        for delivery in session.scalars(select(Delivery).where(Delivery.event_id.in_(event_ids[start:start + BATCH]))):
            delivery.envelope = _erased(delivery.envelope)
            deliveries += 1
    # deliveries of events the feed no longer keeps (past its retention) that name the email
    for delivery in session.scalars(select(Delivery).where(naming(Delivery.envelope, [email]))):
        delivery.envelope = _erased(delivery.envelope)
        deliveries += 1
    session.flush()
    return {"feed_events": len(events), "webhook_deliveries": deliveries}


def export(session: Session, email: str) -> tuple[dict, dict]:
    """The person's events as the feed serves them (at most EXPORT_LIMIT) and the counts."""
    events = events_of(session, email)
    items = [{**feed.to_item(row), "occurred_at": rfc3339(row.occurred_at)} for row in events[:EXPORT_LIMIT]]
    return {"feed_events": items}, {"feed_events": len(events)}
