"""A campaign's stats: what its mail did (the send log and tracking hits) and what it earned (the leads and
opportunities sales attributed to it, `domain.attribution`), with its cost and ROI.

People's opens and clicks are counted; hits of image proxies and link scanners (`machine`) apart. A click
counts as an open too (a person who clicked saw the mail, with images blocked or not). Money is summed in
the campaign's currency; won amounts in other currencies are listed, not converted.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, case, distinct, func, select

from crm_marketing.domain import campaigns
from crm_marketing.models import Attribution, Message, TrackingHit

HANDED = ("sent", "bounced", "complained")  # handed to SMTP
COUNTS = ("recipients", "sent", "delivered", "bounced", "opened", "unique_opens", "clicked", "unique_clicks",
          "unsubscribed", "complaints", "machine_opens", "machine_clicks")
CENTS, RATIO = Decimal("0.01"), Decimal("0.0001")


def of(ctx, record_id: str) -> dict:
    campaign = campaigns._load(ctx, record_id, "read")
    counts = _counts(ctx.session, campaign.id)
    variants = campaigns.variants_of(ctx.session, campaign.id)
    money = _earned(ctx.session, campaign)
    cost = (campaign.actual_cost or Decimal("0")).quantize(CENTS)
    roi = None if not cost else ((money["won_amount"] - cost) / cost).quantize(RATIO)
    return {"campaign_id": campaign.id, **counts.get(None, _zero()), **money, "cost": cost,
            "currency": campaign.currency, "roi": None if roi is None else str(roi),
            "variants": [{"id": v.id, "label": v.label, "template_id": v.template_id, "share": v.share,
                          "is_winner": v.is_winner, **counts.get(v.id, _zero())} for v in variants]}


def _zero() -> dict:
    return dict.fromkeys(COUNTS, 0)


def _counts(session, campaign_id: str) -> dict:
    """{None: the campaign's counts, variant_id: that variant's} from three grouped queries."""
    real = and_(Message.campaign_id == campaign_id, Message.is_test.is_(False))
    sent = select(Message.variant_id, Message.status, Message.bounce, func.count()).where(real).group_by(
        Message.variant_id, Message.status, Message.bounce)
    result: dict = {}

    def add(variant_id, name, value):
        for key in (None, variant_id) if variant_id else (None,):
            result.setdefault(key, _zero())[name] += value

    for variant_id, status, bounce, count in session.execute(sent):
        add(variant_id, "recipients", count)
        if status in HANDED:
            add(variant_id, "sent", count)
        if status in ("sent", "complained"):
            add(variant_id, "delivered", count)
        if status == "bounced" or (status == "failed" and bounce):
            add(variant_id, "bounced", count)
        if status == "complained":
            add(variant_id, "complaints", count)
    hits = (select(TrackingHit.variant_id, TrackingHit.kind, TrackingHit.machine, func.count(),
                   func.count(distinct(TrackingHit.message_id)))
            .where(TrackingHit.campaign_id == campaign_id).group_by(TrackingHit.variant_id, TrackingHit.kind,
                                                                    TrackingHit.machine))
    for variant_id, kind, machine, count, messages in session.execute(hits):
        if machine and kind in ("open", "click"):
            add(variant_id, "machine_opens" if kind == "open" else "machine_clicks", count)
        elif kind in ("open", "click"):
            add(variant_id, "opened" if kind == "open" else "clicked", count)
            if kind == "click":
                add(variant_id, "unique_clicks", messages)
    # distinct messages over kinds: a person's open or click (unique_opens), any unsubscribe hit
    for name, condition in (("unique_opens", and_(TrackingHit.machine.is_(False),
                                                  TrackingHit.kind.in_(("open", "click")))),
                            ("unsubscribed", TrackingHit.kind == "unsubscribe")):
        distinct_messages = (select(TrackingHit.variant_id, func.count(distinct(TrackingHit.message_id)))
                             .where(TrackingHit.campaign_id == campaign_id, condition)
                             .group_by(TrackingHit.variant_id))
        for variant_id, messages in session.execute(distinct_messages):
            add(variant_id, name, messages)
    return result


def _earned(session, campaign) -> dict:
    is_opportunity = Attribution.kind == "opportunity"
    rows = session.execute(
        select(func.count(case((Attribution.kind == "lead", 1))), func.count(case((is_opportunity, 1))),
               func.count(case((and_(is_opportunity, Attribution.won.is_(True)), 1))))
        .where(Attribution.campaign_id == campaign.id)).one()
    won = session.execute(
        select(Attribution.currency, func.coalesce(func.sum(Attribution.amount), 0))
        .where(Attribution.campaign_id == campaign.id, is_opportunity, Attribution.won.is_(True))
        .group_by(Attribution.currency)).all()
    amounts = {currency: Decimal(str(amount)).quantize(CENTS) for currency, amount in won}
    return {"leads": rows[0], "opportunities": rows[1], "won": rows[2],
            "won_amount": amounts.pop(campaign.currency, Decimal("0.00")),
            "won_other_currencies": [{"currency": currency or "", "amount": str(amount)}
                                     for currency, amount in sorted(amounts.items(), key=lambda i: i[0] or "")]}
