"""The days deals spent in each stage they left, company-wide and over all time, without sorting every stage row:
the count and average from the pre-counted stays (`an_stage_times`, projections/stage_times.py), and each quantile
read from the index on the stays in seconds (PostgreSQL): the pre-counted hours say which hour holds the quantile's
row and at which place, so only that hour's index entries are read. The same values as `filters.distribution`
(percentile_cont's interpolation between the two rows around the quantile); a scoped or dated query takes that."""
from __future__ import annotations

from sqlalchemy import select

from crm_analytics.domain.filters import seconds
from crm_analytics.projections.stage_times import HOUR_US

QUANTILES = (0.5, 0.9)


def applies(ctx, data: dict, dialect: str) -> bool:
    """Whether the query is the company-wide one over all time (a caller who reads every deal, no from/to)."""
    caller = ctx.caller
    return (dialect == "postgresql" and data.get("from") is None and data.get("to") is None
            and caller.scope("analytics", "read") == "all" and caller.scope("opportunity", "read") == "all")


def company_wide(conn, t, scale: float) -> dict:
    """Per stage (in stage order): (count, mean, median, p90) of the days spent in it, as `filters.distribution`."""
    c = t.stage_times.c
    hours: dict = {}
    for stage, hour, stays, total, shortest, longest in conn.execute(
            select(c.stage, c.hour, c.stays, c.total, c.shortest, c.longest).where(c.stays > 0)
            .order_by(c.stage, c.hour)):
        hours.setdefault(stage, []).append((hour, stays, total, float(shortest), float(longest)))
    out = {}
    for stage, found in hours.items():
        n = sum(stays for _, stays, *_ in found)
        mean = float(sum(total for _, _, total, *_ in found) / n) / scale
        out[stage] = (n, mean, *[_quantile(conn, t.stage_history, stage, found, n, q, scale) for q in QUANTILES])
    return out


def _quantile(conn, h, stage, found: list, n: int, q: float, scale: float) -> float:
    place = (n - 1) * q
    low = int(place)
    first = _stay_at(conn, h, stage, found, low)
    second = _stay_at(conn, h, stage, found, low + 1) if low + 1 < n and place != low else first
    first, second = max(0.0, first) / scale, max(0.0, second) / scale
    return first + (second - first) * (place - low)


def _stay_at(conn, h, stage, found: list, index: int) -> float:
    """The stay in seconds of the row at `index` (in stay order) among the stage's rows left: the hour's shortest or
    longest when it is that, else read from the index, from the nearer end of its hour."""
    before = 0
    for hour, stays, _, shortest, longest in found:
        if before + stays > index:
            break
        before += stays
    place = index - before
    if place == 0 or shortest == longest:
        return shortest
    if place == stays - 1:
        return longest
    value = seconds(h.c.left_at, h.c.entered_at, "postgresql")
    where = [h.c.left_at.is_not(None), h.c.stage == stage, value.is_not(None)]
    if place < stays // 2:  # from the hour's first row: a stay of hour * 3600 s or more (hour 0: the negative too)
        if hour > 0:
            where.append(value >= float(hour * HOUR_US // 1_000_000))
        query = select(value).where(*where).order_by(value).offset(place)
    else:  # from its last: a stay under the next hour
        where.append(value < float((hour + 1) * HOUR_US // 1_000_000))
        query = select(value).where(*where).order_by(value.desc()).offset(stays - 1 - place)
    return conn.execute(query.limit(1)).scalar()
