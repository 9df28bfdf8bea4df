"""The marketing part of a privacy request: every area that holds personal data names itself in PARTS.

An area module has `export(ctx, address) -> (data, counts)` and `erase(ctx, address) -> counts`; an erased
address stays suppressed by its hash (the suppression list keeps the hash), never mailed again."""
from __future__ import annotations

from crm_marketing.domain import suppressions
from crm_marketing.domain import forms
from crm_marketing.domain import tracking

PARTS = (suppressions,)  # each returns its data and counts under the names of what it holds
PARTS += (forms,)  # the form submissions
PARTS += (tracking,)  # the opens, clicks and unsubscribes of an address's messages


def export(ctx, address: str) -> tuple[dict, dict]:
    data, counts = {}, {}
    for area in PARTS:
        found, counted = area.export(ctx, address)
        data.update(found)
        counts.update(counted)
    return data, counts


def erase(ctx, address: str) -> dict:
    counts = {}
    for area in PARTS:
        counts.update(area.erase(ctx, address))
    return counts
