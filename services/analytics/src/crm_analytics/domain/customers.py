"""The customer's whole picture: an account's deals, orders, contracts, tickets, surveys, complaints and the
campaigns that touched it, with totals; and its merged timeline from the event log. Each part is over the
caller's read scope of its resource (a part the caller may not read is left out); an account the caller may
not read is a 404."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, select

from crm_common.errors import ServiceError

from crm_analytics.domain.filters import money, readable, visible
from crm_analytics.domain.log import active
from crm_analytics.models import EVENTS

PARTS = {  # part -> (read model, resource, columns, order column)
    "deals": ("opportunities", "opportunity", ("id", "name", "stage", "status", "amount", "currency", "owner_id",
                                                "expected_close_date", "created_at", "closed_at"), "created_at"),
    "orders": ("orders", "order", ("id", "status", "total", "currency", "placed_at"), "placed_at"),
    "contracts": ("contracts", "contract", ("id", "status", "value", "currency", "starts_on", "ends_on", "signed_at"),
                  "starts_on"),
    "tickets": ("tickets", "ticket", ("id", "number", "status", "priority", "channel", "owner_id", "created_at",
                                      "solved_at"), "created_at"),
    "surveys": ("surveys", "survey", ("id", "ticket_id", "kind", "score", "answered_at"), "answered_at"),
    "complaints": ("complaints", "complaint", ("id", "ticket_id", "status", "root_cause", "opened_at", "resolved_at"),
                   "opened_at"),
}
RESOURCE_OF = {"opportunity": "opportunity", "lead": "lead", "account": "account", "contact": "contact",
               "order": "order", "quote": "quote", "contract": "contract", "activity": "activity", "ticket": "ticket",
               "survey": "survey", "complaint": "complaint", "comment": "comment", "campaign": "campaign"}
LIMIT = 200


def _account(ctx, t, account_id: str):
    a = t.accounts
    row = ctx.session.execute(select(a).where(a.c.id == account_id, visible(ctx.caller, "account", a))).first()
    if row is None:
        raise ServiceError("not_found", "no such account in the figures (or not yours to read)")
    return row


def picture(ctx, account_id: str) -> dict:
    conn = ctx.session
    t = active(conn)
    account = _account(ctx, t, account_id)
    out = {"account": _plain({k: account._mapping[k] for k in ("id", "name", "owner_id", "territory_id", "industry",
                                                                "country", "lifecycle_stage", "created_at")})}
    for part, (name, resource, columns, order) in PARTS.items():
        table = getattr(t, name)
        if ctx.caller.scope(resource, "read") == "none":
            out[part] = None  # not the caller's to read
            continue
        rows = conn.execute(select(*[table.c[c] for c in columns])
                            .where(table.c.account_id == account_id,
                                   readable(ctx.caller, resource, table))
                            .order_by(table.c[order].desc()).limit(LIMIT)).all()
        out[part] = [_plain(dict(r._mapping)) for r in rows]
    out["campaigns"] = _campaigns(ctx, t, account_id)
    out["totals"] = _totals(out)
    return out


def _plain(row: dict) -> dict:
    return {k: (money(v) if isinstance(v, Decimal) else v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in row.items()}


def _campaigns(ctx, t, account_id):
    if ctx.caller.scope("campaign", "read") == "none" and ctx.caller.scope("lead", "read") == "none":
        return None
    lead, opp, camp = t.leads, t.opportunities, t.campaigns
    ids = {r[0] for r in ctx.session.execute(select(lead.c.campaign_id).where(
        lead.c.account_id == account_id, lead.c.campaign_id.is_not(None)))}
    ids |= {r[0] for r in ctx.session.execute(select(opp.c.campaign_id).where(
        opp.c.account_id == account_id, opp.c.campaign_id.is_not(None)))}
    if not ids:
        return []
    rows = ctx.session.execute(select(camp.c.id, camp.c.name, camp.c.type, camp.c.status)
                               .where(camp.c.id.in_(sorted(ids)))).all()
    return [dict(r._mapping) for r in rows]


def _totals(out: dict) -> dict:
    totals: dict = {}
    for part in ("deals", "orders", "contracts", "tickets", "surveys", "complaints"):
        if out.get(part) is not None:
            totals[part] = len(out[part])
    if out.get("deals") is not None:
        totals["open_deals"] = sum(1 for d in out["deals"] if d["status"] == "open")
        totals["won"] = _per_currency([d for d in out["deals"] if d["status"] == "won"], "amount")
    if out.get("orders") is not None:
        totals["ordered"] = _per_currency(out["orders"], "total")
    if out.get("tickets") is not None:
        totals["open_tickets"] = sum(1 for k in out["tickets"] if k["status"] not in ("solved", "closed"))
    return totals


def _per_currency(rows: list, field: str) -> dict:
    sums: dict = {}
    for row in rows:
        sums[row.get("currency") or "?"] = sums.get(row.get("currency") or "?", Decimal(0)) + Decimal(row[field] or 0)
    return {cur: money(v) for cur, v in sorted(sums.items())}


def timeline(ctx, account_id: str, data: dict) -> dict:
    """The account's events, newest first (`before`: the `next_cursor` of the previous page), each only if the
    caller reads records of its kind."""
    conn = ctx.session
    _account(ctx, active(conn), account_id)
    limit = data.get("limit", 50)
    before = data.get("before")
    query = select(EVENTS.c.seq, EVENTS.c.type, EVENTS.c.entity, EVENTS.c.entity_id, EVENTS.c.occurred_at,
                   EVENTS.c.actor_id, EVENTS.c.envelope).where(EVENTS.c.account_id == account_id)
    if before is not None:
        query = query.where(EVENTS.c.seq < before)
    items, last = [], None
    for row in conn.execute(query.order_by(EVENTS.c.seq.desc()).limit(limit * 3)):
        last = row.seq
        resource = RESOURCE_OF.get(row.entity or "", "account")
        if ctx.caller.scope(resource, "read") == "none":
            continue
        data_ = (row.envelope or {}).get("data") or {}
        items.append({"at": row.occurred_at, "type": row.type, "entity": row.entity, "entity_id": row.entity_id,
                      "actor_id": row.actor_id, "summary": {k: v for k, v in data_.items()
                                                            if k in ("status", "stage", "to_stage", "amount", "total",
                                                                     "currency", "name", "number", "score", "kind",
                                                                     "priority", "channel", "root_cause", "type")}})
        if len(items) == limit:
            break
    return {"items": items, "next_cursor": last if len(items) == limit else None}
