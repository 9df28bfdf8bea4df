"""Marketing's score reaches the lead (marketing.score_changed.v1): lead.score is set and announced."""
from __future__ import annotations

import crm_sales_contracts as c
from crm_common.db import utcnow
from crm_common.entrypoint import Context, dispatch
from crm_sales import handlers
from crm_sales.domain import leads
from crm_sales.models import Lead


def scored(ctx, lead_id: str, score: int) -> bool:
    return dispatch(ctx(), {"type": handlers.SCORE_CHANGED,
                            "data": {"lead_id": lead_id, "score": score, "previous": None}}, handlers.HANDLERS)


def test_the_score_becomes_the_leads_and_is_announced_once(session, team, events, ctx):
    lead = leads.create(Context(session, team["r1"], events), {"last_name": "Lovelace", "score": 10})
    events.clear()
    assert scored(ctx, lead.id, 65) is True
    assert session.get(Lead, lead.id).score == 65 and session.get(Lead, lead.id).version == 2
    (changed,) = events.of(c.LEAD_UPDATED)
    assert changed["id"] == lead.id and changed["changed_fields"] == ["score"]
    scored(ctx, lead.id, 65)  # the same score again: nothing changes
    assert len(events.of(c.LEAD_UPDATED)) == 1


def test_a_deleted_erased_or_unknown_lead_is_left_alone(session, team, events, ctx):
    gone = leads.create(Context(session, team["r1"], events), {"last_name": "Gone", "score": 5})
    erased = leads.create(Context(session, team["r1"], events), {"last_name": "Erased", "score": 5})
    gone.deleted_at, erased.anonymized_at = utcnow(), utcnow()
    session.flush()
    events.clear()
    for lead_id in (gone.id, erased.id, "no-such-lead"):
        scored(ctx, lead_id, 90)
    assert (gone.score, erased.score) == (5, 5) and events == []
