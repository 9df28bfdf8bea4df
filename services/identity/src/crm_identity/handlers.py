"""What the identity service does with the events it receives (plain functions, no transport).

Identity takes every event of every producer (`SUBSCRIBES = topology.ALL`, the `crm.subscriptions` entry
point): each one lands first in the audit trail (`domain.audit`, from the entity and action its envelope
names), then `HANDLERS` applies the few identity acts on. Each handler reads only the fields it declares
(a tolerant reader); identity imports no producer's contracts.
"""
from __future__ import annotations

import logging

from marshmallow import Schema, fields

from crm_common import topology
from crm_common.contracts.platform import PrivacyPartSchema
from crm_common.entrypoint import Context, dispatch as apply_handler, handler_table, reads
from crm_identity.domain import audit, privacy, territories
from crm_identity_contracts import PRIVACY_SERVICES

log = logging.getLogger(__name__)

TERRITORY_MEMBERS_CHANGED = "sales.territory_members_changed.v1"


class TerritoryMembers(Schema):
    """What identity reads of a sales territory's roster."""

    id = fields.String(required=True)
    member_ids = fields.List(fields.String(), required=True)
    version = fields.Integer(required=True)


@reads(*(f"{service}.privacy_part_completed.v1" for service in PRIVACY_SERVICES), fields=PrivacyPartSchema)
def privacy_part_completed(ctx: Context, data: dict, envelope: dict) -> None:
    """A service's answer to a privacy request; an answer for another service than its producer is ignored."""
    if data["service"] != envelope["type"].split(".", 1)[0]:
        log.warning("ignoring %s that claims to answer for %s", envelope["type"], data["service"])
        return
    privacy.apply_part(ctx.session, data)


@reads(TERRITORY_MEMBERS_CHANGED, fields=TerritoryMembers)
def territory_members_changed(ctx: Context, data: dict, envelope: dict) -> None:
    """Sales lists a territory's members: they have its territory scope from the gateway's next cutoff check."""
    territories.apply_roster(ctx.session, data["id"], data["member_ids"], data["version"])


HANDLERS = handler_table(privacy_part_completed, territory_members_changed)
SUBSCRIBES = topology.ALL  # the audit trail records every event (pyproject: crm.subscriptions)


def claim_and_audit_many(ctx: Context, envelopes: list[dict]) -> list[dict]:
    """What the event stream runs first for the events of a transaction (`event_stream(HANDLERS,
    every_batch=claim_and_audit_many, every_claims=True, batch=True)`): their claims in the inbox in one statement,
    their audit entries of one row in another; the events that were new, each once, in order (a repeat is
    audited and applied no more)."""
    return audit.claim_and_record_many(ctx.session, ctx.uow.metadata, envelopes)


def dispatch(ctx: Context, envelope: dict) -> bool:
    """Audit the event, then apply it with its handler; whether identity has one (others are only audited)."""
    audit.record_event(ctx.session, envelope)
    return apply_handler(ctx, envelope, HANDLERS)
