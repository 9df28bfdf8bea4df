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
    hours: dict = {}
    for stage, hour, stays, total in conn.execute(
            select(t.stage_times.c.stage, t.stage_times.c.hour, t.stage_times.c.stays, t.stage_times.c.total)
            .where(t.stage_times.c.stays > 0).order_by(t.stage_times.c.stage, t.stage_times.c.hour)):
        hours.setdefault(stage, []).append((hour, stays, total))
    out = {}
    for stage, found in hours.items():
        n = sum(stays for _, stays, _ in found)
        mean = float(sum(total for _, _, total in found) / n) / scale
        out[stage] = (n, mean, *[_quantile(conn, t.stage_history, stage, found, n, q, scale) for q in QUANTILES])
    return out


def _quantile(conn, h, stage, found: list, n: int, q: float, scale: float) -> float:
    place = (n - 1) * q
    low = int(place)
    first, second = _rows_at(conn, h, stage, found, low)
    if low + 1 >= n or place == low:
        second = first
    first, second = max(0.0, first) / scale, max(0.0, second) / scale
    return first + (second - first) * (place - low)


def _rows_at(conn, h, stage, found: list, index: int) -> tuple:
    """The stays in seconds of the rows at `index` and after (in stay order) among the stage's rows left."""
    before = 0
    for hour, stays, _ in found:
        if before + stays > index:
            break
        before += stays
    value = seconds(h.c.left_at, h.c.entered_at, "postgresql")
    where = [h.c.left_at.is_not(None), h.c.stage == stage, value.is_not(None)]
    if hour > 0:  # the hour's first row: a stay of hour * 3600 s or more (hour 0 holds the negative ones too)
        where.append(value >= float(hour * HOUR_US // 1_000_000))
    rows = conn.execute(select(value).where(*where).order_by(value).offset(index - before).limit(2)).scalars().all()
    return (rows[0], rows[-1]) if rows else (0.0, 0.0)
