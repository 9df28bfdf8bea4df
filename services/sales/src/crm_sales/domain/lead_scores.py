"""A lead's score as marketing computes it (`marketing.score_changed.v1`): sales sets `lead.score`."""
from __future__ import annotations

from typing import TYPE_CHECKING

import crm_sales_contracts as c
from crm_sales.domain.leads import event_data
from crm_sales.models import Lead

if TYPE_CHECKING:
    from crm_common.entrypoint import Context


def apply_score(ctx: Context, lead_id: str, score: int) -> bool:
    """Set the lead's score (0..100) from marketing's scoring; a lead deleted or erased is left alone.
    Whether it changed (a change is announced as any lead update, `changed_fields: ["score"]`)."""
    lead = ctx.session.get(Lead, lead_id)
    if lead is None or lead.deleted_at is not None or lead.anonymized_at is not None:
        return False
    score = min(100, max(0, int(score)))
    if lead.score == score:
        return False
    lead.score = score
    ctx.session.flush()
    ctx.emit(c.LEAD_UPDATED, {**event_data(lead), "changed_fields": ["score"]})
    return True
