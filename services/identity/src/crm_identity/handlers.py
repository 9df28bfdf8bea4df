"""What the identity service does with the events it receives (plain functions, no transport).

Every event first lands in the audit trail (domain.audit); then HANDLERS[type] applies it, if any.
"""
from __future__ import annotations

import logging

from marshmallow import ValidationError
from sqlalchemy.orm import Session

from crm_common import topology
from crm_common.contracts.identity import PRIVACY_SERVICES, PrivacyPartSchema
from crm_common.contracts.sales import TERRITORY_MEMBERS_CHANGED, TerritoryMembersData
from crm_identity.domain import audit, privacy, territories

log = logging.getLogger(__name__)


def privacy_part_completed(session: Session, envelope: dict, uow) -> None:
    try:
        data = PrivacyPartSchema().load(envelope["data"], unknown="exclude")
    except ValidationError as exc:  # a malformed answer cannot become valid by retrying
        log.warning("ignoring malformed %s %s: %s", envelope["type"], envelope["event_id"], exc.messages)
        return
    if data["service"] != envelope["type"].split(".", 1)[0]:
        log.warning("ignoring %s that claims to answer for %s", envelope["type"], data["service"])
        return
    privacy.apply_part(session, data)


def territory_members_changed(session: Session, envelope: dict, uow) -> None:
    """Sales lists a territory's members: they have its territory scope from the gateway's next cutoff check."""
    try:
        data = TerritoryMembersData().load(envelope["data"], unknown="exclude")
    except ValidationError as exc:
        log.warning("ignoring malformed %s %s: %s", envelope["type"], envelope["event_id"], exc.messages)
        return
    territories.apply_roster(session, data["id"], data["member_ids"], data["version"])


# event type -> handler(session, envelope, uow)
HANDLERS: dict = {f"{service}.privacy_part_completed.v1": privacy_part_completed for service in PRIVACY_SERVICES}
HANDLERS[TERRITORY_MEMBERS_CHANGED] = territory_members_changed
# the audit trail records every event: the queue takes all of them (registered in pyproject: crm.subscriptions)
SUBSCRIBES = topology.ALL


def dispatch(session: Session, envelope: dict, uow) -> bool:
    """Audit the event, then apply it; events this service has no use for are only audited."""
    audit.record_event(session, envelope)
    handler = HANDLERS.get(envelope["type"])
    if handler is None:
        return False
    handler(session, envelope, uow)
    return True
