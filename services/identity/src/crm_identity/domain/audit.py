"""The audit trail: one entry per business event of any service.

The envelope names what an event records (`entity`, `action`: its producer's outbox sets them from the
event's contract); an event naming neither is no audited change. Identity reads no producer's contracts."""
from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm_common import bulk, inbox
from crm_common.db import new_id, new_ordered_id
from crm_common.context import Context
from crm_common.errors import ServiceError
from crm_common.paging import paginate
from crm_identity.models import AuditEntry

SORTABLE = ("occurred_at",)


def entity_id_of(data: dict) -> str | None:
    for key in ("id", "request_id", "user_id"):
        value = data.get(key)
        if value:
            return str(value)
    return None


@functools.lru_cache(maxsize=1)
def _insert():
    return AuditEntry.__table__.insert()


def record_event(session: Session, envelope: dict) -> dict | None:
    """The audit entry of an event (its row, inserted at once: no ORM object, which nothing reads back here), or
    None when its envelope names no audited change (entity and action).

    A batch event (its data lists `ids`, e.g. `sales.leads_imported.v1`) gets one entry per id, inserted at
    once (and None is returned): the first entry keeps the event's id, the others have none (the column is
    unique); they share its type, actor and request id. A merge (data lists `merged_ids`) also leaves a
    delete entry for each record merged away (changed field `merged_into_id`)."""
    entity, action = _named(envelope, "entity"), _named(envelope, "action")
    if not entity or not action:
        return None
    data = envelope.get("data")
    data = data if isinstance(data, dict) else {}
    actor = envelope.get("actor") or {}
    if isinstance(data.get("ids"), list) and "id" not in data:
        _record_batch(session, envelope, entity, action, [str(i) for i in data["ids"] if i], actor)
        return None
    entry = _entry(envelope, entity, action, data, actor)
    session.connection().execute(_insert(), entry)
    merged = data.get("merged_ids")
    if isinstance(merged, list):
        _record_batch(session, envelope, entity, "delete", [str(i) for i in merged if i], actor,
                      changed=["merged_into_id"], first_keeps_event=False)
    return entry


def claim_and_record(session: Session, metadata, envelope: dict) -> bool:
    """Claim the event in the inbox and record its audit entry (the audit stream's `every`, which claims:
    `event_stream(..., every_claims=True)`); whether the event was new. An event of one entry is claimed and
    recorded in one statement on PostgreSQL (inbox.claim_and_insert); a batch, a merge, or an event naming no
    audited change is claimed, then recorded as record_event does."""
    entry = _single_entry(envelope)
    if entry is not None:
        return inbox.claim_and_insert(session, metadata, envelope, AuditEntry.__table__, entry)
    if not inbox.claim(session, metadata, envelope):
        return False
    record_event(session, envelope)
    return True


def claim_and_record_many(session: Session, metadata, envelopes: list[dict]) -> list[dict]:
    """claim_and_record for the events of one transaction (the audit stream's `every_batch`, which claims); the
    new ones, each once, in order. Several are claimed and their entries of one row inserted together
    (inbox.claim_and_insert_many: one statement on PostgreSQL); the others' entries follow as record_event writes
    them; a lone event takes claim_and_record's way."""
    if len(envelopes) == 1:
        return envelopes if claim_and_record(session, metadata, envelopes[0]) else []
    entries, others = [], set()
    for envelope in envelopes:
        entry = _single_entry(envelope)
        if entry is not None:
            entries.append(entry)
        else:
            others.add(envelope["event_id"])
    fresh = inbox.claim_and_insert_many(session, metadata, envelopes, AuditEntry.__table__, entries)
    new = []
    for envelope in envelopes:
        if envelope["event_id"] not in fresh:
            continue  # claimed before, or earlier in this batch
        fresh.discard(envelope["event_id"])
        new.append(envelope)
        if envelope["event_id"] in others:
            record_event(session, envelope)
    return new


def _single_entry(envelope: dict) -> dict | None:
    """The audit entry of an event that makes exactly one (not a batch, not a merge), else None."""
    entity, action = _named(envelope, "entity"), _named(envelope, "action")
    data = envelope.get("data")
    data = data if isinstance(data, dict) else {}
    if not entity or not action or isinstance(data.get("merged_ids"), list) or (
            isinstance(data.get("ids"), list) and "id" not in data):
        return None
    return _entry(envelope, entity, action, data, envelope.get("actor") or {})


def _entry(envelope: dict, entity: str, action: str, data: dict, actor: dict) -> dict:
    changed = data.get("changed_fields")
    return {"id": new_id(), "event_id": envelope["event_id"], "event_type": envelope["type"],
            "producer": envelope.get("producer"), "actor_id": actor.get("user_id"), "actor_kind": actor.get("kind"),
            "api_key_id": actor.get("api_key_id"), "action": action, "entity_type": entity,
            "entity_id": entity_id_of(data),
            "changed_fields": [str(f) for f in changed] if isinstance(changed, list) else [],
            "request_id": envelope.get("request_id"), "client_ip": actor.get("client_ip"),
            "occurred_at": datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00"))}


def _named(envelope: dict, key: str) -> str | None:
    value = envelope.get(key)
    return value if isinstance(value, str) and value else None


def _record_batch(session: Session, envelope: dict, entity: str, action: str, ids: list[str], actor: dict,
                  changed: list[str] | None = None, first_keeps_event: bool = True) -> None:
    if not ids:
        return
    common = {"event_type": envelope["type"], "producer": envelope.get("producer"), "actor_id": actor.get("user_id"),
              "actor_kind": actor.get("kind"), "api_key_id": actor.get("api_key_id"), "action": action,
              "entity_type": entity,
              "changed_fields": changed or [], "request_id": envelope.get("request_id"),
              "client_ip": actor.get("client_ip"),
              "occurred_at": datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00"))}
    rows = [{**common, "id": new_ordered_id(),  # time-ordered: an import's thousands append to the key index
             "event_id": envelope["event_id"] if n == 0 and first_keeps_event else None, "entity_id": entity_id}
            for n, entity_id in enumerate(ids)]
    bulk.insert_rows(session, AuditEntry.__table__, rows)  # COPY on PostgreSQL: an import's 1,000 per batch


def to_dict(entry: AuditEntry) -> dict:
    return {"id": entry.id, "event_id": entry.event_id, "event_type": entry.event_type, "actor_id": entry.actor_id,
            "actor_kind": entry.actor_kind, "api_key_id": entry.api_key_id, "action": entry.action, "entity_type": entry.entity_type,
            "entity_id": entry.entity_id, "changed_fields": list(entry.changed_fields or []),
            "request_id": entry.request_id, "client_ip": entry.client_ip, "producer": entry.producer,
            "occurred_at": entry.occurred_at}


def list_entries(ctx: Context, args: dict) -> dict:
    session = ctx.session
    if ctx.caller.scope("audit", "read") != "all":
        raise ServiceError("forbidden", "the audit trail is for administrators")
    query = select(AuditEntry)
    for field in ("entity_type", "entity_id", "actor_id", "api_key_id", "action", "request_id"):
        if args.get(field):
            query = query.where(getattr(AuditEntry, field) == args[field])
    if args.get("from"):
        query = query.where(AuditEntry.occurred_at >= args["from"])
    if args.get("to"):
        query = query.where(AuditEntry.occurred_at < args["to"])
    if args.get("q"):
        query = query.where(or_(AuditEntry.event_type.like(f"%{args['q']}%"), AuditEntry.entity_id == args["q"]))
    rows, cursor = paginate(session, query, AuditEntry, args.get("sort") or "-occurred_at", args["limit"],
                            args.get("cursor"), SORTABLE)
    return {"items": [to_dict(e) for e in rows], "next_cursor": cursor}


def about_user(session: Session, user_id: str, limit: int = 1000) -> list[dict]:
    """Entries by or about a user (their privacy export)."""
    rows = session.execute(select(AuditEntry).where(or_(AuditEntry.actor_id == user_id, AuditEntry.entity_id == user_id))
                           .order_by(AuditEntry.occurred_at).limit(limit)).scalars()
    return [to_dict(e) for e in rows]
