"""Sales events into the read models: leads, opportunities (and their stage history), accounts, orders,
contracts, activities."""
from __future__ import annotations

from crm_analytics.projections.base import day, money, occurred, one, pick, remove, upsert, when
from crm_analytics.projections.custom_fields import definition_changed

CLOSED = {"closed_won": "won", "closed_lost": "lost"}
LEAD_FIELDS = ("owner_id", "territory_id", "source", "campaign_id", "status", "score", "custom_fields")


def lead_changed(s, env, data):
    on_insert = {"created_at": occurred(env)}
    upsert(s, "leads", {"id": data["id"]}, pick(data, *LEAD_FIELDS), on_insert)


def lead_assigned(s, env, data):
    upsert(s, "leads", {"id": data["id"]}, pick(data, "owner_id"), {"created_at": occurred(env)})


def leads_imported(s, env, data):
    for lead in data.get("leads") or []:
        if isinstance(lead, dict) and lead.get("id"):
            upsert(s, "leads", {"id": lead["id"]}, pick(lead, *LEAD_FIELDS, "team_id"),
                   {"created_at": occurred(env)})


def lead_converted(s, env, data):
    values = {"converted_at": occurred(env), "status": "converted", **pick(data, "account_id", "opportunity_id")}
    upsert(s, "leads", {"id": data["id"]}, values, {"created_at": occurred(env)})
    lead = one(s, "leads", data["id"])
    if data.get("opportunity_id") and lead is not None:
        _from_lead(s, data["opportunity_id"], lead)


def _from_lead(s, opportunity_id, lead):
    """An opportunity converted from a lead keeps the lead's source (and its campaign when it has none)."""
    opp = one(s, "opportunities", opportunity_id)
    if opp is None:
        return
    opp.update(lead_id=lead["id"], source=lead.get("source"))
    if not opp.get("campaign_id") and lead.get("campaign_id"):
        opp["campaign_id"] = lead["campaign_id"]
    s.put("opportunities", opp)


OPP_FIELDS = ("name", "account_id", "contact_id", "owner_id", "team_id", "territory_id", "currency", "stage",
              "probability", "campaign_id", "lost_reason", "custom_fields")


def _opp_values(data: dict) -> dict:
    values = pick(data, *OPP_FIELDS)
    if "amount" in data:
        values["amount"] = money(data["amount"])
    if "expected_close_date" in data:
        values["expected_close_date"] = day(data["expected_close_date"])
    if "closed_at" in data:
        values["closed_at"] = when(data["closed_at"])
    if "stage" in data:
        values["status"] = CLOSED.get(data["stage"], "open")
    return values


def opportunity_changed(s, env, data):
    at = occurred(env)
    existed = one(s, "opportunities", data["id"]) is not None
    upsert(s, "opportunities", {"id": data["id"]}, _opp_values(data), {"created_at": at, "stage_entered_at": at},
           at=at)
    if not existed:
        if data.get("stage"):
            s.enter_stage({"opportunity_id": data["id"], "stage": data["stage"], "entered_at": at, "left_at": None,
                           **pick(data, "owner_id", "team_id", "territory_id")})
        for lead in s.find("leads", "opportunity_id", data["id"])[:1]:
            _from_lead(s, data["id"], lead)


def stage_changed(s, env, data):
    at = occurred(env)
    s.close_stages(data["id"], at)
    opp = one(s, "opportunities", data["id"])
    scope = {k: opp.get(k) for k in ("owner_id", "team_id", "territory_id")} if opp is not None else pick(data, "owner_id")
    s.enter_stage({"opportunity_id": data["id"], "stage": data["to_stage"], "entered_at": at, "left_at": None, **scope})
    values = {"stage": data["to_stage"], "stage_entered_at": at, "status": CLOSED.get(data["to_stage"], "open"),
              **pick(data, "probability", "currency"), "amount": money(data.get("amount"))}
    upsert(s, "opportunities", {"id": data["id"]}, values, {"created_at": at}, at=at)


def account_changed(s, env, data):
    upsert(s, "accounts", {"id": data["id"]},
           pick(data, "name", "owner_id", "territory_id", "industry", "country", "lifecycle_stage", "custom_fields"),
           {"created_at": occurred(env)})


def order_changed(s, env, data):
    values = {**pick(data, "account_id", "status", "currency"), "total": money(data.get("total"))}
    if data.get("account_id"):
        account = one(s, "accounts", data["account_id"])
        if account is not None:
            values["owner_id"] = account.get("owner_id")
    upsert(s, "orders", {"id": data["id"]}, values, {"placed_at": occurred(env)})


def contract_changed(s, env, data):
    values = {**pick(data, "account_id", "status", "currency"), "value": money(data.get("value")),
              "starts_on": day(data.get("starts_on")), "ends_on": day(data.get("ends_on"))}
    if env.get("type", "").startswith("sales.contract_signed"):
        values["signed_at"] = occurred(env)
    upsert(s, "contracts", {"id": data["id"]}, values)


def activity_logged(s, env, data):
    upsert(s, "activities", {"id": data["id"]},
           {**pick(data, "owner_id", "type", "account_id", "opportunity_id", "lead_id"),
            "occurred_at": when(data.get("starts_at")) or occurred(env)})


def target_set(s, env, data):
    upsert(s, "targets", {"id": data["id"]}, {**pick(data, "period", "team_id", "territory_id", "currency",
                                                      owner_id="user_id"), "amount": money(data.get("amount"))})


DELETABLE = {"target": "targets", "lead": "leads", "opportunity": "opportunities", "account": "accounts", "contract": "contracts",
             "activity": "activities", "order": "orders"}


def record_changed(s, env, data):
    """A deleted record leaves the figures (a record changed without its own event changes none); a custom field
    definition changed is kept (projections/custom_fields.py)."""
    if data.get("entity") == "custom_field":
        return definition_changed(s, env, data)
    name = DELETABLE.get(data.get("entity"))
    if name and data.get("action") == "delete" and data.get("id"):
        remove(s, name, data["id"])


def _types(prefix, **table):
    return {f"{prefix}.{name}.v1": fn for name, fn in table.items()}


PROJECTORS = _types(
    "sales", lead_created=lead_changed, lead_updated=lead_changed, lead_assigned=lead_assigned,
    leads_imported=leads_imported, lead_converted=lead_converted,
    opportunity_created=opportunity_changed, opportunity_updated=opportunity_changed,
    opportunity_won=opportunity_changed, opportunity_lost=opportunity_changed,
    opportunity_stage_changed=stage_changed,
    account_created=account_changed, account_updated=account_changed, account_merged=account_changed,
    order_placed=order_changed, order_status_changed=order_changed,
    contract_signed=contract_changed, contract_expiring=contract_changed,
    activity_logged=activity_logged, record_changed=record_changed, target_set=target_set)
