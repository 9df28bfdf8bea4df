"""What the analytics service does with the events it receives (plain functions, no transport)."""
from __future__ import annotations

from crm_common import privacy, topology
from crm_common.entrypoint import handler_table, reads
from crm_analytics.domain import privacy as person
from crm_analytics_contracts import PRIVACY_PART_COMPLETED


@reads(privacy.PRIVACY_REQUESTED, fields=privacy.RequestFields)
def privacy_requested(ctx, data: dict, envelope: dict) -> None:
    """identity.privacy_requested.v1 -> analytics.privacy_part_completed.v1: the person's events in the log and
    their records' rows in the read models, exported or erased (`domain.privacy`), in this transaction. The
    request's own event, logged just before (`log.keep_many` runs first), is cut by an erasure as well."""
    if data.get("kind") == "erasure":
        counts, found = person.erase(ctx.session, data["email"]), None
    else:
        found, counts = person.export(ctx.session, data["email"])
    ctx.emit(PRIVACY_PART_COMPLETED, privacy.part(data, "analytics", data=found, counts=counts))


HANDLERS = handler_table(privacy_requested)
# the read models are fed by every event: the queue takes all of them (registered in pyproject: crm.subscriptions)
SUBSCRIBES = topology.ALL
