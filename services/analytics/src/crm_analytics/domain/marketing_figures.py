"""Marketing figures per campaign and variant: sends, opens, clicks, unsubscribes, bounces, complaints and
their rates; the leads, deals and won amount attributed to the campaign (its campaign_id on the lead or
deal); cost per lead and ROI ((won - cost) / cost) where the campaign's cost is known.
Over the caller's campaign scope: the attributed counts and amounts are the campaign's, as the marketing service's
own campaign report shows them to whoever reads campaigns (no deal or lead is listed)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from crm_analytics.domain.filters import answer, bad, money, period, ratio
from crm_analytics.domain.log import active

COUNTERS = ("sent", "opened", "clicked", "unsubscribed", "bounced", "complained")


def marketing(ctx, data: dict) -> dict:
    """Per campaign (group_by=variant: per campaign and variant); campaign_id narrows to one."""
    if data.get("group_by") not in (None, "campaign", "variant"):
        raise bad("group_by", "marketing figures group by campaign or variant")
    for name in ("owner_id", "team_id", "territory_id", "source", "channel", "currency"):
        if data.get(name) is not None:
            raise bad(name, "marketing figures cannot be filtered by it")
    conn = ctx.session
    t = active(conn)
    camp, stats, lead, opp = t.campaigns, t.campaign_stats, t.leads, t.opportunities
    if ctx.caller.scope("campaign", "read") == "none" or ctx.caller.scope("analytics", "read") == "none":
        return answer("marketing", data, [], {})
    campaigns = {row.id: row for row in conn.execute(
        select(camp).where(camp.c.deleted.is_(False), *([camp.c.id == data["campaign_id"]]
                                                          if data.get("campaign_id") else []),
                           period(data, camp.c.created_at)))}
    per_variant = data.get("group_by") == "variant"
    counters: dict = {}
    ids = list(campaigns)
    for row in conn.execute(select(stats).where(stats.c.campaign_id.in_(ids))) if ids else []:
        key = (row.campaign_id, row.variant if per_variant else None)
        entry = counters.setdefault(key, dict.fromkeys(COUNTERS, 0))
        for name in COUNTERS:
            entry[name] += getattr(row, name)
    leads = dict(conn.execute(select(lead.c.campaign_id, func.count()).where(
        lead.c.campaign_id.in_(ids)).group_by(lead.c.campaign_id)).all()) if ids else {}
    deals = {r[0]: r[1:] for r in conn.execute(select(
        opp.c.campaign_id, func.count(), func.sum(func.coalesce(opp.c.amount, 0)).filter(opp.c.status == "won"),
        func.count().filter(opp.c.status == "won")).where(
        opp.c.campaign_id.in_(ids)).group_by(opp.c.campaign_id))} if ids else {}
    items = []
    for cid, campaign in sorted(campaigns.items(), key=lambda kv: str(kv[1].name)):
        keys = sorted((k for k in counters if k[0] == cid), key=lambda k: str(k[1])) or [(cid, None)]
        for _, variant in keys:
            c = counters.get((cid, variant), dict.fromkeys(COUNTERS, 0))
            items.append({"campaign_id": cid, "name": campaign.name, "type": campaign.type, "status": campaign.status,
                          "variant": variant if per_variant else None, **c, **_rates(c)})
        if not per_variant:
            items[-1].update(_attributed(campaign, leads.get(cid, 0), deals.get(cid)))
    totals = {name: sum(i[name] for i in items) for name in COUNTERS}
    totals.update(_rates(totals))
    totals["leads"] = sum(i.get("leads", 0) for i in items)
    totals["opportunities"] = sum(i.get("opportunities", 0) for i in items)
    return answer("marketing", data, items, totals)


def _rates(c: dict) -> dict:
    delivered = c["sent"] - c["bounced"]
    return {"delivered": delivered, "open_rate": ratio(c["opened"], delivered),
            "click_rate": ratio(c["clicked"], delivered), "unsubscribe_rate": ratio(c["unsubscribed"], delivered),
            "bounce_rate": ratio(c["bounced"], c["sent"])}


def _attributed(campaign, leads: int, deals) -> dict:
    opportunities, won_amount, won = (deals or (0, None, 0))
    won_amount = Decimal(won_amount or 0)
    cost = campaign.cost
    return {"leads": leads, "opportunities": opportunities, "won": won or 0, "won_amount": money(won_amount),
            "cost": None if cost is None else money(cost), "currency": campaign.currency,
            "cost_per_lead": money(Decimal(cost) / leads) if cost is not None and leads else None,
            "roi": str(((won_amount - Decimal(cost)) / Decimal(cost)).quantize(Decimal("0.0001")))
            if cost else None}
