"""The service desk's configuration records: groups, routing rules, business hours, SLA policies and
service contracts. Each kind is a `Kind`: its own checks, and the plain create / list / get / update /
remove every kind shares (`GROUPS.create(ctx, data)`, `GROUPS.update(ctx, record_id, data, expected_version)`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Callable

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm_common.errors import conflict, validation
import crm_service_desk_contracts as c
from crm_service_desk.domain.business_hours import Calendar, due_time, zone_named
from crm_service_desk.domain.records import apply_changes, load, now, page, soft_delete, timestamp
from crm_service_desk.models import BusinessHours, Group, GroupMember, RoutingRule, ServiceContract, SlaPolicy

if TYPE_CHECKING:
    from crm_common.context import Context


@dataclass(frozen=True)
class Kind:
    """One kind of configuration record and the plain functions of its RPCs (each `fn(ctx, ...)`)."""

    model: type
    resource: str  # the entity its events name (and the permission's resource)
    what: str  # for messages
    query: type  # its list's ListQuery: the sort keys are its SORTABLE
    check: Callable[[Session, dict, object | None], dict]  # data -> normalized data (raises validation)
    filters: tuple[str, ...] = ()  # list filters compared for equality
    where: Callable[[dict], tuple] | None = None  # other list filters: the list's args -> conditions
    after_write: Callable[[Session, object], None] | None = None
    before_remove: Callable[[Session, object], None] | None = None  # refuses (409) or tidies up
    described: Callable[[object], dict] | None = None  # what its events carry beyond entity, id and name

    def create(self, ctx: Context, data: dict):
        session = ctx.session
        record = self.model(**self.check(session, dict(data), None))
        session.add(record)
        try:
            session.flush()
        except IntegrityError:
            raise conflict(f"this {self.what} clashes with an existing one") from None
        if self.after_write:
            self.after_write(session, record)
        ctx.emit(c.CONFIG_CREATED, self._event(record))
        return record

    def get(self, ctx: Context, record_id: str):
        return load(ctx.session, self.model, record_id, self.what)

    def list(self, ctx: Context, args: dict) -> dict:
        model = self.model
        query = select(model).where(model.deleted_at.is_(None), *(self.where(args) if self.where else ()))
        for name in self.filters:
            if args.get(name) is not None:
                query = query.where(getattr(model, name) == args[name])
        if args.get("q"):
            query = query.where(model.name.ilike(f"%{args['q']}%"))
        return page(ctx.session, query, model, args, self.query.SORTABLE)

    def update(self, ctx: Context, record_id: str, data: dict, expected_version: int | None = None):
        session = ctx.session
        record = load(session, self.model, record_id, self.what, for_update=True)
        changed = apply_changes(record, self.check(session, dict(data), record), expected_version)
        if changed:
            session.flush()
            if self.after_write:
                self.after_write(session, record)
            ctx.emit(c.CONFIG_UPDATED, self._event(record, changed))
        return record

    def remove(self, ctx: Context, record_id: str, expected_version: int | None = None) -> None:
        record = load(ctx.session, self.model, record_id, self.what, for_update=True)
        soft_delete(record, expected_version)
        if self.before_remove:
            self.before_remove(ctx.session, record)
        ctx.emit(c.CONFIG_DELETED, self._event(record))

    def _event(self, record, changed=None) -> dict:
        data = {"entity": self.resource, "id": record.id, "name": getattr(record, "name", None)}
        if changed is not None:
            data["changed_fields"] = changed
        if self.described:
            data.update(self.described(record))
        return data


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


def _members(group: Group) -> dict:
    """A group's events carry its members: who reads its tickets with a team scope (visibility.py)."""
    return {"member_ids": [] if group.deleted_at is not None else list(group.member_ids or [])}


def _with_member(args: dict) -> tuple:
    if not args.get("member_id"):
        return ()
    return (Group.id.in_(select(GroupMember.group_id).where(GroupMember.user_id == args["member_id"])),)


def _remove_group(session: Session, group: Group) -> None:
    """A group no rule sends tickets to: its name is freed, its members go."""
    if session.execute(select(exists().where(RoutingRule.group_id == group.id,
                                             RoutingRule.deleted_at.is_(None)))).scalar():
        raise conflict("routing rules still send tickets to this group; change them first")
    group.name = f"{group.name} (deleted {timestamp(group.deleted_at)})"[:200]
    session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))


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


def _remove_hours(session: Session, hours: BusinessHours) -> None:
    if session.execute(select(exists().where(SlaPolicy.business_hours_id == hours.id,
                                             SlaPolicy.deleted_at.is_(None)))).scalar():
        raise conflict("SLA policies still count in this calendar; change them first")


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


GROUPS = Kind(Group, "group", "group", c.GroupQuery, _check_group, where=_with_member, after_write=_sync_members,
              before_remove=_remove_group, described=_members)
ROUTING_RULES = Kind(RoutingRule, "routing_rule", "routing rule", c.RoutingRuleQuery, _check_rule)
BUSINESS_HOURS = Kind(BusinessHours, "business_hours", "business hours calendar", c.BusinessHoursQuery, _check_hours,
                      before_remove=_remove_hours)
SLA_POLICIES = Kind(SlaPolicy, "sla_policy", "SLA policy", c.SlaPolicyQuery, _check_policy, filters=("priority",))
SERVICE_CONTRACTS = Kind(ServiceContract, "service_contract", "service contract", c.ServiceContractQuery,
                         _check_contract, filters=("account_id", "product_id", "kind"))
KINDS = {kind.resource: kind for kind in (GROUPS, ROUTING_RULES, BUSINESS_HOURS, SLA_POLICIES, SERVICE_CONTRACTS)}


def calendar_of(session: Session, business_hours_id: str | None) -> Calendar | None:
    if business_hours_id is None:
        return None
    record = session.get(BusinessHours, business_hours_id)
    if record is None:
        return None
    return Calendar.from_spec(record.intervals, record.holidays, record.utc_offset_minutes, record.time_zone)
