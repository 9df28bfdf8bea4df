"""What every figure shares: the caller's scope over a read model, the period, the filters and the group key."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import String, and_, case, cast, false, func, null, or_, select, text, true

from crm_common import scope
from crm_common.errors import ServiceError

# group_by -> the read-model column it groups on (month: of the figure's date column)
COLUMNS = {"owner": "owner_id", "team": "team_id", "territory": "territory_id", "source": "source",
           "campaign": "campaign_id", "stage": "stage", "channel": "channel", "account": "account_id",
           "priority": "priority", "policy": "sla_policy_id", "root_cause": "root_cause", "variant": "variant"}
FILTERS = ("owner_id", "team_id", "territory_id", "source", "campaign_id", "currency", "channel")


def bad(field: str, message: str) -> ServiceError:
    return ServiceError("validation_failed", f"{field}: {message}", errors={field: [message]})


def visible(actor, resource: str, table):
    """Rows of `table` the caller may see: their analytics scope and their read scope on `resource` (a rep's
    pipeline is their own deals only). Tickets as the service desk shows them (`tickets_readable`)."""
    return readable(actor, resource, table, ("analytics", resource))


def readable(actor, resource: str, table, scopes: tuple | None = None):
    """Rows of `table` each of the caller's read `scopes` allows (default: their scope on `resource`); tickets as
    the service desk shows them, over the narrower of the scopes."""
    scopes = scopes or (resource,)
    if resource == "ticket" and "created_by" in table.c:
        return tickets_readable(actor, narrowest(actor, scopes), table)
    return and_(*[scope.clause(actor, name, "read", table.c) for name in scopes])


_WIDTH = {"none": 0, "own": 1, "team": 2, "territory": 2, "all": 3}  # tickets have no territory: a team's reach


def narrowest(actor, scopes: tuple = ("analytics", "ticket")) -> str:
    """The narrowest of the caller's read scopes `scopes` (default: a ticket figure's), as tickets read it."""
    return min((actor.scope(name, "read") for name in scopes), key=_WIDTH.__getitem__)


def tickets_readable(actor, level: str, tickets):
    """The tickets a caller of scope `level` reads, as the service desk decides (its domain/visibility.py): all;
    or those assigned to them (`owner_id`) or opened by them (`created_by`) and, with a team (or territory) scope,
    those of a support group they belong to (`group_members`, of the same generation)."""
    if level == "all":
        return true()
    if level == "none" or not actor.user_id:
        return false()
    c = tickets.c
    mine = [c.owner_id == actor.user_id, c.created_by == actor.user_id]
    if level in ("team", "territory"):
        members = tickets.metadata.tables[tickets.name.replace("an_tickets_", "an_group_members_", 1)]
        mine.append(scope.among(c.group_id, select(members.c.group_id).where(members.c.user_id == actor.user_id)))
    return or_(*mine)


def period(data: dict, column):
    """The WHERE clause of the query's from/to (days, inclusive) on a timestamp or date column."""
    clauses = []
    start, end = data.get("from"), data.get("to")
    is_day = not hasattr(column.type, "impl") and column.type.python_type is date
    if start is not None:
        clauses.append(column >= (start if is_day else datetime.combine(start, time(), timezone.utc)))
    if end is not None:
        after = end + timedelta(days=1)
        clauses.append(column < (after if is_day else datetime.combine(after, time(), timezone.utc)))
    return and_(true(), *clauses)


def filtered(data: dict, table):
    """The query's equality filters on the columns `table` has; a filter it cannot apply is a 422."""
    clauses = []
    for name in FILTERS:
        if data.get(name) is None:
            continue
        if name not in table.c:
            raise bad(name, "this figure cannot be filtered by it")
        clauses.append(table.c[name] == data[name])
    return and_(true(), *clauses)


def month(column, dialect: str):
    if dialect == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM") if not _is_date(column) \
        else func.to_char(column, "YYYY-MM")


def _is_date(column) -> bool:
    return not hasattr(column.type, "impl") and column.type.python_type is date


def group_key(data: dict, table, allowed: tuple, month_of, dialect: str):
    """The group-by expression (a constant when the query groups by nothing); 422 when the figure has no such key."""
    name = data.get("group_by")
    if name is None:
        return cast(null(), String).label("key")  # not a bare constant: PostgreSQL refuses those in GROUP BY
    if name not in allowed:
        raise bad("group_by", f"this figure groups by {', '.join(allowed)}")
    if name == "month":
        return month(month_of, dialect).label("key")
    return table.c[COLUMNS[name]].label("key")


def dialect_of(conn) -> str:
    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    return bind.dialect.name


def seconds(later, earlier, dialect: str):
    """later - earlier in seconds, in SQL (PostgreSQL: date_part's double precision; EXTRACT's numeric costs about
    twice as much over 100,000 rows)."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.date_part("epoch", later - earlier)


def quantile(values: list, q: float):
    """The q-quantile of sorted values by linear interpolation (None for none)."""
    if not values:
        return None
    pos = (len(values) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


# the sort memory of a quantile's transaction on PostgreSQL (SET LOCAL: until its end); the server's default
# (4 MB) spills a sort of a million values to disk
_SORT_MEMORY = text("SET LOCAL work_mem = '64MB'")


def distribution(conn, key, value, where, scale: float = 1.0) -> dict:
    """Per group key, the (count, mean, median, p90) of a SQL `value` divided by `scale` (a negative one counts as
    0, a null one is skipped; groups in key order): `distributions` of one value."""
    return {k: stats[0] for k, (_, stats) in distributions(conn, key, [value], where, scale).items()
            if stats[0][0]}


def distributions(conn, key, values: list, where, scale: float = 1.0, counts: tuple = (), total: bool = False):
    """Per group key (in key order): (the aggregates `counts` as SQL columns give them, [(count, mean, median, p90)
    of each of `values` divided by `scale`: a negative one counts as 0, a null one is skipped]). PostgreSQL computes
    them in one statement (percentile_cont: the same linear interpolation as `quantile`), so one row a group leaves
    the database; SQLite's values are summed up here. With `total`: (that, the same over every group, None when
    there is no group); PostgreSQL computes both in the one statement (GROUPING SETS)."""
    if dialect_of(conn) != "postgresql":
        found = _summed_up(conn, key, values, where, scale, counts)
        if not total:
            return found
        everything = _summed_up(conn, cast(null(), String), values, where, scale, counts) if found else {}
        return found, next(iter(everything.values()), None)
    conn.execute(_SORT_MEMORY)  # the quantiles sort every row of a group: in memory, not spilled to disk
    spread = []
    for value in values:
        clamped = case((value < 0, 0.0), else_=value) / scale  # a null stays null: the aggregates skip it
        spread += [func.count(value), func.avg(clamped), func.percentile_cont(0.5).within_group(clamped),
                   func.percentile_cont(0.9).within_group(clamped)]
    expression = getattr(key, "element", key)  # the labelled expression
    query = select(key, *counts, *spread).where(where)
    if total:  # one more group, over every row: the one where the key is not grouped on
        query = select(key, *counts, *spread, func.grouping(expression).label("everything")).where(where) \
            .group_by(func.grouping_sets(expression, text("()"))).order_by(expression)
    else:
        query = query.group_by(key).order_by(key)
    out, everything = {}, None
    for row in conn.execute(query).all():
        rest = row[1 + len(counts):1 + len(counts) + 4 * len(values)]
        entry = (tuple(row[1:1 + len(counts)]),
                 [(rest[i], *[None if x is None else float(x) for x in rest[i + 1:i + 4]]) for i in range(0, len(rest), 4)])
        if total and row[-1]:
            everything = entry
        else:
            out[row[0]] = entry
    return (out, everything if out else None) if total else out


def _summed_up(conn, key, values: list, where, scale: float, counts: tuple) -> dict:
    """`distributions` on SQLite: the values read in key order and summed up here."""
    totals = {row[0]: tuple(row[1:]) for row in conn.execute(select(key, *counts).where(where).group_by(key))} \
        if counts else {}
    found: dict = {}
    for row in conn.execute(select(key, *values).where(where).order_by(key)):
        lists = found.setdefault(row[0], [[] for _ in values])
        for i, v in enumerate(row[1:]):
            if v is not None:
                lists[i].append(max(0.0, float(v)) / scale)
    out = {}
    for k, lists in found.items():
        stats = []
        for got in lists:
            got.sort()
            stats.append((len(got), sum(got) / len(got) if got else None, quantile(got, 0.5), quantile(got, 0.9)))
        out[k] = (totals.get(k, ()), stats)
    return out


def answer(figure: str, data: dict, items: list, totals: dict, **extra) -> dict:
    from crm_common.db import utcnow
    return {"figure": figure, "group_by": data.get("group_by"), "from": data.get("from"), "to": data.get("to"),
            "items": items, "totals": totals, "as_of": utcnow(), **extra}


def money(value) -> str:
    from decimal import Decimal
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def ratio(part, whole, places: int = 4):
    return round(float(part) / float(whole), places) if whole else None
