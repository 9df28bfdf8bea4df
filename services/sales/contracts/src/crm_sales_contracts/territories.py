"""Territories (countries, industries, members) and the rules that assign new leads."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from crm_common.contracts.fields import Boolean, at_least_one_of, existing
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, list_query, page
from crm_sales_contracts.field_types import Country, Id, Name, TextUpTo
from crm_sales_contracts.leads import LEAD_SOURCES


class TerritoryCreate(Strict):
    name = Name(required=True)
    countries = fields.List(Country(), load_default=list)
    industries = fields.List(TextUpTo(100), load_default=list)
    member_ids = fields.List(Id(), load_default=list)


class TerritoryUpdate(Patch):
    name = Name()
    countries = fields.List(Country())
    industries = fields.List(TextUpTo(100))
    member_ids = fields.List(Id())


class Territory(Record):
    name = fields.String()
    countries = fields.List(fields.String())
    industries = fields.List(fields.String())
    member_ids = fields.List(fields.String())


class TerritoryFilters(Schema):
    SORTABLE = ("created_at", "name")
    country = Country()


TerritoryListQuery = list_query("TerritoryListQuery", TerritoryFilters)
TerritoryPage = page(Territory, "TerritoryPage")


class TerritoryMembersData(Schema):
    """A territory's members now: identity counts them in each member's territory scope."""
    id = fields.String(required=True)
    member_ids = fields.List(fields.String(), required=True)
    version = fields.Integer(required=True, metadata={"description": "the territory's version; older news loses"})


# -- lead assignment rules -----------------------------------------------------------------------------

class AssignmentRuleCreate(Strict):
    OPENAPI = at_least_one_of(team_id="string", territory_id="string")
    RULES = (existing("territory_id"),)

    name = Name(required=True)
    priority = fields.Integer(strict=True, load_default=100, validate=validate.Range(min=0, max=100_000))
    strategy = fields.String(required=True, validate=validate.OneOf(("round_robin", "least_loaded")))
    team_id = Id(allow_none=True)
    territory_id = Id(allow_none=True)
    countries = fields.List(Country(), load_default=list)
    industries = fields.List(TextUpTo(100), load_default=list)
    source = fields.String(allow_none=True, validate=validate.OneOf(LEAD_SOURCES))
    active = Boolean(load_default=True)

    @validates_schema
    def needs_pool(self, data, **kwargs):
        if not data.get("team_id") and not data.get("territory_id"):
            raise ValidationError("a rule assigns within a team_id or a territory_id", "team_id")


class AssignmentRule(Record):
    name = fields.String()
    priority = fields.Integer(strict=True)
    strategy = fields.String()
    team_id = fields.String(allow_none=True)
    territory_id = fields.String(allow_none=True)
    countries = fields.List(fields.String())
    industries = fields.List(fields.String())
    source = fields.String(allow_none=True)
    active = Boolean()


TERRITORY_MEMBERS_CHANGED = event("sales", "territory_members_changed", 1, TerritoryMembersData,
                                  "A territory was created or its member_ids changed (its audit entry is the "
                                  "record_changed event beside it).")

LIST_TERRITORIES = rpc("sales", "list_territories", TerritoryListQuery, TerritoryPage,
                       permission=("territory", "read"))
CREATE_TERRITORY = rpc("sales", "create_territory", TerritoryCreate, Territory, permission=("territory", "create"))
GET_TERRITORY = rpc("sales", "get_territory", None, Territory, permission=("territory", "read"), record=True)
UPDATE_TERRITORY = rpc("sales", "update_territory", TerritoryUpdate, Territory, permission=("territory", "update"),
                       record=True)

LIST_ASSIGNMENT_RULES = rpc("sales", "list_assignment_rules", None, AssignmentRule, many=True,
                            permission=("lead", "assign"),
                            description="Lead assignment rules (round-robin or least-loaded, in a team or territory).")
CREATE_ASSIGNMENT_RULE = rpc("sales", "create_assignment_rule", AssignmentRuleCreate, AssignmentRule,
                             permission=("lead", "assign"))
