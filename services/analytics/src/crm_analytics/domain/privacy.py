"""The analytics part of privacy requests: what the event log and the read models keep of a person.

The log keeps every event with its personal fields already dropped (`log.redacted`): an email address is
kept as its hash, which still points at the person, with what else a lead's, a contact's or a ticket's
events carry (a job title, a subject, tags, custom field values). A person's events are those whose payload
names the email or its hash (case-insensitive), and every event about the same records (their `entity_id`:
a later assignment of that lead names neither). Erasure keeps each such event at its place in the log, its
payload cut to what the projections read (ids, amounts, stages, statuses, times, scores...): on their records
the address's hash, free text and the values of custom fields that may hold a name or a text go; in any
record's texts (another's deal named after them) the address and its hash are replaced by ERASED. The read
models' rows get the same cut (both generations), so a rebuild from the log gives the same read models. Export
answers the events found (at most EXPORT_LIMIT). A rebuild running meanwhile keeps the cut: each batch it replays
holds `ERASING` shared, an erasure holds it alone. The search reads the payloads' JSON text (the requests' own
events name the address too: cut, never counted): a scan of the log, for a request that comes rarely.
"""
from __future__ import annotations

import hashlib
import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crm_common.db import serialize_on
from crm_common.envelope import rfc3339
from crm_common.privacy import PRIVACY_REQUESTED, naming

from crm_analytics.models import EVENTS, GENERATIONS

EXPORT_LIMIT = 1000
# held alone by an erasure, shared by each batch a rebuild replays (domain/rebuild.py): a batch read from the log
# before an erasure's cut commits is written before the erasure cuts the read models, not after
ERASING = "analytics-erasure"
CHUNK = 500
# what no projection reads and may name or describe the person (besides log.PERSONAL, never kept)
FREE_TEXT = frozenset(("title", "subject", "description", "notes", "note", "tags", "full_name", "display_name",
                       "contact_name", "signature", "summary"))
ERASED = "[erased]"
CUSTOM_MODELS = ("leads", "opportunities", "accounts", "tickets")  # the read models keeping custom field values
# the read models' texts a projection copies from an event (a deal's name could name someone)
TEXT_COLUMNS = {"opportunities": ("name", "lost_reason"), "accounts": ("name",), "campaigns": ("name",),
                "complaints": ("root_cause",)}
# custom field types whose values cannot name or describe a person (crm_common.records.custom_fields.TYPES)
KEPT_TYPES = frozenset(("number", "decimal", "date", "boolean", "choice", "multi_choice", "user"))


def email_hash(email: str) -> str:
    """The address as the log keeps it (`log.redacted`)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _names(value: dict, texts: set[str]) -> bool:
    """`value` (an object of a payload) holds the address or its hash itself."""
    return any(isinstance(item, str) and item.strip().lower() in texts for item in value.values())


def _ids_naming(value, texts: set[str], out: set[str]) -> None:
    """The ids of the objects in `value` that name the person (a lead within an import names its own)."""
    if isinstance(value, list):
        for item in value:
            _ids_naming(item, texts, out)
    elif isinstance(value, dict):
        if value.get("id") and _names(value, texts):
            out.add(str(value["id"]))
        for item in value.values():
            if isinstance(item, (dict, list)):
                _ids_naming(item, texts, out)


def events_of(session: Session, email: str) -> tuple[list, set[str]]:
    """The log's rows about the person (in order) and the ids of their records."""
    texts = {email.strip().lower(), email_hash(email)}
    found, ids = {}, set()
    for row in session.execute(select(EVENTS).where(naming(EVENTS.c.envelope, sorted(texts)))):
        found[row.seq] = row
        data = row.envelope.get("data") if isinstance(row.envelope, dict) else None
        if row.entity_id and isinstance(data, dict) and _names(data, texts):
            ids.add(row.entity_id)
        _ids_naming(data, texts, ids)
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):  # every event about those records
        for row in session.execute(select(EVENTS).where(EVENTS.c.entity_id.in_(ordered[start:start + CHUNK]))):
            found[row.seq] = row
    return [found[seq] for seq in sorted(found)], ids


def _kinds(session: Session) -> dict[str, set]:
    """The types of each custom field (by name: the same name may be defined on several resources), as the
    active generation knows the definitions."""
    from crm_analytics.domain.log import active
    out: dict[str, set] = {}
    t = active(session).custom_fields
    for name, kind in session.execute(select(t.c.name, t.c.type)):
        out.setdefault(name, set()).add(kind)
    return out


def _mentions(value, texts: set[str]) -> bool:
    """`value` is a text with the address or its hash in it (a subject naming them, whoever's record it is)."""
    return isinstance(value, str) and any(text in value.lower() for text in texts)


def scrub(value, texts: set[str]):
    """`value` with the address and its hash replaced wherever a text holds them (the rest of the text kept: a
    deal's name stays the deal's), in a list's texts too."""
    if isinstance(value, list):
        return [scrub(item, texts) for item in value]
    if not _mentions(value, texts):
        return value
    for text in texts:
        value = re.sub(re.escape(text), ERASED, value, flags=re.IGNORECASE)
    return value


def cut_custom(values, kinds: dict[str, set], texts: set[str], theirs: bool):
    """Custom field values with the person scrubbed from their texts and, on their own records (`theirs`), with
    only what cannot name or describe anyone: the fields whose every definition is of a type in KEPT_TYPES (a
    text, a link, an address or an undefined field goes). The log's and the read models' alike."""
    if not isinstance(values, dict):
        return values
    return {name: scrub(value, texts) for name, value in values.items()
            if not theirs or value is None or (kinds.get(name) and kinds[name] <= KEPT_TYPES)}


def cut(value, texts: set[str], ids: set[str], kinds: dict[str, set], whole: bool = False):
    """`value` (a payload) with the person scrubbed from every text, and their objects cut to what the
    projections read: those about their records or naming them (`whole`: the object is within one)."""
    if isinstance(value, list):
        return [cut(item, texts, ids, kinds, whole) for item in value]
    if not isinstance(value, dict):
        return scrub(value, texts)
    theirs = whole or str(value.get("id")) in ids or _names(value, texts)
    out = {}
    for key, item in value.items():
        if theirs and (key in FREE_TEXT or key.endswith("email_hash") or _names({key: item}, texts)):
            continue
        if key == "custom_fields":
            out[key] = cut_custom(item, kinds, texts, theirs)
        else:
            out[key] = cut(item, texts, ids, kinds, theirs) if isinstance(item, (dict, list)) else scrub(item, texts)
    return out


def _update(session: Session, table, column: str, rows: dict, change) -> set:
    """`column` of `rows` ({id: value}) changed by `change(id, value)`; the (table, id) of the rows changed."""
    changed = set()
    for key, value in rows.items():
        kept = change(key, value)
        if kept != value:
            session.execute(update(table).where(table.c.id == key).values({column: kept}))
            changed.add((table.name, key))
    return changed


def _read_model_rows(session: Session, ids: list[str], texts: set[str], kinds: dict[str, set]) -> int:
    """The read models' rows as `cut` leaves the events they come from (both generations): the custom field
    values of the person's records, and the texts naming them in anyone's; how many rows changed."""
    changed, theirs, words = set(), set(ids), sorted(texts)
    for t in GENERATIONS.values():
        for name in CUSTOM_MODELS:
            table = getattr(t, name)
            rows = dict(session.execute(select(table.c.id, table.c.custom_fields).where(
                naming(table.c.custom_fields, words))).all())  # a scan of the model, smaller than the log's
            for start in range(0, len(ids), CHUNK):
                rows.update(session.execute(select(table.c.id, table.c.custom_fields).where(
                    table.c.id.in_(ids[start:start + CHUNK]), table.c.custom_fields.is_not(None))).all())
            changed |= _update(session, table, "custom_fields", rows,
                               lambda key, value: cut_custom(value, kinds, texts, key in theirs))
        for name, columns in TEXT_COLUMNS.items():
            table = getattr(t, name)
            for column in columns:
                rows = dict(session.execute(select(table.c.id, table.c[column]).where(
                    naming(table.c[column], words))).all())
                changed |= _update(session, table, column, rows, lambda key, value: scrub(value, texts))
    return len(changed)


def erase(session: Session, email: str) -> dict:
    """Cut the person's data out of the log's payloads and the read models' rows; how many of each. A rebuild's
    batch being replayed meanwhile is waited for, and the next waits for this cut (`ERASING`)."""
    serialize_on(session, ERASING)
    rows, ids = events_of(session, email)
    texts = {email.strip().lower(), email_hash(email)}
    kinds = _kinds(session)
    for row in rows:
        envelope = dict(row.envelope)
        envelope["data"] = cut(envelope.get("data"), texts, ids, kinds, whole=row.entity_id in ids)
        if envelope != row.envelope:
            session.execute(update(EVENTS).where(EVENTS.c.seq == row.seq).values(envelope=envelope))
    events = sum(row.type != PRIVACY_REQUESTED for row in rows)  # the requests themselves are cut, not counted
    models = _read_model_rows(session, sorted(ids), texts, kinds)
    session.flush()
    return {"events": events, "read_model_rows": models}


def export(session: Session, email: str) -> tuple[dict, dict]:
    """The person's events as the log keeps them (at most EXPORT_LIMIT) and the counts."""
    rows, ids = events_of(session, email)
    rows = [row for row in rows if row.type != PRIVACY_REQUESTED]  # the requests are not what is kept of them
    items = [{"type": row.type, "occurred_at": rfc3339(row.occurred_at), "entity": row.entity,
              "entity_id": row.entity_id, "data": (row.envelope or {}).get("data")} for row in rows[:EXPORT_LIMIT]]
    return {"events": items}, {"events": len(rows), "records": len(ids)}
