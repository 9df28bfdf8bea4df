"""A/B tests of an email campaign: the test group split by the variants' shares, the winner picked after the wait.

`ab_test_share` percent of the recipients (the first ones in the send's order, which is by the address's hash:
a random sample) get the variants in proportion to their `share`; after `ab_wait_minutes` the variant with
the most unique opens (or clicks, `ab_metric`) per message sent wins -- people's hits only, not image
proxies' or link scanners' (`machine`) -- and the rest of the audience gets the winner's template.
"""
from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import distinct, func, select, update

from crm_marketing.domain.send_log import REAL
from crm_marketing.models import Campaign, CampaignVariant, Message, TrackingHit


def test_size(campaign, variants: list, total: int) -> int:
    """How many recipients form the test group (all of them without a winner phase)."""
    if not variants:
        return 0
    share = campaign.ab_test_share if campaign.ab_test_share is not None else 100
    return min(total, max(len(variants), math.ceil(total * share / 100))) if share < 100 else total


class Split:
    """Which variant the next recipient of the test group gets: each step goes to the variant furthest behind
    its share, so any prefix of the group is split as closely as it can be (resumable from the counts)."""

    def __init__(self, variants: list, assigned: dict):
        self.variants = sorted(variants, key=lambda v: v.label)
        self.assigned = {v.id: assigned.get(v.id, 0) for v in self.variants}
        self.total_share = sum(v.share for v in self.variants) or 1

    def next(self):
        done = sum(self.assigned.values()) + 1
        chosen = max(self.variants, key=lambda v: v.share * done / self.total_share - self.assigned[v.id])
        self.assigned[chosen.id] += 1
        return chosen


def assigned(conn, campaign_id: str) -> dict:
    """Messages per variant so far (not tests)."""
    return dict(conn.execute(select(Message.variant_id, func.count()).where(
        Message.campaign_id == campaign_id, REAL, Message.variant_id.is_not(None))
        .group_by(Message.variant_id)).all())


def test_finished_at(conn, campaign_id: str):
    """When the test group's last message was handed over."""
    return conn.execute(select(func.max(Message.handed_at)).where(
        Message.campaign_id == campaign_id, REAL, Message.variant_id.is_not(None))).scalar()


def wait_until(campaign, finished_at):
    return finished_at + timedelta(minutes=campaign.ab_wait_minutes or 0)


def rates(conn, campaign, variants: list) -> dict:
    """variant id -> (unique people's opens or clicks, messages sent)."""
    kind = "click" if campaign.ab_metric == "clicks" else "open"
    sent = dict(conn.execute(select(Message.variant_id, func.count()).where(
        Message.campaign_id == campaign.id, REAL, Message.status == "sent",
        Message.variant_id.is_not(None)).group_by(Message.variant_id)).all())
    hits = dict(conn.execute(select(TrackingHit.variant_id, func.count(distinct(TrackingHit.message_id))).where(
        TrackingHit.campaign_id == campaign.id, TrackingHit.kind == kind, TrackingHit.machine.is_(False))
        .group_by(TrackingHit.variant_id)).all())
    return {v.id: (hits.get(v.id, 0), sent.get(v.id, 0)) for v in variants}


def pick(conn, campaign, variants: list):
    """The winning variant (best rate; a tie goes to the earlier label), recorded on the campaign and variant."""
    found = rates(conn, campaign, variants)

    def rate(v):
        hits, sent = found[v.id]
        return hits / sent if sent else 0.0

    best = max(sorted(variants, key=lambda v: v.label), key=rate)  # max keeps the first of equals
    conn.execute(update(CampaignVariant.__table__).where(CampaignVariant.campaign_id == campaign.id)
                 .values(is_winner=CampaignVariant.id == best.id))
    conn.execute(update(Campaign.__table__).where(Campaign.id == campaign.id).values(
        winner_variant_id=best.id, version=Campaign.version + 1))
    return best
