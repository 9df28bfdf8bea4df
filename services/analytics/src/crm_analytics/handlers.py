"""What the analytics service does with the events it receives (plain functions, no transport)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from crm_common import privacy, topology
from crm_common.contracts.analytics import PRIVACY_PART_COMPLETED


def privacy_requested(session: Session, envelope: dict, uow) -> None:
    """The analytics service keeps no personal data yet: its part is done at once, with nothing found."""
    uow.emit(PRIVACY_PART_COMPLETED, privacy.part(envelope["data"], "analytics", data={}, counts={}))


# event type -> handler(session, envelope, uow)
HANDLERS: dict = {privacy.PRIVACY_REQUESTED: privacy_requested}
# the read models are fed by every event: the queue takes all of them (registered in pyproject: crm.subscriptions)
SUBSCRIBES = topology.ALL


def dispatch(session: Session, envelope: dict, uow) -> bool:
    """Apply one event; events this service has no use for are skipped. Returns whether it applied."""
    handler = HANDLERS.get(envelope["type"])
    if handler is None:
        return False
    handler(session, envelope, uow)
    return True
