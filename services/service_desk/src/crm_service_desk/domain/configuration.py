"""The service desk's configuration records: groups, routing rules, business hours, SLA policies and
service contracts. One generic create/list/get/update/delete, each kind with its own checks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Callable

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import crm_service_desk_contracts as c
from crm_common.errors import conflict, validation
from crm_service_desk.domain.business_hours import Calendar, due_time, zone_named
from crm_service_desk.domain.records import apply_changes, iso, load, need, now, page
from crm_service_desk.models import (BusinessHours, Group, GroupMember, RoutingRule, ServiceContract,
                                     SlaPolicy)


@dataclass(frozen=True)
class Kind:
    model: type
    resource: str  # permission resource
    what: str  # for messages
    check: Callable[[Session, dict, object | None], dict]  # data -> normalized data (raises validation)
    after_write: Callable[[Session, object], None] | None = None
    filters: tuple[str, ...] = ()
    sortable: tuple[str, ...] = ("created_at", "updated_at", "name")


def _exists(session: Session, model, record_id, field: str, what: str) -> None:
    if record_id is None:
        return
    query = select(model.id).where(model.id == record_id, model.deleted_at.is_(None))
    if session.execute(query).first() is None:
        raise validation({field: [f"no such {what}"]})


# -- per kind checks --------------------------------------------------------------------------------

def _check_group(session, data, record):
    if "name" in data:
        query = select(Group.id).where(Group.name == data["name"], Group.deleted_at.is_(None))
        if record is not None:
            query = query.where(Group.id != record.id)
        if session.execute(query).first():
            raise validation({"name": ["a group with this name exists"]})
    if "member_ids" in data:
        data["member_ids"] = list(dict.fromkeys(data["member_ids"]))
    return data


def _sync_members(session: Session, group: Group) -> None:
    session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    for user_id in group.member_ids or []:
        session.add(GroupMember(group_id=group.id, user_id=user_id))


def _check_rule(session, data, record):
    if "group_id" in data:
        _exists(session, Group, data["group_id"], "group_id", "group")
    if "keywords" in data:
        data["keywords"] = [k.strip().lower() for k in data["keywords"] if k.strip()]
    return data


def _check_hours(session, data, record):
    intervals = data.get("intervals", record.intervals if record is not None else [])
    holidays = data.get("holidays", record.holidays if record is not None else [])
    zone = data.get("time_zone", record.time_zone if record is not None else None)
    offset = data.get("utc_offset_minutes", record.utc_offset_minutes if record is not None else 0)
    if zone:
        try:
            zone_named(zone)
        except ValueError as exc:
            raise validation({"time_zone": [str(exc)]}) from None
        if offset:
            raise validation({"utc_offset_minutes": ["give either a time zone or a fixed offset, not both"]})
    try:
        Calendar.from_spec(intervals, holidays, 0)
    except ValueError as exc:
        raise validation({"intervals": [str(exc)]}) from None
    if "intervals" in data:
        data["intervals"] = [dict(i) for i in data["intervals"]]
    if "holidays" in data:
        data["holidays"] = sorted({d.isoformat() if isinstance(d, date) else d for d in data["holidays"]})
    return data


def _check_policy(session, data, record):
    _exists(session, BusinessHours, data.get("business_hours_id"), "business_hours_id", "business hours calendar")
    hours_id = data.get("business_hours_id", record.business_hours_id if record is not None else None)
    if hours_id:  # a target the calendar cannot reach in ten years is a mistake, not a policy
        cal = calendar_of(session, hours_id)
        for name in ("first_response_minutes", "resolution_minutes"):
            minutes = data.get(name, getattr(record, name, None) if record is not None else None)
            if minutes and due_time(now(), minutes, cal) is None:
                raise validation({name: [f"the calendar does not fit {minutes} working minutes within ten years"]})
    return data


def _check_contract(session, data, record):
    _exists(session, SlaPolicy, data.get("sla_policy_id"), "sla_policy_id", "SLA policy")
    if record is not None:
        starts = data.get("starts_on", record.starts_on)
        ends = data.get("ends_on", record.ends_on)
        if ends < starts:
            raise validation({"ends_on": ["ends_on must not be before starts_on"]})
    return data


KINDS = {
    "group": Kind(Group, "group", "group", _check_group, _sync_members),
    "routing_rule": Kind(RoutingRule, "routing_rule", "routing rule", _check_rule,
                         sortable=("created_at", "updated_at", "position", "name")),
    "business_hours": Kind(BusinessHours, "business_hours", "business hours calendar", _check_hours),
    "sla_policy": Kind(SlaPolicy, "sla_policy", "SLA policy", _check_policy, filters=("priority",)),
    "service_contract": Kind(ServiceContract, "service_contract", "service contract", _check_contract,
                             filters=("account_id", "product_id", "kind"),
                             sortable=("created_at", "updated_at", "name", "ends_on")),
}


def _event(spec: Kind, record, changed=None) -> dict:
    data = {"entity": spec.resource, "id": record.id, "name": getattr(record, "name", None)}
    if changed is not None:
        data["changed_fields"] = changed
    return data


def create(session: Session, uow, kind: str, data: dict):
    spec = KINDS[kind]
    need(uow.caller, spec.resource, "create")
    data = spec.check(session, dict(data), None)
    record = spec.model(**data)
    session.add(record)
    try:
        session.flush()
    except IntegrityError:
        raise conflict(f"this {spec.what} clashes with an existing one") from None
    if spec.after_write:
        spec.after_write(session, record)
    uow.emit(c.CONFIG_CREATED, _event(spec, record))
    return record


def get(session: Session, uow, kind: str, record_id: str):
    spec = KINDS[kind]
    need(uow.caller, spec.resource, "read")
    return load(session, spec.model, record_id, spec.what)


def list_records(session: Session, uow, kind: str, args: dict, extra_where=()) -> dict:
    spec = KINDS[kind]
    need(uow.caller, spec.resource, "read")
    model = spec.model
    query = select(model).where(model.deleted_at.is_(None), *extra_where)
    for name in spec.filters:
        if args.get(name) is not None:
            query = query.where(getattr(model, name) == args[name])
    if args.get("q"):
        query = query.where(model.name.ilike(f"%{args['q']}%"))
    return page(session, query, model, args, spec.sortable)


def update(session: Session, uow, kind: str, record_id: str, data: dict, expected_version: int | None):
    spec = KINDS[kind]
    need(uow.caller, spec.resource, "update")
    record = load(session, spec.model, record_id, spec.what, for_update=True)
    data = spec.check(session, dict(data), record)
    changed = apply_changes(record, data, expected_version)
    if changed:
        session.flush()
        if spec.after_write:
            spec.after_write(session, record)
        uow.emit(c.CONFIG_UPDATED, _event(spec, record, changed))
    return record


def remove(session: Session, uow, kind: str, record_id: str) -> None:
    spec = KINDS[kind]
    need(uow.caller, spec.resource, "delete")
    record = load(session, spec.model, record_id, spec.what, for_update=True)
    if kind == "group" and session.execute(select(exists().where(
            RoutingRule.group_id == record.id, RoutingRule.deleted_at.is_(None)))).scalar():
        raise conflict("routing rules still send tickets to this group; change them first")
    if kind == "business_hours" and session.execute(select(exists().where(
            SlaPolicy.business_hours_id == record.id, SlaPolicy.deleted_at.is_(None)))).scalar():
        raise conflict("SLA policies still count in this calendar; change them first")
    record.deleted_at = now()
    if kind == "group":
        record.name = f"{record.name} (deleted {iso(record.deleted_at)})"[:200]
        session.execute(delete(GroupMember).where(GroupMember.group_id == record.id))
    uow.emit(c.CONFIG_DELETED, _event(spec, record))


def calendar_of(session: Session, business_hours_id: str | None) -> Calendar | None:
    if business_hours_id is None:
        return None
    record = session.get(BusinessHours, business_hours_id)
    if record is None:
        return None
    return Calendar.from_spec(record.intervals, record.holidays, record.utc_offset_minutes, record.time_zone)
