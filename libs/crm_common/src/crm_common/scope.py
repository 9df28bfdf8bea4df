"""Record-level visibility: the actor's scope for a resource turned into a query filter.

Scopes: own (owner_id is the caller), team (the record's team_id is the caller's team, or own),
territory (the record's territory_id is one of the caller's territories, or own), all.
A model opts in by having `owner_id` and, where it applies, `team_id` / `territory_id` columns.
Out of scope is "not found" (404), never "forbidden", so ids cannot be probed.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Text, any_, bindparam, false, or_, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from crm_common.context import Actor
from crm_common.errors import ServiceError, not_found


def clause(actor: Actor, resource: str, action: str, model):
    """A WHERE clause limiting `model` rows to what `actor` may `action`."""
    scope = actor.scope(resource, action)
    if scope == "all":
        return true()
    if scope == "none":
        return false()
    owner = getattr(model, "owner_id", None)
    conditions = [owner == actor.user_id] if owner is not None and actor.user_id else []
    if scope == "team" and getattr(model, "team_id", None) is not None and actor.team_id:
        conditions.append(model.team_id == actor.team_id)
    if scope == "territory" and getattr(model, "territory_id", None) is not None and actor.territory_ids:
        conditions.append(model.territory_id.in_(list(actor.territory_ids)))
    return or_(*conditions) if conditions else false()


def alternatives(actor: Actor, resource: str, action: str, model) -> tuple[tuple, object, dict]:
    """clause() for a statement built once per shape (paging.paginate_plain): (shape, build, params), where
    `build()` gives the conditions of which a visible row meets one or more ([]: every row), on bind
    parameters whose values are `params`."""
    scope = actor.scope(resource, action)
    if scope == "all":
        return ("all",), list, {}
    owner = getattr(model, "owner_id", None) if scope != "none" else None
    mine = owner is not None and bool(actor.user_id)
    team = (scope == "team" and getattr(model, "team_id", None) is not None and bool(actor.team_id))
    territory = (scope == "territory" and getattr(model, "territory_id", None) is not None
                 and bool(actor.territory_ids))
    params = {"scope_user": actor.user_id, "scope_team": actor.team_id, "scope_territories": list(actor.territory_ids)}

    def build() -> list:
        found = [owner == bindparam("scope_user")] if mine else []
        if team:
            found.append(model.team_id == bindparam("scope_team"))
        if territory:
            found.append(model.territory_id.in_(bindparam("scope_territories", expanding=True)))
        return found or [false()]
    return (scope, mine, team, territory), build, params


def visible(query, actor: Actor, resource: str, action: str, model):
    return query.where(clause(actor, resource, action, model))


def allows(actor: Actor, resource: str, action: str, record) -> bool:
    """Whether `actor` may `action` this loaded record."""
    scope = actor.scope(resource, action)
    if scope == "all":
        return True
    if scope == "none":
        return False
    if actor.user_id and getattr(record, "owner_id", None) == actor.user_id:
        return True
    if scope == "team" and actor.team_id and getattr(record, "team_id", None) == actor.team_id:
        return True
    if scope == "territory" and getattr(record, "territory_id", None) in set(actor.territory_ids):
        return True
    return False


def require(actor: Actor, resource: str, action: str, record, what: str | None = None):
    """The record if the actor may act on it; otherwise not_found (reading) or forbidden (when it can read)."""
    if record is None or not allows(actor, resource, "read", record):
        raise not_found(what or resource)
    if action != "read" and not allows(actor, resource, action, record):
        raise ServiceError("forbidden", f"your role may not {action} this {what or resource}")
    return record


class among(ColumnElement):
    """`column` is one of the values `query` (a one-column SELECT) gives: `column IN (SELECT ...)`, and on PostgreSQL
    `column = ANY(ARRAY(SELECT ...))`, which the planner can answer from `column`'s index (run once, as an InitPlan),
    so an OR of it with other indexed conditions is a BitmapOr of index scans; an IN of a sub-select in an OR is a
    filter on every row (a scan)."""
    __visit_name__ = "crm_among"
    _is_implicitly_boolean = True  # a condition (SQLite: not compared with 1)
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("query", InternalTraversal.dp_clauseelement)]
    type = Boolean()

    def __init__(self, column, query):
        self.column, self.query = column, query.scalar_subquery()


@compiles(among)
def _among(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.query, **kw)}"


@compiles(among, "postgresql")
def _among_postgresql(element, compiler, **kw):
    return f"{compiler.process(element.column, **kw)} = ANY(ARRAY{compiler.process(element.query, **kw)})"


def one_of(column, postgresql: bool, key: str | None = None, values=None):
    """A text `column` IN <values> (bound as `key`, or given as `values`): on PostgreSQL `column = ANY(<array>)`, one
    parameter, where an expanding IN renders and binds one per value at every execution (as `among` for a
    sub-select). The array is of text, not of the column's type: a cast to varchar(n) would cut a longer value to
    one that matches."""
    if postgresql:
        return column == any_(bindparam(key, values, type_=ARRAY(Text)))
    return column.in_(bindparam(key, values, expanding=True))
