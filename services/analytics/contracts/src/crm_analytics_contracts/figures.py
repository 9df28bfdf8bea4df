"""The figures of the analytics service (`/api/v1/analytics/...`): one query shape, one answer shape."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm_common.contracts.fields import Boolean, Day, DecimalString, Timestamp
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import Job, Strict

GROUP_BY = ("owner", "team", "territory", "source", "campaign", "month", "stage", "channel", "account", "priority",
            "policy", "variant")
PERIOD_RULE = "from is on or before to"
GROUP_RULE = "group_by names a key this figure groups by, and each filter a field this figure has"


def _id(**kw):
    return fields.String(validate=validate.Length(min=1, max=64), **kw)


class FigureQuery(Strict):
    RULES = (PERIOD_RULE, GROUP_RULE)
    from_ = Day(data_key="from", attribute="from", metadata={"description": "first day (UTC), inclusive"})
    to = Day(metadata={"description": "last day (UTC), inclusive"})
    group_by = fields.String(validate=validate.OneOf(GROUP_BY))
    owner_id = _id()
    team_id = _id()
    territory_id = _id()
    source = fields.String(validate=validate.Length(min=1, max=60))
    campaign_id = _id()
    channel = fields.String(validate=validate.Length(min=1, max=20))
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code like EUR"))

    @validates_schema
    def _period_in_order(self, data, **kwargs):
        if data.get("from") and data.get("to") and data["from"] > data["to"]:
            raise ValidationError("to is before from", "to")


class ForecastQuery(FigureQuery):
    target = DecimalString(places=2, validate=validate.Range(min=0),
                           metadata={"description": "the period's target: the answer adds the attainment"})


class Figures(Schema):
    figure = fields.String()
    group_by = fields.String(allow_none=True)
    from_ = Day(data_key="from", attribute="from", allow_none=True)
    to = Day(allow_none=True)
    items = fields.List(fields.Dict(), metadata={"description": "one per group (key: the group's value)"})
    totals = fields.Dict()
    time_in_stage = fields.List(fields.Dict(), metadata={"description": "sales-cycle: days per stage"})
    as_of = Timestamp()
    as_of_day = fields.String(metadata={"description": "rfm: the day recency is counted to"})
    quantiles = fields.Dict(metadata={"description": "service: whether the medians and p90s are exact, and their "
                                                     "largest relative error (`{exact, relative_error}`)"})


class Status(Schema):
    events = fields.Integer()
    last_seq = fields.Integer()
    last_event_at = Timestamp(allow_none=True)
    lag_p50_seconds = fields.Float(allow_none=True, metadata={"description": "of the last 200 events: received - occurred"})
    lag_p99_seconds = fields.Float(allow_none=True)
    generation = fields.String()
    rebuilding = Boolean()
    rebuild_job_id = fields.String(allow_none=True)
    rebuilt_at = Timestamp(allow_none=True)
    unprojected_types = fields.List(fields.String(), metadata={
        "description": "event types kept in the log that no read model reads yet"})


RebuildJob = Job  # the rebuild's progress (the kernel's job shape)


class RebuildRequest(Strict):
    pass


def figure(method: str, description: str, query=FigureQuery):
    return rpc("analytics", method, query, Figures, permission=("analytics", "read"), description=description)


PIPELINE = figure("pipeline", "Open deals by stage: count, amount, weighted amount (from/to: expected close).")
FUNNEL = figure("funnel", "Leads to converted to deals to won, with the conversion of each step.")
WIN_RATE = figure("win_rate", "Deals closed in the period: won, lost, win rate, average deal size.")
SALES_CYCLE = figure("sales_cycle", "Days from creation to win (average, median, p90) and days in each stage.")
FORECAST = figure("forecast", "Pipeline, weighted, commit and closed won; attainment against a target.",
                  ForecastQuery)
ACTIVITIES = figure("activities", "Activities logged per rep (or month), by type.")
SERVICE = figure("service", "Backlog, response and resolution times, SLA, reopens, CSAT, NPS, complaints.")
MARKETING = figure("marketing", "Per campaign (or variant): sends to bounces, attributed leads and deals, ROI.")
KPIS = figure("kpis", "Month by month: satisfaction, new accounts, churn rate, sales growth, marketing ROI, "
                      "service efficiency (from/to only).")
SUBSCRIPTIONS = figure("subscriptions", "Month by month, per currency: MRR and ARR, new, expansion, contraction and "
                       "churned MRR, net revenue retention, paying subscriptions (from/to, owner_id, currency).")
RFM = figure("rfm", "Per account: recency, frequency, monetary scores (1-5) and the segment (as of `to`).")
CLV = figure("clv", "Per account: the historic lifetime value (value to date, average order, yearly run rate).")
CHURN_RISK = figure("churn_risk", "Per account: a churn risk 0-100 and the reasons behind it.")
COHORTS = figure("cohorts", "Accounts by first-order month and the share ordering again each month after.")
STATUS = rpc("analytics", "status", None, Status, permission=("analytics", "read"),
             description="How far the read models are: events kept, lag, generation, rebuild.")
REBUILD = rpc("analytics", "rebuild", RebuildRequest, RebuildJob, permission=("analytics", "admin"),
              description="Replay the event log into fresh read models as a job, then switch.")
GET_REBUILD = rpc("analytics", "get_rebuild", None, RebuildJob, permission=("analytics", "admin"), record=True,
                  description="A rebuild job's progress.")
