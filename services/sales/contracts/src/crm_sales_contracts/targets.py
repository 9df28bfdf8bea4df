"""Targets (quotas per user, team or territory and period), the forecast against them, and commissions."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm_common.contracts.fields import Money, exactly_one_of, existing
from crm_common.contracts.registry import FROM_DATA, event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.field_types import PERIOD_RE, ChangedData, Currency, Id, Period


class TargetCreate(Strict):
    OPENAPI = exactly_one_of(user_id="string", team_id="string", territory_id="string")
    RULES = (existing("territory_id"), "a manager sets targets only for their own team's users")

    period = Period(required=True)
    user_id = Id(allow_none=True)
    team_id = Id(allow_none=True)
    territory_id = Id(allow_none=True)
    amount = Money(required=True, minimum=0)
    currency = Currency(required=True)

    @validates_schema
    def one_holder(self, data, **kwargs):
        if sum(1 for k in ("user_id", "team_id", "territory_id") if data.get(k)) != 1:
            raise ValidationError("a target is for exactly one of user_id, team_id, territory_id", "user_id")


class TargetUpdate(Patch):
    amount = Money(minimum=0)


class Target(Record):
    period = fields.String()
    user_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    amount = Money()
    currency = fields.String()


class TargetFilters(Schema):
    SORTABLE = ("created_at", "period")
    period = fields.String(validate=validate.Regexp(PERIOD_RE))
    user_id = Id()
    team_id = Id()
    territory_id = Id()


class TargetEventData(ChangedData):
    action = fields.String(required=True, validate=validate.OneOf(("create", "update")))
    period = fields.String(required=True)
    user_id = fields.String(allow_none=True)
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)


TARGET_SET = event("sales", "target_set", 1, TargetEventData, "A target was set (action create) or its amount "
                   "changed (update): the whole target, which analytics' forecast reads; a deleted target is a "
                   "record_changed delete.", entity="target", action=FROM_DATA)

TargetListQuery = list_query("TargetListQuery", TargetFilters)
TargetPage = page(Target, "TargetPage")


class ForecastQuery(Strict):
    period = Period(required=True)
    group_by = fields.String(load_default="owner", validate=validate.OneOf(("owner", "team", "territory")))
    currency = Currency(load_default="EUR", metadata={"description": "deals and targets in this currency"})


class ForecastFigures(Schema):
    key = fields.String(allow_none=True)
    pipeline = fields.String()
    weighted = fields.String()
    commit = fields.String()
    closed_won = fields.String()
    target = fields.String(allow_none=True)
    attainment = fields.String(allow_none=True, metadata={"description": "closed_won / target in percent"})


class Forecast(Schema):
    period = fields.String()
    group_by = fields.String()
    currency = fields.String()
    groups = fields.List(fields.Nested(ForecastFigures))
    totals = fields.Nested(ForecastFigures)


class CommissionQuery(Strict):
    period = Period(required=True)
    owner_id = Id()
    currency = Currency(load_default="EUR")


class CommissionLine(Schema):
    owner_id = fields.String()
    closed_won = fields.String()
    deals = fields.Integer(strict=True)
    rate_percent = fields.String()
    commission = fields.String()
    currency = fields.String()


class Commissions(Schema):
    period = fields.String()
    items = fields.List(fields.Nested(CommissionLine))


LIST_TARGETS = rpc("sales", "list_targets", TargetListQuery, TargetPage, permission=("target", "read"))
CREATE_TARGET = rpc("sales", "create_target", TargetCreate, Target, permission=("target", "create"))
GET_TARGET = rpc("sales", "get_target", None, Target, permission=("target", "read"), record=True)
UPDATE_TARGET = rpc("sales", "update_target", TargetUpdate, Target, permission=("target", "update"), record=True)
DELETE_TARGET = rpc("sales", "delete_target", None, None, permission=("target", "delete"), record=True)
FORECAST = rpc("sales", "forecast", ForecastQuery, Forecast, permission=("forecast", "read"),
               description="Pipeline, weighted, commit, closed won, target and attainment for a period, by owner, "
                           "team or territory.")
COMMISSIONS = rpc("sales", "commissions", CommissionQuery, Commissions, permission=("commission", "read"),
                  description="Commissions on closed-won amounts in a period at the configured rates.")
