"""What the analytics service does with the events it receives (plain functions, no transport)."""
from __future__ import annotations

from crm_common import privacy, topology
from crm_common.entrypoint import handler_table, reads
from crm_analytics_contracts import PRIVACY_PART_COMPLETED


@reads(privacy.PRIVACY_REQUESTED, fields=privacy.RequestFields)
def privacy_requested(ctx, data: dict, envelope: dict) -> None:
    """The analytics service keeps no personal data yet: its part is done at once, with nothing found."""
    ctx.emit(PRIVACY_PART_COMPLETED, privacy.part(data, "analytics", data={}, counts={}))


HANDLERS = handler_table(privacy_requested)
# the read models are fed by every event: the queue takes all of them (registered in pyproject: crm.subscriptions)
SUBSCRIBES = topology.ALL
