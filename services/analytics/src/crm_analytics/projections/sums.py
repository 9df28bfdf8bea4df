"""Pre-aggregated opportunities (`an_opportunity_sums`): per combination of what the pipeline, forecast and win
rate filter and group by (status, stage, currency, owner, team, territory, source, campaign, expected close day,
closed day), the deals, their amount, weighted amount (amount x probability / 100) and commit amount (probability
>= 75). A figure sums a few hundred of these rows, not every deal.

The store keeps it with each batch (projections/store.py): for every opportunity row the batch changed, the row as
read before the batch counts minus once and the row as written plus once; the differences are added in one bulk
upsert. A rebuild replays into an empty generation, so it makes them afresh."""
from __future__ import annotations

from datetime import timezone
from decimal import Decimal

KEYS = ("status", "stage", "currency", "owner_id", "team_id", "territory_id", "source", "campaign_id",
        "expected_close_date", "closed_on")
SUMS = ("deals", "amount", "weighted", "commit")
COMMIT_PROBABILITY = 75  # an open deal at this probability or above is "commit" in the forecast
SEPARATOR = "\x1f"


def contribution(row: dict | None):
    """(key columns, sums) of one opportunity row (None: no row)."""
    if row is None:
        return None
    closed = row.get("closed_at")
    keys = {k: row.get(k) for k in KEYS[:-1]}
    if closed is not None:
        closed = closed.astimezone(timezone.utc) if closed.tzinfo else closed  # stored in UTC
    keys["closed_on"] = closed.date() if closed is not None else None
    amount, probability = row.get("amount"), row.get("probability")
    amount = Decimal(amount) if amount is not None else None
    weighted = amount * probability / 100 if amount is not None and probability is not None else Decimal(0)
    commit = amount if amount is not None and probability is not None and probability >= COMMIT_PROBABILITY else 0
    return keys, (1, amount or Decimal(0), weighted, Decimal(commit))


def key_of(keys: dict) -> str:
    return SEPARATOR.join("" if keys[k] is None else str(keys[k]) for k in KEYS)


def deltas(changes) -> list[dict]:
    """The rows to add to the sums for `changes`, pairs (row before, row after) of opportunities (None: absent)."""
    out: dict = {}
    for before, after in changes:
        for row, sign in ((before, -1), (after, 1)):
            found = contribution(row)
            if found is None:
                continue
            keys, values = found
            key = key_of(keys)
            entry = out.setdefault(key, {"key": key, **keys, **{n: 0 for n in SUMS}})
            for name, value in zip(SUMS, values):
                entry[name] += sign * value
    return [entry for entry in out.values() if any(entry[n] for n in SUMS)]
