"""The time spent in each stage, pre-counted (`an_stage_times`): per stage and whole hour of the stay (a negative
stay counts as 0, as the figures clamp it), the stage rows left and their stays' total in seconds (exact). The
company-wide time in stage (domain/time_in_stage.py) reads its counts and averages here, and finds each quantile's
hour here before reading the few index entries of that hour (`ix_an_stage_history_<gen>_stage_seconds`), instead
of sorting every stage row left. Each hour also keeps its shortest and longest stay: a quantile at an hour's first or
last place, or in an hour whose stays are all alike (deals moved by rule after a fixed time), is known without reading
the index.

The store (projections/store.py) adds one stay for every stage row the batch closes, in one bulk upsert. Stage
rows are only ever closed once and never deleted; a rebuild replays into an empty generation."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

HOUR_US = 3_600_000_000
SUMS = ("stays", "total")
EXTREMES = (("shortest", "LEAST"), ("longest", "GREATEST"))  # the hour's first and last stay in stay order
_US = timedelta(microseconds=1)
_MILLION = Decimal(1_000_000)


def stay(stage, entered_at, left_at):
    """(stage, hour, seconds) of a stage row left (None: no time to count, as the figures skip it; or no stage,
    which a well-formed event always names)."""
    if entered_at is None or left_at is None or stage is None:
        return None
    us = max(0, (left_at - entered_at) // _US)
    return stage, us // HOUR_US, Decimal(us) / _MILLION


def deltas(stays) -> list[dict]:
    """The rows to add to the counts for `stays`, (stage, hour, seconds) each."""
    out: dict = {}
    for stage, hour, seconds in stays:
        entry = out.get((stage, hour))
        if entry is None:
            entry = out[(stage, hour)] = {"stage": stage, "hour": hour, "stays": 0, "total": Decimal(0),
                                          "shortest": seconds, "longest": seconds}
        entry["stays"] += 1
        entry["total"] += seconds
        entry["shortest"], entry["longest"] = min(entry["shortest"], seconds), max(entry["longest"], seconds)
    return list(out.values())
