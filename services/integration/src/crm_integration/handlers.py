"""What the integration service does with the events it receives (plain functions, no transport).

Integration takes every event of every producer (`SUBSCRIBES = topology.ALL`, the `crm.subscriptions` entry
point): each one is kept in the event feed (`domain.feed`) at its place in the global order, and a
delivery is queued for each webhook subscribed to its type (`domain.webhooks.fan_out`). It reads no
producer's contracts: the feed keeps the envelope as it came.
"""
from __future__ import annotations

from sqlalchemy import event

from crm_common import privacy as kernel_privacy
from crm_common import topology
from crm_common.entrypoint import Context, handler_table, reads
from crm_integration.domain import feed, privacy, webhooks
from crm_integration.domain.doorbell import DOORBELL
from crm_integration_contracts import PRIVACY_PART_COMPLETED


@reads(kernel_privacy.PRIVACY_REQUESTED, fields=kernel_privacy.RequestFields)
def privacy_requested(ctx: Context, data: dict, envelope: dict) -> None:
    """identity.privacy_requested.v1 -> integration.privacy_part_completed.v1: the person's events in the feed
    and the webhook deliveries, exported or erased (`domain.privacy`). The request's own event, kept in the feed
    just before (`every_batch` runs first), names the email too: an erasure cuts it as well."""
    if data.get("kind") == "erasure":
        counts, found = privacy.erase(ctx.session, data["email"]), None
    else:
        found, counts = privacy.export(ctx.session, data["email"])
    ctx.emit(PRIVACY_PART_COMPLETED, kernel_privacy.part(data, "integration", data=found, counts=counts))


HANDLERS = handler_table(privacy_requested)
SUBSCRIBES = topology.ALL  # the feed keeps every event (pyproject: crm.subscriptions)


def every_batch(ctx: Context, envelopes: list[dict]) -> None:
    """Every event lands in the feed, then its deliveries are queued (`event_stream(HANDLERS,
    every_batch=every_batch, batch=True)`: the new events of a transaction together, in order, before any is
    dispatched): the feed's statements are the same few for a batch as for one event (`feed.record_many`), and its
    deliveries one multi-row insert (`webhooks.fan_out_many`).
    When the service's sender runs in this process, its round is done here too (`SendLoop.join`: the finished
    attempts settled, the due deliveries claimed, started once this commits): a steady flow needs no round of
    the sender's own. The sender's doorbell rings once the transaction has committed when deliveries were left
    unclaimed (rung before, the sender's look found nothing and it polled until they came)."""
    kept = [row for row in feed.record_many(ctx.session, envelopes) if row is not None]
    queued = webhooks.fan_out_many(ctx.session, kept)
    if queued:
        join = DOORBELL.join  # the sender of this process, if one runs: its round done in this transaction
        if join is None or join(ctx) < queued:  # some left (waiting in order, or no free thread): the sender looks
            ring_after_commit(ctx.session)


def ring_after_commit(session) -> None:
    """Ring the doorbell when `session` next commits, once (the event stream runs no ctx.after_commit; a
    rolled-back batch's ring comes with the next commit: one look more, harmless)."""
    if not session.info.get("crm_ring"):
        session.info["crm_ring"] = True
        event.listen(session, "after_commit", _ring, once=True)


def _ring(session) -> None:
    session.info.pop("crm_ring", None)
    DOORBELL.ring()
