"""The few mechanics the projections share: parsing tolerant values, upserts and counters."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation


def when(value) -> datetime | None:
    """An RFC 3339 timestamp (or None) as an aware UTC datetime."""
    if isinstance(value, datetime):  # first: most values are the log's parsed times
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if value is None or value == "":
        return None
    if value.__class__ is str:  # next: a producer's text, which Python 3.11 reads with its "Z"
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def day(value) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def money(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def occurred(envelope: dict) -> datetime:
    return when(envelope.get("occurred_at"))


def pick(data: dict, *names, **renamed) -> dict:
    """The fields of `data` that it carries (a field absent from the event leaves the model's value alone)."""
    out = {name: data[name] for name in names if name in data}
    out.update({target: data[source] for target, source in renamed.items() if source in data})
    return out


def upsert(s, name: str, key: dict, values: dict, on_insert: dict | None = None, at=None) -> None:
    """Update the row of `key` of model `name` (in the batch's store, projections/store.py) with `values`, or
    make it (with `on_insert` too). With `at` (the event's time, for a model with `event_at`), an event older
    than the one the row reflects only fills what the row has empty, and moves its creation time (`on_insert`'s)
    back to its own: events that consumers took in another order than they were emitted leave the newest state
    (a ticket's update taken before its opening: created when it was opened)."""
    row = s.get(name, key)
    if row is None:
        row = {**key, **(on_insert or {}), **values}
        if at is not None:
            row["event_at"] = at
    elif at is not None and row.get("event_at") is not None and row["event_at"] > at:
        row.update({k: v for k, v in values.items() if v is not None and row.get(k) is None})
        created = on_insert.get("created_at") if on_insert else None
        if created is not None and created < row["created_at"]:
            row["created_at"] = created
    else:
        row.update(values)
        if at is not None:
            row["event_at"] = at
    s.put(name, row)


def bump(s, name: str, key: dict, column: str, by: int = 1) -> None:
    """Add `by` to a counter column of the row of `key` (made at zero), unread: the store adds the batch's
    counts to the row in SQL (`Store.count`)."""
    s.count(name, key, column, by)


def one(s, name: str, row_id: str) -> dict | None:
    """The row of `row_id` as the batch left it (None when it is not there)."""
    return s.get(name, {"id": row_id})


def remove(s, name: str, row_id: str) -> None:
    s.remove(name, {"id": row_id})
