"""The marketing part of a privacy request: every area that holds personal data names itself in PARTS.

An area module has `export(ctx, address) -> (data, counts)` and `erase(ctx, address) -> counts`; an erased
address stays suppressed by its hash (the suppression list keeps the hash), never mailed again."""
from __future__ import annotations

from crm_marketing.domain import audience, consents, forms, scoring, send_log, suppressions, topics, tracking

# in order: an area that finds its rows through another's (hits through their messages, scores through their
# member, both by address) comes first; topics before the audience (which forgets the members' hashes)
PARTS = (suppressions, forms, tracking, send_log, scoring, topics, audience, consents)


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
